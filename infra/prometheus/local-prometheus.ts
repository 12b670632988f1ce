/**
 * A real Prometheus (Debian's /usr/bin/prometheus) on a free loopback port, scraping the
 * cluster's scrape targets: the local stand-in for the cluster's Prometheus behind the same
 * metrics port (http-source.ts).
 *
 * Every start gets a fresh run folder (configuration, file_sd targets, TSDB, log, pid files).
 * Targets reach Prometheus through a file_sd JSON file that is rewritten (atomically, by rename)
 * whenever the cluster's list changes, so replicas come and go without a restart. Prometheus is
 * stopped by stop() and killed on process exit; one left behind by a run that was killed outright
 * is reaped on the next start (its owner process is gone).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Logger } from '../../core/common/ports';
import { silentLogger } from '../../core/common/ports';
import { SsisError } from '../../core/errors';
import type { ScrapeTarget } from '../../core/ports/cluster';
import type { MetricsSource } from '../../core/ports/metrics-source';
import { killPidFileProcess, reapOrphanedRunFolders } from '../local-process/run-folders';
import { createPrometheusSource } from './http-source';
import { fileSdGroups, INFERENCE_JOB, prometheusConfig } from './scrape-config';

export const DEBIAN_PROMETHEUS = '/usr/bin/prometheus';
const RUN_DIR_PREFIX = 'ssis-prometheus-';

export interface LocalPrometheusOptions {
  /** The targets to scrape, read again every `targetsPollMs` (ClusterPort.scrapeTargets). */
  readonly targets: () => readonly ScrapeTarget[];
  /** Default 1 s: short, so that tests and a local stack see new data quickly. */
  readonly scrapeIntervalMs?: number;
  /** How often targets() is compared with the file (default: the scrape interval). */
  readonly targetsPollMs?: number;
  /** Default: /usr/bin/prometheus, else `prometheus` on PATH. */
  readonly binary?: string;
  /** Samples older than this are dropped (Prometheus' --storage.tsdb.retention.time; default 2h). */
  readonly retention?: string;
  readonly readyTimeoutMs?: number;
  readonly logger?: Logger;
}

export interface LocalPrometheus {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly runDir: string;
  /** The metrics port over this Prometheus. */
  readonly source: MetricsSource;
  /** Rewrites the targets file now if targets() changed; true when it did. */
  syncTargets(): boolean;
  /** Resolves once every current target has been scraped successfully (up == 1) at a time after `afterMs` (ms since the epoch). */
  waitForScrape(afterMs: number, timeoutMs?: number): Promise<void>;
  /** SIGTERM (SIGKILL after graceMs), then deletes the run folder. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/** The Prometheus binary to run, or undefined when none is installed. */
export function findPrometheus(): string | undefined {
  if (existsSync(DEBIAN_PROMETHEUS)) return DEBIAN_PROMETHEUS;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'prometheus'))) return join(dir, 'prometheus');
  }
  return undefined;
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Kills Prometheus processes whose owner is gone and deletes their run folders; never signals a pid that is not ours. */
export function reapStalePrometheus(base = tmpdir()): number {
  return reapOrphanedRunFolders(base, RUN_DIR_PREFIX, (dir) => killPidFileProcess(join(dir, 'prometheus.pid'), dir));
}

function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Starts Prometheus and resolves once /-/ready answers.
 * @throws {SsisError} SSIS_METRICS_START_FAILED when no binary is installed, Prometheus exits
 * during start-up (e.g. it refuses the configuration) or is not ready within readyTimeoutMs
 */
