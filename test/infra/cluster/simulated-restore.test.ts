/**
 * The simulated cluster across a restart on the same state file: services, generations,
 * revisions, traffic and MIG layouts as they were, replicas started again (starting, then ready
 * and answering); a rollout under way is ended; an unusable state file is moved aside and the
 * cluster starts empty.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GpuState } from '../../../core/mig/layout';
import { SimulatedCluster, type SimulatedNode } from '../../../infra/cluster/simulated';
import { CLUSTER_STATE_FORMAT, CLUSTER_STATE_VERSION, type ClusterState } from '../../../infra/cluster/state-file';
import { A100, CONFIG, MODELS, RecordingLogger, type LogLine } from '../../functions/helpers';

const SLICE_1G = 'node-a/gpu0/1g.5gb@6';
const SLICE_2G = 'node-a/gpu0/2g.10gb@4';
const ONE_GPU: SimulatedNode[] = [{ name: 'node-a', gpus: [{ model: A100, count: 1 }] }];


function layout(instances: GpuState['instances']): GpuState {
  return { node: 'node-a', index: 0, model: A100, migEnabled: true, instances };
}

describe('infra/cluster simulated cluster: state across restarts', function () {
  this.timeout(20_000);
  const running: SimulatedCluster[] = [];
  let dir: string;
  let stateFile: string;
  let lines: LogLine[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ssis-cluster-state-'));
    stateFile = join(dir, 'cluster-state.json');
    lines = [];
  });
  afterEach(async () => {
    for (const c of running.splice(0)) await c.shutdown();
  });

  const open = (nodes: SimulatedNode[] = ONE_GPU): SimulatedCluster => {
    const c = new SimulatedCluster({ namespace: CONFIG.ssis.namespace, nodes, catalog: CONFIG.catalog, loadTimeScale: 0.01, random: () => 0, logger: new RecordingLogger(lines), stateFile, saveDelayMs: 10 });
    running.push(c);
    return c;
  };
  const stop = async (c: SimulatedCluster): Promise<void> => {
    running.splice(running.indexOf(c), 1);
    await c.shutdown();
  };

  /** gpt2 served by one ready 1g.5gb replica, as a cold start leaves it (generation 1). */
  async function deployGpt2(c: SimulatedCluster): Promise<void> {
    await c.ensureService('gpt2', MODELS.gpt2);
    expect(await c.beginDecision('gpt2', 'gpt2-g0-cold-start', 0)).to.equal(true);
    await c.applyGpuLayouts([layout([{ id: SLICE_1G, profile: '1g.5gb', start: 6, owner: 'gpt2-00001-1' }])]);
    await c.createRevision('gpt2', { name: 'gpt2-00001', profile: '1g.5gb', gpuModel: A100, decisionId: 'gpt2-g0-cold-start', maxBatchSize: 8 });
    await c.startReplica('gpt2', 'gpt2-00001', { id: 'gpt2-00001-1', sliceId: SLICE_1G, node: 'node-a', gpu: 0 });
    await c.setTraffic('gpt2', [{ revision: 'gpt2-00001', percent: 100 }]);
    await c.endRollout('gpt2', 'gpt2-g0-cold-start');
  }

  it('restores services, revisions, traffic and layouts, and starts the replicas again', async () => {
    const first = open();
    await deployGpt2(first);
    await stop(first);

    const second = open();
    const s = second.getService('gpt2')!;
    expect(s).to.deep.include({ name: 'gpt2', modelId: MODELS.gpt2, generation: 1, rollout: null, traffic: [{ revision: 'gpt2-00001', percent: 100 }] });
    expect(s.condition).to.include({ ready: true, reason: 'Ready' });
    expect(s.revisions.map((r) => ({ name: r.name, profile: r.profile, gpuModel: r.gpuModel, decisionId: r.decisionId, maxBatchSize: r.maxBatchSize }))).to.deep.equal([
      { name: 'gpt2-00001', profile: '1g.5gb', gpuModel: A100, decisionId: 'gpt2-g0-cold-start', maxBatchSize: 8 },
    ]);
    expect(s.revisions[0]!.replicas).to.deep.equal([{ id: 'gpt2-00001-1', revision: 'gpt2-00001', sliceId: SLICE_1G, node: 'node-a', gpu: 0, phase: 'starting', url: null }]);
    expect(second.gpus()).to.deep.equal([layout([{ id: SLICE_1G, profile: '1g.5gb', start: 6, owner: 'gpt2-00001-1' }])]);

    expect(await second.waitForReady('gpt2', 10_000)).to.equal('ready');
    const lease = second.acquireRoute('gpt2')!;
    const res = await fetch(lease.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: 'hello', parameters: { max_new_tokens: 3 } }) });
    lease.release();
    expect(res.status).to.equal(200);
    expect(second.getService('gpt2')!.revisions[0]!.replicas[0]!.phase).to.equal('ready');
    // The next decision for the service is computed from the restored generation: its id is new.
    expect(await second.beginDecision('gpt2', 'gpt2-g0-cold-start', 0), 'a decision of the last run is stale').to.equal(false);
  });

  it('ends a rollout that was under way: the revision with traffic stays, the unswitched one is discarded and its slice freed', async () => {
    const first = open();
    await deployGpt2(first);
    expect(await first.beginDecision('gpt2', 'gpt2-g1-up-2g.10gbx1', 1)).to.equal(true);
    await first.applyGpuLayouts([layout([
      { id: SLICE_1G, profile: '1g.5gb', start: 6, owner: 'gpt2-00001-1' },
      { id: SLICE_2G, profile: '2g.10gb', start: 4, owner: 'gpt2-00002-1' },
    ])]);
    await first.createRevision('gpt2', { name: 'gpt2-00002', profile: '2g.10gb', gpuModel: A100, decisionId: 'gpt2-g1-up-2g.10gbx1' });
    void first.startReplica('gpt2', 'gpt2-00002', { id: 'gpt2-00002-1', sliceId: SLICE_2G, node: 'node-a', gpu: 0 });
    await stop(first);

    const second = open();
    const s = second.getService('gpt2')!;
    expect(s).to.deep.include({ generation: 2, rollout: null, traffic: [{ revision: 'gpt2-00001', percent: 100 }] });
    expect(s.revisions.map((r) => r.name)).to.deep.equal(['gpt2-00001']);
    expect(second.gpus()[0]!.instances).to.deep.equal([
      { id: SLICE_1G, profile: '1g.5gb', start: 6, owner: 'gpt2-00001-1' },
      { id: SLICE_2G, profile: '2g.10gb', start: 4, owner: null },
    ]);
    expect(lines.some((l) => l.level === 'warn' && l.msg.includes('rollout gpt2-g1-up-2g.10gbx1 was interrupted'))).to.equal(true);
    expect(await second.waitForReady('gpt2', 10_000)).to.equal('ready');
  });

  it('ends an interrupted cold start with the service scaled to zero and its generation kept', async () => {
    const first = open();
    await first.ensureService('gpt2', MODELS.gpt2);
    await first.beginDecision('gpt2', 'gpt2-g0-cold-start', 0);
    await first.applyGpuLayouts([layout([{ id: SLICE_1G, profile: '1g.5gb', start: 6, owner: 'gpt2-00001-1' }])]);
    await first.createRevision('gpt2', { name: 'gpt2-00001', profile: '1g.5gb', gpuModel: A100, decisionId: 'gpt2-g0-cold-start' });
    await stop(first);

    const second = open();
    const s = second.getService('gpt2')!;
    expect(s).to.deep.include({ generation: 1, rollout: null, traffic: [], revisions: [] });
    expect(s.condition).to.include({ ready: false, reason: 'NoCapacity' });
    expect(second.gpus()[0]!.instances).to.deep.equal([{ id: SLICE_1G, profile: '1g.5gb', start: 6, owner: null }]);
  });

  it('saves on change, coalesced and atomically: a burst of changes leaves the last state and no temporary file', async () => {
    const c = open();
    await c.ensureService('gpt2', MODELS.gpt2);
    for (let i = 0; i < 2000; i++) await c.setCondition('gpt2', { ready: false, reason: 'NoCapacity', message: `change ${i}` });
    await new Promise((r) => setTimeout(r, 60));
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as ClusterState;
    expect(saved).to.include({ format: CLUSTER_STATE_FORMAT, version: CLUSTER_STATE_VERSION, namespace: CONFIG.ssis.namespace });
    expect(saved.services[0]!.condition.message).to.equal('change 1999');
    expect(readdirSync(dir)).to.deep.equal(['cluster-state.json']);
  });

  it('flushes what is pending when it shuts down', async () => {
    const c = new SimulatedCluster({ namespace: CONFIG.ssis.namespace, nodes: ONE_GPU, catalog: CONFIG.catalog, stateFile, saveDelayMs: 60_000 });
    await c.ensureService('gpt2', MODELS.gpt2);
    expect(existsSync(stateFile)).to.equal(false);
    await c.shutdown();
    expect((JSON.parse(readFileSync(stateFile, 'utf8')) as ClusterState).services.map((s) => s.name)).to.deep.equal(['gpt2']);
  });

  const unusable: readonly { what: string; write: () => void; nodes?: SimulatedNode[]; says: string }[] = [
    { what: 'not JSON (a torn or foreign file)', write: () => writeFileSync(stateFile, '{"format":"ssis.simulated-cluster","vers'), says: 'state' },
    { what: 'of another version', write: () => writeFileSync(stateFile, JSON.stringify({ format: CLUSTER_STATE_FORMAT, version: 99 })), says: 'state.format' },
    {
      what: 'invalid (a replica phase that does not exist)',
      write: () => writeFileSync(stateFile, JSON.stringify({
        format: CLUSTER_STATE_FORMAT, version: CLUSTER_STATE_VERSION, savedAt: 'x', namespace: CONFIG.ssis.namespace, gpus: [layout([])],
        services: [{ name: 'gpt2', modelId: MODELS.gpt2, generation: 1, condition: { ready: true, reason: 'Ready', message: '' }, rollout: null, traffic: [], revisions: [{ name: 'r', profile: '1g.5gb', gpuModel: A100, decisionId: 'd', replicas: [{ id: 'x', sliceId: 's', node: 'node-a', gpu: 0, phase: 'flying' }] }] }],
      })),
      says: 'state.services[0].revisions[0].replicas[0].phase',
    },
    { what: 'made for other GPUs', write: () => writeFileSync(stateFile, JSON.stringify({ format: CLUSTER_STATE_FORMAT, version: CLUSTER_STATE_VERSION, savedAt: 'x', namespace: CONFIG.ssis.namespace, gpus: [layout([])], services: [] })), nodes: [{ name: 'node-a', gpus: [{ model: A100, count: 2 }] }], says: 'state.gpus' },
  ];
  for (const u of unusable) {
    it(`moves a state file ${u.what} aside with a warning and starts empty`, async () => {
      u.write();
      const c = open(u.nodes);
      expect(c.listServices()).to.deep.equal([]);
      const warning = lines.find((l) => l.level === 'warn' && l.msg.startsWith('cluster state file unusable'));
      expect(warning, JSON.stringify(lines)).to.not.equal(undefined);
      expect((warning!.fields['issues'] as { field: string }[]).map((i) => i.field)).to.include(u.says);
      const aside = readdirSync(dir).filter((f) => f.startsWith('cluster-state.json.unusable-'));
      expect(aside).to.have.length(1);
      expect(existsSync(stateFile)).to.equal(false);
      // The cluster works and saves afresh.
      await c.ensureService('gpt2', MODELS.gpt2);
      await stop(c);
      expect((JSON.parse(readFileSync(stateFile, 'utf8')) as ClusterState).services.map((s) => s.name)).to.deep.equal(['gpt2']);
    });
  }
});
