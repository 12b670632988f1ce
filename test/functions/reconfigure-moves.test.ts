/**
 * The reconfigure function on the MIG planner: when free fragments cannot hold the decision's
 * slice, it repartitions, moving another service's replica make-before-break through the REAL
 * simulated cluster, and reports the move and every changed GPU.
 */
import { expect } from 'chai';
import type { SsisEvent } from '../../events/envelope';
import { PLACEMENT_FAILED } from '../../events/placement-failed';
import { SCALE_DECIDED, type ScaleDecided } from '../../events/scale-decided';
import { parseSliceReconfigured, SLICE_RECONFIGURED } from '../../events/slice-reconfigured';
import { buildReconfigureFunction } from '../../functions/reconfigure/index';
import type { SimulatedCluster } from '../../infra/cluster/simulated';
import { A100, catalogWith, CONFIG, deploy, eventOf, harness, iso, MODELS, newCluster, owners, service, spec, type Harness } from './helpers';

describe('functions/reconfigure with the MIG planner (moves)', () => {
  let h: Harness;
  let cluster: SimulatedCluster;
  beforeEach(() => {
    h = harness('reconfigure');
  });
  afterEach(async () => {
    await cluster?.shutdown();
  });

  function coldStart(svc: string, modelId: string, profile: string): SsisEvent<ScaleDecided> {
    return eventOf(SCALE_DECIDED, {
      decisionId: `${svc}-g0-cold-start`, service: svc, modelId, action: 'cold-start', policy: 'cold-start', fromGeneration: 0,
      current: { profile: null, gpuModel: null, replicas: 0 }, target: { profile, gpuModel: A100, replicas: 1 }, reason: 'test', decidedAt: iso(h.clock.nowMs()),
    }, '/ssis/functions/request', h);
  }

  /** One A100-40GB: gpt2 2g@4, llama1b 2g@0, a free 2g@2: free 2/7 (slots 2–3) + 1/7 (slots 6–7), no 3g position. */
  async function fragmented(): Promise<void> {
    cluster = newCluster(1);
    await deploy(cluster, 'gpt2', MODELS.gpt2, '2g.10gb', 1); // first fit: 2g@4
    await deploy(cluster, 'llama321binstruct', MODELS.llama1b, '2g.10gb', 2); // 2g@2, 2g@0
    await cluster.stopReplica('llama321binstruct', 'llama321binstruct-00001-1'); // its 2g@2 stays, free
    expect(owners(cluster)).to.deep.equal({
      'node-a/gpu0/2g.10gb@0': 'llama321binstruct-00001-2', 'node-a/gpu0/2g.10gb@2': null, 'node-a/gpu0/2g.10gb@4': 'gpt2-00001-1',
    });
  }

  it('places a 3g by moving the 2g at slot 4 to slot 2 make-before-break, and reports the move and the layout', async () => {
    await fragmented();
    const fn = buildReconfigureFunction({ cluster, catalog: CONFIG.catalog, config: CONFIG.ssis, clock: h.clock, ids: h.ids });
    await cluster.ensureService('mistral7bv01', MODELS.mistral);
    const ev = await fn.onEvent(coldStart('mistral7bv01', MODELS.mistral, '3g.20gb'), h.ctx);
    expect(ev?.type).to.equal(SLICE_RECONFIGURED);
    const d = parseSliceReconfigured(ev!.data);
    expect(d.moves).to.deep.equal([{
      service: 'gpt2', revision: 'gpt2-00001', replica: 'gpt2-00001-1', newReplica: 'gpt2-00001-2',
      from: { node: 'node-a', gpu: 0, gpuModel: A100, profile: '2g.10gb', start: 4, sliceId: 'node-a/gpu0/2g.10gb@4' },
      to: { node: 'node-a', gpu: 0, gpuModel: A100, profile: '2g.10gb', start: 2, sliceId: 'node-a/gpu0/2g.10gb@2' },
    }]);
    expect(d.slices).to.deep.equal([{ node: 'node-a', gpu: 0, gpuModel: A100, profile: '3g.20gb', start: 4, sliceId: 'node-a/gpu0/3g.20gb@4', replica: 'mistral7bv01-00001-1', action: 'created' }]);
    expect(d.layouts).to.deep.equal([{ node: 'node-a', gpu: 0, gpuModel: A100, migEnabled: true, instances: [{ profile: '2g.10gb', start: 0 }, { profile: '2g.10gb', start: 2 }, { profile: '3g.20gb', start: 4 }] }]);
    // llama's 2g@0 never moved; gpt2 runs on its new slice; the new slice waits for the rollout.
    expect(owners(cluster)).to.deep.equal({
      'node-a/gpu0/2g.10gb@0': 'llama321binstruct-00001-2', 'node-a/gpu0/2g.10gb@2': 'gpt2-00001-2', 'node-a/gpu0/3g.20gb@4': 'mistral7bv01-00001-1',
    });
    const gpt2 = service(cluster, 'gpt2');
    expect(gpt2.revisions.map((r) => r.replicas.map((x) => [x.id, x.phase]))).to.deep.equal([[['gpt2-00001-2', 'ready']]]);
    expect(gpt2.traffic).to.deep.equal([{ revision: 'gpt2-00001', percent: 100 }]);
    expect(h.logger.lines.map((l) => l.msg)).to.include('replica moved make-before-break');
  });

  it('never moves replicas of the deciding service: a 4g for llama that only a move of its own replica would free fails', async () => {
    await fragmented();
    const fn = buildReconfigureFunction({ cluster, catalog: CONFIG.catalog, config: CONFIG.ssis, clock: h.clock, ids: h.ids });
    const before = owners(cluster);
    const ev = await fn.onEvent(eventOf(SCALE_DECIDED, {
      decisionId: 'llama-g1-up', service: 'llama321binstruct', modelId: MODELS.llama1b, action: 'up', policy: 'ssis-ladder', fromGeneration: 1,
      current: { profile: '2g.10gb', gpuModel: A100, replicas: 1 }, target: { profile: '4g.20gb', gpuModel: A100, replicas: 1 }, reason: 'test', decidedAt: iso(h.clock.nowMs()),
    }, '/ssis/functions/evaluate', h), h.ctx);
    expect(ev?.type).to.equal(PLACEMENT_FAILED);
    expect(owners(cluster)).to.deep.equal(before);
  });

  it('handles decisions one at a time: a cold start arriving during a move keeps its slice', async () => {
    await fragmented();
    // A second small model (gpt2's entry under another id): gpt2 itself holds a replica, so it gets no cold start.
    const gpt2b = 'test-org/gpt2b';
    const fn = buildReconfigureFunction({ cluster, catalog: catalogWith({ ...spec(MODELS.gpt2), modelId: gpt2b }), config: CONFIG.ssis, clock: h.clock, ids: h.ids });
    await cluster.ensureService('mistral7bv01', MODELS.mistral);
    await cluster.ensureService('gpt2b', gpt2b);
    const [mistral, other] = await Promise.all([
      fn.onEvent(coldStart('mistral7bv01', MODELS.mistral, '3g.20gb'), h.ctx),
      fn.onEvent(coldStart('gpt2b', gpt2b, '1g.5gb'), h.ctx),
    ]);
    expect(mistral?.type).to.equal(SLICE_RECONFIGURED);
    // After the move the GPU is full (2g@0, 2g@2, 3g@4): the second decision sees that, instead of a stale snapshot.
    expect(other?.type).to.equal(PLACEMENT_FAILED);
    expect(owners(cluster)).to.deep.equal({
      'node-a/gpu0/2g.10gb@0': 'llama321binstruct-00001-2', 'node-a/gpu0/2g.10gb@2': 'gpt2-00001-2', 'node-a/gpu0/3g.20gb@4': 'mistral7bv01-00001-1',
    });
  });

  it('ends the decision with placement-failed when a moved replica cannot start, leaving the old replica serving', async () => {
    await fragmented();
    const fn = buildReconfigureFunction({ cluster, catalog: CONFIG.catalog, config: CONFIG.ssis, clock: h.clock, ids: h.ids });
    await cluster.ensureService('mistral7bv01', MODELS.mistral);
    // FAKE fault: the replica start fails (image pull, OOM at load).
    const start = cluster.startReplica.bind(cluster);
    cluster.startReplica = () => Promise.reject(new Error('image pull failed'));
    try {
      const ev = await fn.onEvent(coldStart('mistral7bv01', MODELS.mistral, '3g.20gb'), h.ctx);
      expect(ev?.type).to.equal(PLACEMENT_FAILED);
      expect((ev!.data as { reason: string }).reason).to.match(/moving gpt2-00001-1 to node-a\/gpu0\/2g.10gb@2 failed: image pull failed/);
    } finally {
      cluster.startReplica = start;
    }
    expect(service(cluster, 'mistral7bv01').rollout, 'the rollout is closed').to.equal(null);
    expect(owners(cluster)).to.deep.include({ 'node-a/gpu0/2g.10gb@4': 'gpt2-00001-1' });
    expect(Object.values(owners(cluster))).to.not.include('gpt2-00001-2');
  });

  it('places a whole GPU: MIG turned off on the chosen GPU, its one instance owned by the new replica', async () => {
    cluster = newCluster(2);
    const fn = buildReconfigureFunction({ cluster, catalog: CONFIG.catalog, config: CONFIG.ssis, clock: h.clock, ids: h.ids });
    await cluster.ensureService('granite13binstructv2', MODELS.granite);
    const ev = await fn.onEvent(coldStart('granite13binstructv2', MODELS.granite, 'gpu'), h.ctx);
    expect(ev?.type, JSON.stringify(ev?.data)).to.equal(SLICE_RECONFIGURED);
    const whole = cluster.gpus().find((g) => g.instances.some((i) => i.profile === 'gpu'))!;
    expect(whole.migEnabled).to.equal(false);
    expect(whole.instances.map((i) => i.owner)).to.deep.equal(['granite13binstructv2-00001-1']);
  });
});