export async function startLocalPrometheus(opts: LocalPrometheusOptions): Promise<LocalPrometheus> {
  const binary = opts.binary ?? findPrometheus();
  if (binary === undefined || !existsSync(binary)) {
    const where = opts.binary ?? `${DEBIAN_PROMETHEUS} nor on PATH`;
    throw new SsisError('SSIS_METRICS_START_FAILED', `no Prometheus binary at ${where}: install it (apt-get install -y prometheus)`);
  }
  const logger = opts.logger ?? silentLogger;
  const scrapeIntervalMs = opts.scrapeIntervalMs ?? 1000;
  reapStalePrometheus();
  const runDir = mkdtempSync(join(tmpdir(), RUN_DIR_PREFIX));
  writeFileSync(join(runDir, 'owner.pid'), `${process.pid}\n`);
  const targetsFile = join(runDir, 'targets.json');
  const configFile = join(runDir, 'prometheus.yml');
  const logPath = join(runDir, 'prometheus.log');
  writeFileSync(configFile, prometheusConfig({ targetsFile, scrapeIntervalMs }));

  let written = '';
  const syncTargets = (): boolean => {
    const next = `${JSON.stringify(fileSdGroups(opts.targets()), null, 2)}\n`;
    if (next === written) return false;
    // Rename is atomic: Prometheus never reads a half-written file.
    writeFileSync(`${targetsFile}.tmp`, next);
    renameSync(`${targetsFile}.tmp`, targetsFile);
    written = next;
    return true;
  };
  syncTargets();

  let child: ChildProcess | undefined;
  let spawnError: Error | undefined;
  let exited: Promise<void> = Promise.resolve();
  const running = (): boolean => child !== undefined && spawnError === undefined && child.exitCode === null && child.signalCode === null;
  const killNow = (): void => {
    if (running()) child?.kill('SIGKILL');
  };
  const launch = (port: number): void => {
    const out = openSync(logPath, 'a');
    const proc = spawn(binary, [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(runDir, 'data')}`,
      `--storage.tsdb.retention.time=${opts.retention ?? '2h'}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ], { cwd: runDir, stdio: ['ignore', out, out] });
    closeSync(out);
    child = proc;
    exited = new Promise<void>((done) => {
      proc.once('exit', () => done());
      // A binary that cannot be executed emits 'error' and never 'exit'.
      proc.once('error', (err) => {
        spawnError = err;
        done();
      });
    });
    if (proc.pid !== undefined) writeFileSync(join(runDir, 'prometheus.pid'), `${proc.pid}\n`);
  };

  const poller = setInterval(() => {
    try {
      if (syncTargets()) logger.debug({ targets: opts.targets().length }, 'prometheus targets rewritten');
    } catch (err) {
      logger.warn({ error: String(err) }, 'writing prometheus targets failed');
    }
  }, opts.targetsPollMs ?? scrapeIntervalMs);
  // The poller alone must not keep the process alive.
  poller.unref();

  let stopped = false;
  const stop = async (graceMs = 5_000): Promise<void> => {
    if (stopped) return;
    stopped = true;
    clearInterval(poller);
    process.removeListener('exit', killNow);
    if (running()) {
      child?.kill('SIGTERM');
      const timer = setTimeout(killNow, graceMs);
      await exited;
      clearTimeout(timer);
    }
    rmSync(runDir, { recursive: true, force: true });
  };

  process.once('exit', killNow);
  let url = '';
  try {
    // The free port can be taken between our probe and Prometheus' bind: try another one.
    for (let attempt = 1; ; attempt++) {
      const port = await freeLoopbackPort();
      url = `http://127.0.0.1:${port}`;
      mkdirSync(join(runDir, 'data'), { recursive: true });
      launch(port);
      const outcome = await waitReady(url, running, opts.readyTimeoutMs ?? 30_000);
      if (outcome === 'ready') break;
      const log = tail(logPath);
      if (outcome === 'exited' && log.includes('address already in use') && attempt < 3) continue;
      killNow();
      const what = spawnError ? `could not be run: ${spawnError.message}` : outcome === 'exited' ? 'exited during start-up' : `was not ready within ${opts.readyTimeoutMs ?? 30_000} ms`;
      throw new SsisError('SSIS_METRICS_START_FAILED', `Prometheus ${what}${log === '' ? '' : `:\n${log}`}`);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const source = createPrometheusSource({ url });
  logger.info({ url, runDir }, 'prometheus ready');

  return {
    url,
    runDir,
    source,
    syncTargets,
    stop,
    async waitForScrape(afterMs, timeoutMs = 10 * scrapeIntervalMs + 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hosts = new Set(opts.targets().map((t) => new URL(t.url).host));
        const result = await source.query(`timestamp(up{job="${INFERENCE_JOB}"} == 1)`, Date.now());
        const fresh = new Set(result.resultType === 'vector' ? result.result.filter((e) => e.value * 1000 > afterMs).map((e) => e.metric['instance']) : []);
        if ([...hosts].every((h) => fresh.has(h))) return;
        if (Date.now() > deadline) {
          throw new SsisError('SSIS_METRICS_UNAVAILABLE', `Prometheus at ${url} did not scrape ${[...hosts].filter((h) => !fresh.has(h)).join(', ')} after ${new Date(afterMs).toISOString()} within ${timeoutMs} ms`);
        }
        await new Promise((r) => setTimeout(r, Math.min(200, scrapeIntervalMs / 4)));
      }
    },
  };
}

async function waitReady(url: string, running: () => boolean, timeoutMs: number): Promise<'ready' | 'exited' | 'timeout'> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!running()) return 'exited';
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.status === 200) return 'ready';
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) return 'timeout';
    await new Promise((r) => setTimeout(r, 100));
  }
}
