/**
 * The reconfigure function, called directly: scale-decided → MIG slices placed by the planner on the REAL
 * simulated cluster → slice-reconfigured (or placement-failed). Idempotent through the service
 * generation: duplicates and stale decisions change nothing.
 */
import { expect } from 'chai';
import { SsisError } from '../../core/errors';
import type { SsisEvent } from '../../events/envelope';
import { PLACEMENT_FAILED, type PlacementFailed } from '../../events/placement-failed';
import { SCALE_DECIDED, type ScaleAction, type ScaleDecided } from '../../events/scale-decided';
import { SLICE_RECONFIGURED, type SliceReconfigured } from '../../events/slice-reconfigured';
import type { SimulatedCluster } from '../../infra/cluster/simulated';
import { buildReconfigureFunction } from '../../functions/reconfigure/index';
import type { SsisFunction } from '../../functions/runtime/function';
import { A100, CONFIG, deploy, eventOf, gpuSnapshot, harness, iso, MODELS, newCluster, owners, service, T0, type Harness } from './helpers';

const SOURCE = '/ssis/functions/reconfigure';

describe('functions/reconfigure', () => {
  let h: Harness;
  let cluster: SimulatedCluster;
  let fn: SsisFunction;

  function setup(gpus: number, config = CONFIG.ssis): void {
    cluster = newCluster(gpus);
    fn = buildReconfigureFunction({ cluster, catalog: CONFIG.catalog, config, clock: h.clock, ids: h.ids });
  }
  beforeEach(() => {
    h = harness('reconfigure');
  });
  afterEach(async () => {
    await cluster?.shutdown();
  });

  function decided(o: {
    svc?: string; modelId?: string; action: ScaleAction; from: number; profile: string; replicas: number;
    current?: { profile: string | null; replicas: number }; decisionId?: string;
  }): SsisEvent<ScaleDecided> {
    const svc = o.svc ?? 'gpt2';
    const current = o.current ?? { profile: null, replicas: 0 };
    return eventOf(SCALE_DECIDED, {
      decisionId: o.decisionId ?? `${svc}-g${o.from}-${o.action}-${o.profile}x${o.replicas}`,
      service: svc,
      modelId: o.modelId ?? MODELS.gpt2,
      action: o.action,
      policy: o.action === 'cold-start' ? 'cold-start' : 'ssis-ladder',
      fromGeneration: o.from,
      current: { profile: current.profile, gpuModel: current.profile === null ? null : A100, replicas: current.replicas },
      target: { profile: o.profile, gpuModel: A100, replicas: o.replicas },
      reason: 'test',
      decidedAt: iso(h.clock.nowMs()),
    }, o.action === 'cold-start' ? '/ssis/functions/request' : '/ssis/functions/evaluate', h);
  }

  const sliceData = (ev: SsisEvent | undefined): SliceReconfigured => {
    expect(ev?.type).to.equal(SLICE_RECONFIGURED);
    return ev!.data as SliceReconfigured;
  };

  describe('cold start', () => {
    it('creates revision <svc>-00001 with slices from the MIG planner and emits slice-reconfigured with slices and layouts', async () => {
      setup(2);
      await cluster.ensureService('gpt2', MODELS.gpt2);
      h.clock.advance(250);
      const ev = await fn.onEvent(decided({ action: 'cold-start', from: 0, profile: '1g.5gb', replicas: 1 }), h.ctx);

      expect(ev).to.include({ id: 'reconfigure-1', type: SLICE_RECONFIGURED, source: SOURCE, partitionkey: 'gpt2', time: iso(T0 + 250) });
      expect(sliceData(ev)).to.deep.equal({
        decisionId: 'gpt2-g0-cold-start-1g.5gbx1',
        service: 'gpt2',
        modelId: MODELS.gpt2,
        fromGeneration: 0,
        revision: 'gpt2-00001',
        previousRevision: null,
        profile: '1g.5gb',
        gpuModel: A100,
        replicas: 1,
        // The planner: the first GPU, a one-slot profile at the highest start (slots 0–3 stay free for 3g/4g).
        slices: [{ node: 'node-a', gpu: 0, gpuModel: A100, profile: '1g.5gb', start: 6, sliceId: 'node-a/gpu0/1g.5gb@6', replica: 'gpt2-00001-1', action: 'created' }],
        layouts: [{ node: 'node-a', gpu: 0, gpuModel: A100, migEnabled: true, instances: [{ profile: '1g.5gb', start: 6 }] }],
        reconfiguredAt: iso(T0 + 250),
      });
      // The cluster: slice owned by the replica-to-be, revision created (no replica yet), rollout marked.
      expect(owners(cluster)).to.deep.equal({ 'node-a/gpu0/1g.5gb@6': 'gpt2-00001-1' });
      const s = service(cluster, 'gpt2');
      expect(s).to.deep.include({ generation: 1, rollout: 'gpt2-g0-cold-start-1g.5gbx1', traffic: [] });
      expect(s.revisions).to.deep.equal([{ name: 'gpt2-00001', profile: '1g.5gb', gpuModel: A100, decisionId: 'gpt2-g0-cold-start-1g.5gbx1', replicas: [] }]);
      expect(h.publisher.events, 'the event is the reply, not published').to.deep.equal([]);
    });

    it('gives the new revision the decided batch size, and its replicas run with it', async () => {
      setup(1);
      await cluster.ensureService('gpt2', MODELS.gpt2);
      const ev = decided({ action: 'cold-start', from: 0, profile: '1g.5gb', replicas: 1 });
      const withBatch = { ...ev, data: { ...ev.data, target: { ...ev.data.target, maxBatchSize: 6 } } };
      const d = sliceData(await fn.onEvent(withBatch, h.ctx));
      expect(service(cluster, 'gpt2').revisions[0]).to.include({ name: d.revision, maxBatchSize: 6 });
      const slice = d.slices[0]!;
      const replica = await cluster.startReplica('gpt2', d.revision, { id: slice.replica, sliceId: slice.sliceId, node: slice.node, gpu: slice.gpu });
      const info = (await (await fetch(`${replica.url!}/info`)).json()) as { max_batch_size: number };
      expect(info.max_batch_size).to.equal(6);
    });

    it('places a 7g.40gb cold start on the first GPU with no owned slice', async () => {
      setup(2);
      await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 1);
      await cluster.ensureService('granite13binstructv2', MODELS.granite);
      const d = sliceData(await fn.onEvent(decided({ svc: 'granite13binstructv2', modelId: MODELS.granite, action: 'cold-start', from: 0, profile: '7g.40gb', replicas: 1 }), h.ctx));
      expect(d.revision).to.equal('granite13binstructv2-00001');
      expect(d.slices).to.deep.equal([{ node: 'node-a', gpu: 1, gpuModel: A100, profile: '7g.40gb', start: 0, sliceId: 'node-a/gpu1/7g.40gb@0', replica: 'granite13binstructv2-00001-1', action: 'created' }]);
      expect(d.layouts.map((l) => l.gpu)).to.deep.equal([1]);
    });
  });

  describe('idempotency', () => {
    it('ignores a duplicate of an applied decision (same fromGeneration): undefined, no layout change', async () => {
      setup(1);
      await cluster.ensureService('gpt2', MODELS.gpt2);
      const decision = decided({ action: 'cold-start', from: 0, profile: '1g.5gb', replicas: 1 });
      await fn.onEvent(decision, h.ctx);
      const gpus = gpuSnapshot(cluster);
      const before = service(cluster, 'gpt2');

      expect(await fn.onEvent(decision, h.ctx)).to.equal(undefined);
      expect(gpuSnapshot(cluster)).to.deep.equal(gpus);
      expect(service(cluster, 'gpt2')).to.deep.equal(before);
      expect(h.logger.lines.map((l) => l.msg)).to.include('stale or duplicate decision ignored');
    });

    it('ignores a stale decision computed from an older generation; refuses one from a generation not reached yet', async () => {
      setup(1);
      const rev = await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 1); // generation 1
      const gpus = gpuSnapshot(cluster);
      const before = service(cluster, 'gpt2');
      const stale = decided({ action: 'up', from: 0, profile: '2g.10gb', replicas: 1, current: { profile: '1g.5gb', replicas: 1 } });
      const future = decided({ action: 'out', from: 5, profile: '1g.5gb', replicas: 2, current: { profile: '1g.5gb', replicas: 1 } });
      expect(await fn.onEvent(stale, h.ctx)).to.equal(undefined);
      // Only this function moves a generation on, so nobody can have computed a decision from generation 5.
      const err = await fn.onEvent(future, h.ctx).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(SsisError).and.include({ code: 'SSIS_DECISION_REFUSED', retriable: false });
      expect((err as SsisError).issues.map((i) => i.field)).to.deep.equal(['data.fromGeneration']);
      expect(gpuSnapshot(cluster)).to.deep.equal(gpus);
      expect(service(cluster, 'gpt2')).to.deep.equal(before);
      expect(service(cluster, 'gpt2').revisions.map((r) => r.name)).to.deep.equal([rev]);
    });
  });

  describe('scale out and in (same revision)', () => {
    it('scale out adds a replica to the same revision with the next replica index', async () => {
      setup(1);
      await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 1);
      const d = sliceData(await fn.onEvent(decided({ action: 'out', from: 1, profile: '1g.5gb', replicas: 2, current: { profile: '1g.5gb', replicas: 1 } }), h.ctx));
      expect(d).to.deep.include({ revision: 'gpt2-00001', previousRevision: null, replicas: 2, fromGeneration: 1 });
      expect(d.slices).to.deep.equal([{ node: 'node-a', gpu: 0, gpuModel: A100, profile: '1g.5gb', start: 5, sliceId: 'node-a/gpu0/1g.5gb@5', replica: 'gpt2-00001-2', action: 'created' }]);
      expect(d.layouts).to.deep.equal([{ node: 'node-a', gpu: 0, gpuModel: A100, migEnabled: true, instances: [{ profile: '1g.5gb', start: 5 }, { profile: '1g.5gb', start: 6 }] }]);
      expect(service(cluster, 'gpt2').revisions.map((r) => r.name), 'no new revision').to.deep.equal(['gpt2-00001']);
      expect(owners(cluster)).to.deep.equal({ 'node-a/gpu0/1g.5gb@5': 'gpt2-00001-2', 'node-a/gpu0/1g.5gb@6': 'gpt2-00001-1' });
    });

    it('scale in releases the newest replica and leaves the slices to the rollout', async () => {
      setup(2);
      await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 3);
      const gpus = gpuSnapshot(cluster);
      const d = sliceData(await fn.onEvent(decided({ action: 'in', from: 1, profile: '1g.5gb', replicas: 2, current: { profile: '1g.5gb', replicas: 3 } }), h.ctx));
      expect(d).to.deep.include({ revision: 'gpt2-00001', previousRevision: null, replicas: 2 });
      expect(d.slices).to.deep.equal([{ node: 'node-a', gpu: 0, gpuModel: A100, profile: '1g.5gb', start: 4, sliceId: 'node-a/gpu0/1g.5gb@4', replica: 'gpt2-00001-3', action: 'release' }]);
      expect(d.layouts.map((l) => `${l.node}/gpu${l.gpu}`)).to.deep.equal(['node-a/gpu0']);
      // The replica drains first (rollout); until then its slice stays owned.
      expect(gpuSnapshot(cluster)).to.deep.equal(gpus);
      expect(service(cluster, 'gpt2').rollout).to.equal(d.decisionId);
    });

    it('the newest replica is chosen by index, not by name order (-10 after -9)', async () => {
      setup(2);
      await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 10);
      const d = sliceData(await fn.onEvent(decided({ action: 'in', from: 1, profile: '1g.5gb', replicas: 9, current: { profile: '1g.5gb', replicas: 10 } }), h.ctx));
      expect(d.slices.map((s) => s.replica)).to.deep.equal(['gpt2-00001-10']);
    });

    it('scale in to zero releases every replica (where scale-to-zero is on)', async () => {
      setup(1, { ...CONFIG.ssis, scaler: { ...CONFIG.ssis.scaler, scaleToZeroAfterSec: 60 } });
      await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 2);
      const d = sliceData(await fn.onEvent(decided({ action: 'in', from: 1, profile: '1g.5gb', replicas: 0, current: { profile: '1g.5gb', replicas: 2 } }), h.ctx));
      expect(d.replicas).to.equal(0);
      expect(d.slices.map((s) => [s.replica, s.action])).to.deep.equal([['gpt2-00001-2', 'release'], ['gpt2-00001-1', 'release']]);
    });

    it('a scale out after a scale in reuses the freed slice under the next free index', async () => {
      setup(1);
      await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 2);
      await cluster.stopReplica('gpt2', 'gpt2-00001-2'); // what the rollout of a scale in does
      await cluster.beginDecision('gpt2', 'gpt2-g1-in-1g.5gbx1', 1);
      await cluster.endRollout('gpt2', 'gpt2-g1-in-1g.5gbx1');
      expect(owners(cluster)).to.deep.equal({ 'node-a/gpu0/1g.5gb@5': null, 'node-a/gpu0/1g.5gb@6': 'gpt2-00001-1' });

      const d = sliceData(await fn.onEvent(decided({ action: 'out', from: 2, profile: '1g.5gb', replicas: 2, current: { profile: '1g.5gb', replicas: 1 } }), h.ctx));
      expect(d.slices).to.deep.equal([{ node: 'node-a', gpu: 0, gpuModel: A100, profile: '1g.5gb', start: 5, sliceId: 'node-a/gpu0/1g.5gb@5', replica: 'gpt2-00001-2', action: 'reused' }]);
    });
  });

  describe('tier change', () => {
    it('scale up creates the next revision on the new tier while the old slice stays owned (make-before-break)', async () => {
      setup(1);
      await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 1);
      const d = sliceData(await fn.onEvent(decided({ action: 'up', from: 1, profile: '2g.10gb', replicas: 1, current: { profile: '1g.5gb', replicas: 1 } }), h.ctx));
      expect(d).to.deep.include({ revision: 'gpt2-00002', previousRevision: 'gpt2-00001', profile: '2g.10gb', replicas: 1 });
      expect(d.slices).to.deep.equal([{ node: 'node-a', gpu: 0, gpuModel: A100, profile: '2g.10gb', start: 4, sliceId: 'node-a/gpu0/2g.10gb@4', replica: 'gpt2-00002-1', action: 'created' }]);
      expect(owners(cluster)).to.deep.equal({ 'node-a/gpu0/2g.10gb@4': 'gpt2-00002-1', 'node-a/gpu0/1g.5gb@6': 'gpt2-00001-1' });
      expect(service(cluster, 'gpt2').revisions.map((r) => r.name)).to.deep.equal(['gpt2-00001', 'gpt2-00002']);
      expect(service(cluster, 'gpt2').traffic, 'traffic moves in the rollout').to.deep.equal([{ revision: 'gpt2-00001', percent: 100 }]);
    });
  });

  describe('placement failure', () => {
    it('an unplaceable target returns placement-failed with the reason and leaves the GPUs unchanged', async () => {
      setup(1);
      await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 1);
      const gpus = gpuSnapshot(cluster);
      h.clock.advance(1000);
      const ev = await fn.onEvent(decided({ action: 'up', from: 1, profile: '7g.40gb', replicas: 1, current: { profile: '1g.5gb', replicas: 1 } }), h.ctx);

      expect(ev).to.include({ type: PLACEMENT_FAILED, source: SOURCE, partitionkey: 'gpt2' });
      const f = ev!.data as PlacementFailed;
      expect(f).to.deep.include({
        decisionId: 'gpt2-g1-up-7g.40gbx1', service: 'gpt2', modelId: MODELS.gpt2, fromGeneration: 1,
        requested: { profile: '7g.40gb', gpuModel: A100, replicas: 1 }, failedAt: iso(T0 + 1000),
      });
      expect(f.reason).to.match(/^1 of 1 7g\.40gb replica\(s\) unplaced: /).and.include('node-a');
      expect(gpuSnapshot(cluster)).to.deep.equal(gpus);
      const s = service(cluster, 'gpt2');
      expect(s.revisions.map((r) => r.name), 'no revision created').to.deep.equal(['gpt2-00001']);
      // The decision was consumed (generation moves on) and its rollout ended; the service keeps serving.
      expect(s).to.deep.include({ generation: 2, rollout: null });
      expect(s.condition).to.include({ ready: true, reason: 'Ready' });
    });

    it('places all replicas of a decision or none: a partly placeable target changes nothing', async () => {
      setup(1);
      await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 2);
      const gpus = gpuSnapshot(cluster);
      const ev = await fn.onEvent(decided({ action: 'up', from: 1, profile: '4g.20gb', replicas: 2, current: { profile: '1g.5gb', replicas: 2 } }), h.ctx);
      expect(ev?.type).to.equal(PLACEMENT_FAILED);
      expect((ev!.data as PlacementFailed).reason).to.match(/^1 of 2 4g\.20gb replica\(s\) unplaced/);
      expect(gpuSnapshot(cluster)).to.deep.equal(gpus);
    });

    it('an unplaceable cold start also marks the service Unschedulable with the reason', async () => {
      setup(1);
      await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 1);
      await cluster.ensureService('granite13binstructv2', MODELS.granite);
      const gpus = gpuSnapshot(cluster);
      const ev = await fn.onEvent(decided({ svc: 'granite13binstructv2', modelId: MODELS.granite, action: 'cold-start', from: 0, profile: '7g.40gb', replicas: 1 }), h.ctx);
      expect(ev?.type).to.equal(PLACEMENT_FAILED);
      const reason = (ev!.data as PlacementFailed).reason;
      expect(service(cluster, 'granite13binstructv2').condition).to.deep.equal({ ready: false, reason: 'Unschedulable', message: reason });
      expect(gpuSnapshot(cluster)).to.deep.equal(gpus);
    });

    it('a decision for an unknown service is refused with SSIS_NOT_FOUND (non-retriable: dead letter)', async () => {
      setup(1);
      // (Promise.resolve().then: onEvent throws synchronously here instead of rejecting; the runtime awaits it either way.)
      const err = await Promise.resolve()
        .then(() => fn.onEvent(decided({ svc: 'ghost', action: 'cold-start', from: 0, profile: '1g.5gb', replicas: 1 }), h.ctx))
        .then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(SsisError);
      expect(err).to.include({ code: 'SSIS_NOT_FOUND', retriable: false });
    });
  });
});
