/**
 * The rollout function, called directly on slice-reconfigured events made by the REAL reconfigure
 * function: replicas start on the REAL simulated cluster (emulated servers on loopback), traffic
 * moves make-before-break, old revisions and released replicas drain and stop.
 */
import { expect } from 'chai';
import type { Clock } from '../../core/common/ports';
import { SsisError } from '../../core/errors';
import type { SsisEvent } from '../../events/envelope';
import { ROLLOUT_COMPLETED, type RolloutCompleted } from '../../events/rollout-completed';
import { SCALE_DECIDED, type ScaleAction } from '../../events/scale-decided';
import { SLICE_RECONFIGURED, type SliceReconfigured } from '../../events/slice-reconfigured';
import type { ClusterPort, ServiceView } from '../../core/ports/cluster';
import type { SimulatedCluster } from '../../infra/cluster/simulated';
import { buildReconfigureFunction } from '../../functions/reconfigure/index';
import { buildRolloutFunction } from '../../functions/rollout/index';
import { A100, CONFIG, deploy, eventOf, generate, gpuSnapshot, harness, iso, MODELS, newCluster, owners, service, T0, until, type Harness } from './helpers';

const MUTATORS = new Set(['startReplica', 'stopReplica', 'setTraffic', 'deleteRevision', 'setCondition', 'endRollout', 'createRevision', 'applyGpuLayouts', 'beginDecision']);

interface Call {
  readonly method: string;
  readonly args: readonly unknown[];
  /** The service as it was when the call was made. */
  readonly before: ServiceView | undefined;
}

/**
 * A spy, not a fake: the real cluster behind a proxy that records every mutating call with the
 * service's state at that moment, and runs `onReady` whenever a replica it started is ready.
 */
function spy(cluster: SimulatedCluster, onReady: () => void = () => undefined): { port: ClusterPort; calls: Call[] } {
  const calls: Call[] = [];
  const port = new Proxy(cluster, {
    get(target, prop): unknown {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      const method = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]): unknown => {
        if (MUTATORS.has(prop)) calls.push({ method: prop, args, before: typeof args[0] === 'string' ? target.getService(args[0]) : undefined });
        const out = method.apply(target, args);
        if (prop !== 'startReplica') return out;
        return (out as Promise<unknown>).then((r) => {
          onReady();
          return r;
        });
      };
    },
  });
  return { port, calls };
}

async function isDown(url: string): Promise<boolean> {
  return fetch(`${url}/health`).then(() => false, () => true);
}

/** The shipped configuration with scale-to-zero on (it is off there). */
const SCALE_TO_ZERO = { ...CONFIG.ssis, scaler: { ...CONFIG.ssis.scaler, scaleToZeroAfterSec: 60 } };

