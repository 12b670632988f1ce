/**
 * The local Prometheus' life cycle on REAL emulated replicas: targets that come and go reach it
 * through the rewritten file_sd file without a restart, with the direct scrape's labels; stop()
 * leaves nothing behind; a start that cannot succeed says why; leftovers of a killed run are reaped.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SsisError } from '../../../core/errors';
import type { SimulatedCluster } from '../../../infra/cluster/simulated';
import { createDirectScrapeSource } from '../../../infra/metrics/direct-scrape';
import { reapStalePrometheus, startLocalPrometheus } from '../../../infra/prometheus/local-prometheus';
import { deploy, MODELS, newCluster } from '../../functions/helpers';
import { PrometheusPool, requirePrometheus } from './fixture';

function ownerOf(dir: string): number | undefined {
  try {
    return Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
  } catch {
    return undefined;
  }
}

describe('infra/prometheus/local-prometheus', function () {
  this.timeout(60_000);
  const pool = new PrometheusPool();
  let cluster: SimulatedCluster | undefined;

  before(function () {
    requirePrometheus(this);
  });
  afterEach(async () => {
    await pool.stopAll();
    await cluster?.shutdown();
    cluster = undefined;
  });

  it('follows the cluster’s targets as replicas start and stop, with the direct scrape’s labels', async () => {
    cluster = newCluster(1);
    const c = cluster;
    await deploy(c, 'gpt2', MODELS.gpt2, '1g.5gb', 1);
    const prom = await pool.start({ targets: () => c.scrapeTargets(), targetsPollMs: 200 });
    await prom.waitForScrape(Date.now());
    const pods = async (): Promise<string[]> => {
      const r = await prom.source.query('vllm:num_requests_waiting', Date.now());
      return r.resultType === 'vector' ? r.result.map((e) => e.metric['pod']!).sort() : [];
    };
    expect(await pods()).to.deep.equal(['gpt2-00001-1']);

    // A second service's replica: the poller rewrites the file; Prometheus scrapes it without a restart.
    await deploy(c, 'llama321binstruct', MODELS.llama1b, '1g.5gb', 1);
    await prom.waitForScrape(Date.now());
    expect(await pods()).to.deep.equal(['gpt2-00001-1', 'llama321binstruct-00001-1']);

    // The same series, every label included, as the direct scrape stores them.
    const direct = createDirectScrapeSource({ targets: () => c.scrapeTargets() });
    const now = Date.now();
    await direct.refresh(now);
    const labelsOf = async (source: typeof direct, at: number) => {
      const r = await source.query('vllm:num_requests_waiting', at);
      return r.resultType === 'vector' ? r.result.map((e) => e.metric).sort((a, b) => (a['pod']! < b['pod']! ? -1 : 1)) : [];
    };
    expect(await labelsOf(prom.source, Date.now())).to.deep.equal(await labelsOf(direct, now));

    // gpt2's replica stops: its target leaves the file and Prometheus ends its series.
    await c.stopReplica('gpt2', 'gpt2-00001-1');
    const deadline = Date.now() + 20_000;
    while ((await pods()).length !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(await pods()).to.deep.equal(['llama321binstruct-00001-1']);
    expect(JSON.parse(readFileSync(join(prom.runDir, 'targets.json'), 'utf8'))).to.have.length(1);
  });

  it('stop() ends the process, frees the port and deletes the run folder', async () => {
    const prom = await pool.start({ targets: () => [] });
    const pid = Number(readFileSync(join(prom.runDir, 'prometheus.pid'), 'utf8'));
    expect((await fetch(`${prom.url}/-/ready`)).status).to.equal(200);
    await prom.stop();
    expect(existsSync(prom.runDir)).to.equal(false);
    expect(() => process.kill(pid, 0), 'the process is gone').to.throw();
    const refused = await fetch(`${prom.url}/-/ready`).then(() => 'answered', (err: Error) => (err.cause instanceof Error ? err.cause.message : err.message));
    expect(refused).to.contain('ECONNREFUSED');
    await prom.stop(); // idempotent
  });

  it('a start that cannot succeed is SSIS_METRICS_START_FAILED, and leaves no folder behind', async () => {
    // A file without execute permission: spawn fails (EACCES) rather than the process exiting.
    const notExecutable = join(mkdtempSync(join(tmpdir(), 'ssis-not-prometheus-')), 'prometheus');
    writeFileSync(notExecutable, 'not a binary\n', { mode: 0o644 });
    // Run folders of this process (others may run the suite at the same time).
    const runDirs = (): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith('ssis-prometheus-') && ownerOf(join(tmpdir(), n)) === process.pid).sort();
    try {
      const before = runDirs();
      for (const [binary, says] of [['/nonexistent/prometheus', 'no Prometheus binary'], ['/bin/false', 'exited during start-up'], [notExecutable, 'could not be run']] as const) {
        const err = await startLocalPrometheus({ targets: () => [], binary }).then(() => undefined, (e: unknown) => e);
        expect(err, binary).to.be.instanceOf(SsisError);
        expect((err as SsisError).code).to.equal('SSIS_METRICS_START_FAILED');
        expect((err as SsisError).message).to.contain(says);
      }
      expect(runDirs()).to.deep.equal(before);
    } finally {
      rmSync(dirname(notExecutable), { recursive: true, force: true });
    }
  });

  it('reaps the run folder of a run whose owner died, and only that one', () => {
    const base = mkdtempSync(join(tmpdir(), 'ssis-reap-test-'));
    const deadOwner = spawnSync(process.execPath, ['-e', '0']).pid;
    const stale = join(base, 'ssis-prometheus-stale');
    const live = join(base, 'ssis-prometheus-live');
    for (const [dir, owner] of [[stale, deadOwner], [live, process.pid]] as const) {
      mkdirSync(dir);
      writeFileSync(join(dir, 'owner.pid'), `${owner}\n`);
    }
    try {
      expect(reapStalePrometheus(base)).to.equal(1);
      expect([existsSync(stale), existsSync(live)]).to.deep.equal([false, true]);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
