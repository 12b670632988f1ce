/**
 * The reconfigure function refuses what breaks policy (core/scaling/decision-policy) BEFORE it
 * accepts a decision: a forged, schema-valid scale-decided changes no generation, marks no rollout,
 * places nothing and fails no placement. Refused with SSIS_DECISION_REFUSED (not retriable): the
 * runtime answers 422 and the broker dead-letters it with its reason. Decisions the real policies
 * make are still carried out, through the REAL reconfigure and rollout functions on the REAL
 * simulated cluster.
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SsisError } from '../../core/errors';
import type { SsisEvent } from '../../events/envelope';
import { ROLLOUT_COMPLETED, type RolloutCompleted } from '../../events/rollout-completed';
import { SCALE_DECIDED, type ScaleAction, type ScaleDecided } from '../../events/scale-decided';
import { SLICE_RECONFIGURED } from '../../events/slice-reconfigured';
import { EmbeddedBroker } from '../../infra/broker/embedded-broker';
import type { SimulatedCluster } from '../../infra/cluster/simulated';
import { buildReconfigureFunction } from '../../functions/reconfigure/index';
import { buildRolloutFunction } from '../../functions/rollout/index';
import type { SsisFunction } from '../../functions/runtime/function';
import { createFunctionApp } from '../../functions/runtime/server';
import { A100, CONFIG, deploy, eventOf, gpuSnapshot, harness, iso, MANIFESTS, MODELS, newCluster, service, type Harness } from './helpers';

describe('functions/reconfigure refuses decisions that break policy', () => {
  let h: Harness;
  let cluster: SimulatedCluster;
  let fn: SsisFunction;

  beforeEach(async () => {
    h = harness('reconfigure');
    cluster = newCluster(2);
    fn = buildReconfigureFunction({ cluster, catalog: CONFIG.catalog, config: CONFIG.ssis, clock: h.clock, ids: h.ids });
    await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 1); // generation 1, serving gpt2-00001
  });
  afterEach(async () => {
    await cluster.shutdown();
  });

  /** A schema-valid decision for gpt2 from its current generation, as anyone who can reach the function could send it. */
  function decided(action: ScaleAction, profile: string, replicas: number, o: Partial<ScaleDecided> = {}): SsisEvent<ScaleDecided> {
    const s = service(cluster, 'gpt2');
    return eventOf(SCALE_DECIDED, {
      decisionId: `gpt2-g${s.generation}-${action}-${profile}x${replicas}`, service: 'gpt2', modelId: MODELS.gpt2, action, policy: 'ssis-ladder',
      fromGeneration: s.generation, current: { profile: '1g.5gb', gpuModel: A100, replicas: 1 }, target: { profile, gpuModel: A100, replicas },
      reason: 'forged', decidedAt: iso(h.clock.nowMs()), ...o,
    }, '/ssis/functions/evaluate', h);
  }

  async function refusal(ev: SsisEvent): Promise<SsisError> {
    const err = await fn.onEvent(ev, h.ctx).then(() => null, (e: unknown) => e);
    expect(err, 'refused').to.be.instanceOf(SsisError);
    expect(err).to.include({ code: 'SSIS_DECISION_REFUSED', retriable: false, httpStatus: 422 });
    return err as SsisError;
  }

  /** What a refused decision must leave as it was. */
  function snapshot(): unknown {
    return { gpus: gpuSnapshot(cluster), services: cluster.listServices() };
  }

  it('refuses a forged 14-replica scale out against maxReplicas 4: no generation bump, no rollout marker, nothing placed', async () => {
    expect(CONFIG.ssis.scaler.maxReplicas).to.equal(4);
    const before = snapshot();
    const err = await refusal(decided('out', '1g.5gb', 14));
    expect(err.issues).to.deep.equal([{ field: 'data.target.replicas', message: '14 replicas is above scaler.maxReplicas 4' }]);
    expect(err.message).to.equal('scale-decided gpt2-g1-out-1g.5gbx14 for gpt2 refused: data.target.replicas: 14 replicas is above scaler.maxReplicas 4');
    expect(snapshot()).to.deep.equal(before);
    expect(service(cluster, 'gpt2')).to.deep.include({ generation: 1, rollout: null });
    expect(h.logger.lines.map((l) => l.msg)).to.include('decision refused');
  });

  it('refuses a forged 10,000-replica scale out before placement: no placement-failed, so nothing can back the current slice off', async () => {
    const before = snapshot();
    const err = await refusal(decided('out', '1g.5gb', 10_000));
    expect(err.issues.map((i) => i.field)).to.deep.equal(['data.target.replicas']);
    expect(snapshot()).to.deep.equal(before);
    expect(h.publisher.events, 'nothing published either').to.deep.equal([]);
    expect(service(cluster, 'gpt2').condition).to.include({ ready: true, reason: 'Ready' });
  });

  it('a forged 20-replica decision delivered by the broker is answered 422 and dead-lettered with its reason', async () => {
    const server: Server = createServer(createFunctionApp(fn, h.ctx));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const broker = new EmbeddedBroker({ manifests: MANIFESTS, resolve: (d) => ('name' in d && d.name === 'ssis-reconfigure' ? url : undefined) });
    try {
      const before = snapshot();
      await broker.publish(decided('out', '1g.5gb', 20));
      await broker.idle();
      const letters = broker.deadLetters();
      expect(letters.map((l) => [l.trigger, l.errorCode])).to.deep.equal([['ssis-reconfigure', 422]]);
      const body = JSON.parse(letters[0]!.errorData) as { code: string; retriable: boolean; issues: unknown[] };
      expect(body).to.deep.include({ code: 'SSIS_DECISION_REFUSED', retriable: false, issues: [{ field: 'data.target.replicas', message: '20 replicas is above scaler.maxReplicas 4' }] });
      expect(snapshot()).to.deep.equal(before);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('refuses, each with its field and nothing changed: another model, a GPU model the cluster lacks, a profile the model does not fit, an action that is not current → target, a decision while another rolls out', async () => {
    await cluster.ensureService('mistral7bv01', MODELS.mistral);
    const mistralOn1g = decided('cold-start', '1g.5gb', 1, {
      decisionId: 'mistral7bv01-g0-cold-start', service: 'mistral7bv01', modelId: MODELS.mistral, policy: 'cold-start', fromGeneration: 0, current: { profile: null, gpuModel: null, replicas: 0 },
    });
    const cases: [SsisEvent, string][] = [
      [decided('out', '1g.5gb', 2, { modelId: MODELS.llama1b }), 'data.modelId'],
      [decided('up', '2g.20gb', 1, { target: { profile: '2g.20gb', gpuModel: 'H100-80GB', replicas: 1 } }), 'data.target.gpuModel'],
      [mistralOn1g, 'data.target.profile'],
      [decided('cold-start', '1g.5gb', 1, { policy: 'cold-start' }), 'data.action'],
      [decided('out', '2g.10gb', 2), 'data.target.profile'],
      [decided('in', '1g.5gb', 0), 'data.target.replicas'],
    ];
    for (const [ev, field] of cases) {
      const before = snapshot();
      expect((await refusal(ev)).issues.map((i) => i.field), field).to.include(field);
      expect(snapshot(), field).to.deep.equal(before);
    }
    await cluster.beginDecision('gpt2', 'gpt2-g1-up-2g.10gbx1', 1); // a decision of generation 1 rolling out
    const before = snapshot();
    expect((await refusal(decided('out', '1g.5gb', 2))).issues).to.deep.equal([{ field: 'data.service', message: 'decision gpt2-g1-up-2g.10gbx1 is still rolling out on gpt2; one decision at a time' }]);
    expect(snapshot()).to.deep.equal(before);
  });

  it('still ignores a stale duplicate quietly (at-least-once delivery), whatever it asks', async () => {
    const stale = decided('out', '1g.5gb', 14, { fromGeneration: 0 });
    expect(await fn.onEvent(stale, h.ctx)).to.equal(undefined);
    expect(h.logger.lines.map((l) => l.msg)).to.include('stale or duplicate decision ignored');
  });

  it('carries out a legitimate decision of each action, through reconfigure and rollout', async () => {
    const rollout = buildRolloutFunction({ cluster, config: CONFIG.ssis, clock: h.clock, ids: h.ids });
    const apply = async (action: ScaleAction, profile: string, replicas: number): Promise<RolloutCompleted> => {
      const reconfigured = await fn.onEvent(decided(action, profile, replicas), h.ctx);
      expect(reconfigured?.type, `${action}: slices placed`).to.equal(SLICE_RECONFIGURED);
      const done = await rollout.onEvent(reconfigured!, h.ctx);
      expect(done?.type, `${action}: rolled out`).to.equal(ROLLOUT_COMPLETED);
      return done!.data as RolloutCompleted;
    };
    expect(await apply('out', '1g.5gb', 2)).to.include({ profile: '1g.5gb', replicas: 2 });
    expect(await apply('in', '1g.5gb', 1)).to.include({ profile: '1g.5gb', replicas: 1 });
    expect(await apply('up', '2g.10gb', 1)).to.include({ profile: '2g.10gb', replicas: 1 });
    expect(await apply('down', '1g.5gb', 1)).to.include({ profile: '1g.5gb', replicas: 1 });
    // A cold start: another model, at zero.
    await cluster.ensureService('llama321binstruct', MODELS.llama1b);
    const cold = eventOf(SCALE_DECIDED, {
      decisionId: 'llama321binstruct-g0-cold-start', service: 'llama321binstruct', modelId: MODELS.llama1b, action: 'cold-start', policy: 'cold-start', fromGeneration: 0,
      current: { profile: null, gpuModel: null, replicas: 0 }, target: { profile: '1g.5gb', gpuModel: A100, replicas: 1 }, reason: 'no capacity', decidedAt: iso(h.clock.nowMs()),
    }, '/ssis/functions/request', h);
    const placed = await fn.onEvent(cold, h.ctx);
    expect(placed?.type).to.equal(SLICE_RECONFIGURED);
    expect((await rollout.onEvent(placed!, h.ctx))?.type).to.equal(ROLLOUT_COMPLETED);
    expect(service(cluster, 'gpt2')).to.deep.include({ generation: 5, rollout: null });
    expect(service(cluster, 'llama321binstruct').revisions[0]!.replicas.map((r) => r.phase)).to.deep.equal(['ready']);
  });
});