describe('functions/rollout', () => {
  let h: Harness;
  let cluster: SimulatedCluster;
  let config = CONFIG.ssis;

  beforeEach(() => {
    h = harness('rollout');
    cluster = newCluster(1);
    config = CONFIG.ssis;
  });
  afterEach(async () => {
    await cluster.shutdown();
  });

  /** The slice-reconfigured event for a decision, made by the real reconfigure function (set-up, not under test). */
  async function reconfigured(action: ScaleAction, from: number, profile: string, replicas: number, current: { profile: string | null; replicas: number }): Promise<SsisEvent<SliceReconfigured>> {
    const reconfigure = buildReconfigureFunction({ cluster, catalog: CONFIG.catalog, config, clock: h.clock, ids: h.inputIds });
    const decision = eventOf(SCALE_DECIDED, {
      decisionId: `gpt2-g${from}-${action}-${profile}x${replicas}`,
      service: 'gpt2',
      modelId: MODELS.gpt2,
      action,
      policy: action === 'cold-start' ? 'cold-start' : 'ssis-ladder',
      fromGeneration: from,
      current: { profile: current.profile, gpuModel: current.profile === null ? null : A100, replicas: current.replicas },
      target: { profile, gpuModel: A100, replicas },
      reason: 'test',
      decidedAt: iso(h.clock.nowMs()),
    }, '/ssis/functions/evaluate', h);
    const out = await reconfigure.onEvent(decision, h.ctx);
    expect(out?.type, 'set-up: reconfigure placed the decision').to.equal(SLICE_RECONFIGURED);
    return out as SsisEvent<SliceReconfigured>;
  }

  /** The rollout function on a spied cluster; each replica that becomes ready moves the clock 300 ms. */
  function rollout(clock: Clock & { advance(ms: number): void } = h.clock): { fn: ReturnType<typeof buildRolloutFunction>; calls: Call[] } {
    const { port, calls } = spy(cluster, () => clock.advance(300));
    return { fn: buildRolloutFunction({ cluster: port, config, clock, ids: h.ids }), calls };
  }

  const completed = (ev: SsisEvent | undefined): RolloutCompleted => {
    expect(ev?.type).to.equal(ROLLOUT_COMPLETED);
    return ev!.data as RolloutCompleted;
  };

  it('cold start: starts the replica, routes 100 % to the new revision only once it is ready, emits rollout-completed', async () => {
    await cluster.ensureService('gpt2', MODELS.gpt2);
    const rc = await reconfigured('cold-start', 0, '1g.5gb', 1, { profile: null, replicas: 0 });
    const { fn, calls } = rollout();
    const ev = await fn.onEvent(rc, h.ctx);

    expect(calls.map((c) => c.method)).to.deep.equal(['startReplica', 'setTraffic', 'endRollout']);
    expect(calls[0]!.args).to.deep.equal(['gpt2', 'gpt2-00001', { id: 'gpt2-00001-1', sliceId: 'node-a/gpu0/1g.5gb@6', node: 'node-a', gpu: 0 }]);
    const atSwitch = calls[1]!;
    expect(atSwitch.args).to.deep.equal(['gpt2', [{ revision: 'gpt2-00001', percent: 100 }]]);
    expect(atSwitch.before!.revisions[0]!.replicas.map((r) => r.phase), 'replicas ready before the switch').to.deep.equal(['ready']);

    expect(ev).to.include({ id: 'rollout-1', source: '/ssis/functions/rollout', partitionkey: 'gpt2' });
    expect(completed(ev)).to.deep.equal({
      decisionId: 'gpt2-g0-cold-start-1g.5gbx1',
      service: 'gpt2',
      revision: 'gpt2-00001',
      previousRevision: null,
      profile: '1g.5gb',
      gpuModel: A100,
      replicas: 1,
      generation: 1,
      readyAfterMs: 300,
      completedAt: iso(T0 + 300),
    });
    const s = service(cluster, 'gpt2');
    expect(s).to.deep.include({ generation: 1, rollout: null, traffic: [{ revision: 'gpt2-00001', percent: 100 }] });
    expect(s.condition).to.include({ ready: true, reason: 'Ready' });
    // The data path is real: the new replica answers.
    const lease = cluster.acquireRoute('gpt2');
    expect(lease?.replica).to.equal('gpt2-00001-1');
    const answer = await generate(lease!.url, 'What is Deep Learning?', 5);
    lease!.release();
    expect(answer.status).to.equal(200);
    expect(answer.body['generated_text']).to.be.a('string').with.length.greaterThan(0);
    expect(h.publisher.events).to.deep.equal([]);
  });

  it('scale up: the old revision keeps all traffic until the new one is ready, then it is deleted and its slice freed', async () => {
    await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 1);
    const oldUrl = service(cluster, 'gpt2').revisions[0]!.replicas[0]!.url!;
    const rc = await reconfigured('up', 1, '2g.10gb', 1, { profile: '1g.5gb', replicas: 1 });
    const { fn, calls } = rollout();
    const done = completed(await fn.onEvent(rc, h.ctx));

    expect(calls.map((c) => c.method)).to.deep.equal(['startReplica', 'setTraffic', 'deleteRevision', 'endRollout']);
    const [start, switchTraffic, del] = calls;
    expect(start!.before!.traffic, 'while the new replica starts').to.deep.equal([{ revision: 'gpt2-00001', percent: 100 }]);
    // At the switch the old revision still runs (make-before-break) and the new one is ready.
    const revs = Object.fromEntries(switchTraffic!.before!.revisions.map((r) => [r.name, r.replicas.map((x) => x.phase)]));
    expect(revs).to.deep.equal({ 'gpt2-00001': ['ready'], 'gpt2-00002': ['ready'] });
    expect(switchTraffic!.args[1]).to.deep.equal([{ revision: 'gpt2-00002', percent: 100 }]);
    expect(del!.args).to.deep.equal(['gpt2', 'gpt2-00001']);
    expect(del!.before!.traffic, 'deleted only after traffic left it').to.deep.equal([{ revision: 'gpt2-00002', percent: 100 }]);

    expect(done).to.deep.include({ revision: 'gpt2-00002', previousRevision: 'gpt2-00001', profile: '2g.10gb', replicas: 1, generation: 2, readyAfterMs: 300 });
    expect(service(cluster, 'gpt2').revisions.map((r) => r.name)).to.deep.equal(['gpt2-00002']);
    // The old MIG instance stays (mig-manager keeps idle instances) but is free.
    expect(owners(cluster)).to.deep.equal({ 'node-a/gpu0/1g.5gb@6': null, 'node-a/gpu0/2g.10gb@4': 'gpt2-00002-1' });
    expect(await isDown(oldUrl), 'old replica stopped').to.equal(true);
  });

  it('scale out: starts the new replica in the same revision without touching traffic', async () => {
    await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 1);
    const rc = await reconfigured('out', 1, '1g.5gb', 2, { profile: '1g.5gb', replicas: 1 });
    const { fn, calls } = rollout();
    const done = completed(await fn.onEvent(rc, h.ctx));
    expect(calls.map((c) => c.method)).to.deep.equal(['startReplica', 'endRollout']);
    expect(done).to.deep.include({ revision: 'gpt2-00001', previousRevision: null, replicas: 2, generation: 2 });
    const s = service(cluster, 'gpt2');
    expect(s.traffic).to.deep.equal([{ revision: 'gpt2-00001', percent: 100 }]);
    expect(s.revisions[0]!.replicas.map((r) => [r.id, r.phase])).to.deep.equal([['gpt2-00001-1', 'ready'], ['gpt2-00001-2', 'ready']]);
  });

  it('scale in: drains the released replica (its in-flight request still answers), stops it and frees its slice', async () => {
    await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 2);
    const leaving = service(cluster, 'gpt2').revisions[0]!.replicas.find((r) => r.id === 'gpt2-00001-2')!;
    const inFlight = generate(leaving.url!, 'Explain the transformer architecture', 60);
    await until('the request to reach the replica', async () => {
      const text = await (await fetch(`${leaving.url!}/metrics`)).text();
      return /^vllm:num_requests_(running|waiting)(\{[^}]*\})? [1-9]/m.test(text) ? true : undefined;
    });

    const rc = await reconfigured('in', 1, '1g.5gb', 1, { profile: '1g.5gb', replicas: 2 });
    expect(rc.data.slices.map((s) => [s.replica, s.action])).to.deep.equal([['gpt2-00001-2', 'release']]);
    const { fn, calls } = rollout();
    const done = completed(await fn.onEvent(rc, h.ctx));

    const answer = await inFlight;
    expect(answer.status, 'the in-flight request finished before the replica stopped').to.equal(200);
    expect((answer.body['details'] as { generated_tokens: number }).generated_tokens).to.equal(60);
    expect(calls.map((c) => c.method)).to.deep.equal(['stopReplica', 'endRollout']);
    expect(done).to.deep.include({ revision: 'gpt2-00001', replicas: 1, generation: 2, readyAfterMs: 0 });
    const s = service(cluster, 'gpt2');
    expect(s.revisions[0]!.replicas.map((r) => r.id)).to.deep.equal(['gpt2-00001-1']);
    expect(s.traffic).to.deep.equal([{ revision: 'gpt2-00001', percent: 100 }]);
    expect(owners(cluster)).to.deep.equal({ 'node-a/gpu0/1g.5gb@5': null, 'node-a/gpu0/1g.5gb@6': 'gpt2-00001-1' });
    expect(await isDown(leaving.url!)).to.equal(true);
  });

  it('scale to zero (where it is on): stops every replica, clears traffic and sets condition NoCapacity', async () => {
    config = SCALE_TO_ZERO;
    await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 1);
    const rc = await reconfigured('in', 1, '1g.5gb', 0, { profile: '1g.5gb', replicas: 1 });
    const { fn } = rollout();
    const done = completed(await fn.onEvent(rc, h.ctx));
    expect(done).to.deep.include({ replicas: 0, generation: 2, revision: 'gpt2-00001' });
    const s = service(cluster, 'gpt2');
    expect(s.traffic).to.deep.equal([]);
    expect(s.condition).to.deep.equal({ ready: false, reason: 'NoCapacity', message: 'scaled to zero' });
    expect(s.revisions.flatMap((r) => r.replicas)).to.deep.equal([]);
    expect(s.rollout).to.equal(null);
    expect(owners(cluster)).to.deep.equal({ 'node-a/gpu0/1g.5gb@6': null });
    expect(cluster.acquireRoute('gpt2')).to.equal(null);
  });

  it('a re-delivered slice-reconfigured after completion is a no-op', async () => {
    await cluster.ensureService('gpt2', MODELS.gpt2);
    const rc = await reconfigured('cold-start', 0, '1g.5gb', 1, { profile: null, replicas: 0 });
    await rollout().fn.onEvent(rc, h.ctx);
    const before = service(cluster, 'gpt2');
    const gpus = gpuSnapshot(cluster);

    const { fn, calls } = rollout();
    expect(await fn.onEvent(rc, h.ctx)).to.equal(undefined);
    expect(calls, 'no cluster change attempted').to.deep.equal([]);
    expect(service(cluster, 'gpt2')).to.deep.equal(before);
    expect(gpuSnapshot(cluster)).to.deep.equal(gpus);
    expect(h.logger.lines.map((l) => l.msg)).to.include('rollout already done or superseded');
  });

  it('a duplicate delivered while the first is still rolling out converges to the same state', async () => {
    await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 1);
    const rc = await reconfigured('up', 1, '2g.10gb', 1, { profile: '1g.5gb', replicas: 1 });
    const { fn } = rollout();
    const replies = await Promise.all([fn.onEvent(rc, h.ctx), fn.onEvent(rc, h.ctx)]);
    for (const r of replies) if (r) expect(completed(r).decisionId).to.equal(rc.data.decisionId);
    const s = service(cluster, 'gpt2');
    expect(s.revisions.map((r) => [r.name, r.replicas.map((x) => x.id)])).to.deep.equal([['gpt2-00002', ['gpt2-00002-1']]]);
    expect(s).to.deep.include({ traffic: [{ revision: 'gpt2-00002', percent: 100 }], rollout: null });
    expect(owners(cluster)).to.deep.equal({ 'node-a/gpu0/1g.5gb@6': null, 'node-a/gpu0/2g.10gb@4': 'gpt2-00002-1' });
  });

  it('ignores a slice-reconfigured of a superseded decision or an unknown service', async () => {
    await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 1);
    const rc = await reconfigured('out', 1, '1g.5gb', 2, { profile: '1g.5gb', replicas: 1 });
    const { fn, calls } = rollout();
    const superseded = eventOf(SLICE_RECONFIGURED, { ...rc.data, decisionId: 'gpt2-g0-older' }, '/ssis/functions/reconfigure', h);
    expect(await fn.onEvent(superseded, h.ctx)).to.equal(undefined);
    const ghost = eventOf(SLICE_RECONFIGURED, { ...rc.data, service: 'ghost' }, '/ssis/functions/reconfigure', h);
    expect(await fn.onEvent(ghost, h.ctx)).to.equal(undefined);
    expect(calls).to.deep.equal([]);
    expect(service(cluster, 'gpt2').revisions[0]!.replicas).to.have.length(1);
  });

  describe('refuses a slice-reconfigured its decision may not make, before any replica starts', () => {
    async function refused(fn: ReturnType<typeof buildRolloutFunction>, ev: SsisEvent): Promise<SsisError> {
      const err = await fn.onEvent(ev, h.ctx).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(SsisError).and.include({ code: 'SSIS_DECISION_REFUSED', retriable: false });
      return err as SsisError;
    }

    it('more replicas than the bounds allow, or than its slices give', async () => {
      await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 1);
      const rc = await reconfigured('out', 1, '1g.5gb', 2, { profile: '1g.5gb', replicas: 1 });
      const before = service(cluster, 'gpt2');
      const { fn, calls } = rollout();
      // The current rollout's id, 14 replicas announced and a slice for each: as a forger who read the id would send it.
      const slice = rc.data.slices[0]!;
      const many = Array.from({ length: 13 }, (_, k) => ({ ...slice, replica: `gpt2-00001-${k + 2}` }));
      const forged = eventOf(SLICE_RECONFIGURED, { ...rc.data, replicas: 14, slices: many }, '/ssis/functions/reconfigure', h);
      expect((await refused(fn, forged)).issues).to.deep.include({ field: 'data.replicas', message: '14 replicas is above scaler.maxReplicas 4' });
      const short = eventOf(SLICE_RECONFIGURED, { ...rc.data, replicas: 3 }, '/ssis/functions/reconfigure', h);
      expect((await refused(fn, short)).issues.map((i) => i.field)).to.deep.equal(['data.replicas']);
      expect(calls, 'no replica started, nothing changed').to.deep.equal([]);
      expect(service(cluster, 'gpt2')).to.deep.equal(before);
      // The real one still rolls out.
      expect(completed(await fn.onEvent(rc, h.ctx))).to.include({ replicas: 2 });
    });

    it('another model, a revision the service lacks, slices on another partition or not on their instance', async () => {
      await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 1);
      const rc = await reconfigured('up', 1, '2g.10gb', 1, { profile: '1g.5gb', replicas: 1 });
      const { fn, calls } = rollout();
      const slice = rc.data.slices[0]!;
      const cases: [Partial<SliceReconfigured>, string][] = [
        [{ modelId: MODELS.llama1b }, 'data.modelId'],
        [{ revision: 'gpt2-00007' }, 'data.revision'],
        [{ slices: [{ ...slice, profile: '1g.5gb' }] }, 'data.slices[0].profile'],
        [{ slices: [{ ...slice, sliceId: 'node-a/gpu0/2g.10gb@0' }] }, 'data.slices[0].sliceId'],
      ];
      for (const [change, field] of cases) {
        expect((await refused(fn, eventOf(SLICE_RECONFIGURED, { ...rc.data, ...change }, '/ssis/functions/reconfigure', h))).issues.map((i) => i.field), field).to.include(field);
      }
      expect(calls).to.deep.equal([]);
      expect(h.logger.lines.filter((l) => l.msg === 'rollout refused')).to.have.length(cases.length);
    });
  });
});
