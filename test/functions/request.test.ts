/**
 * The request function's dispatch stage, called directly: request-received for a service without
 * capacity → one scale-decided cold start on the smallest fitting slice; rollout-completed and
 * placement-failed end the pending cold start. REAL configuration and simulated cluster. (Its public
 * ingress has its own tests: test/functions/request/ingress.test.ts and admission.test.ts.)
 */
import { expect } from 'chai';
import type { ModelCatalog } from '../../core/catalog/model-catalog';
import { serviceNameFor } from '../../core/naming';
import type { SsisEvent } from '../../events/envelope';
import { PLACEMENT_FAILED, type PlacementFailed } from '../../events/placement-failed';
import { REQUEST_RECEIVED, type RequestReceived } from '../../events/request-received';
import { ROLLOUT_COMPLETED, type RolloutCompleted } from '../../events/rollout-completed';
import { SCALE_DECIDED, type ScaleDecided } from '../../events/scale-decided';
import { SimulatedCluster } from '../../infra/cluster/simulated';
import { buildRequestFunction } from '../../functions/request/index';
import type { SsisFunction } from '../../functions/runtime/function';
import { A100, catalogWith, CONFIG, deploy, eventOf, gpuSnapshot, harness, iso, MODELS, newCluster, service, spec, T0, type Harness } from './helpers';

const INGRESS = '/ssis/functions/request';
const ROLLOUT = '/ssis/functions/rollout';
const RECONFIGURE = '/ssis/functions/reconfigure';

describe('functions/request dispatch stage', () => {
  let h: Harness;
  const clusters: SimulatedCluster[] = [];

  beforeEach(() => {
    h = harness('request');
  });
  afterEach(async () => {
    await Promise.all(clusters.splice(0).map((c) => c.shutdown()));
  });

  function setup(opts: { gpus?: number; gpuModel?: string; catalog?: ModelCatalog } = {}): { cluster: SimulatedCluster; fn: SsisFunction } {
    const catalog = opts.catalog ?? CONFIG.catalog;
    const cluster = newCluster(opts.gpus ?? 2, opts.gpuModel ?? A100, catalog);
    clusters.push(cluster);
    return { cluster, fn: buildRequestFunction({ cluster, catalog, config: CONFIG.ssis, clock: h.clock, ids: h.ids }) };
  }

  /** What the ingress does for one request: ensure the service, then emit request-received. */
  async function received(cluster: SimulatedCluster, modelId: string, requestId = 'req-1'): Promise<SsisEvent<RequestReceived>> {
    const svc = serviceNameFor(modelId);
    await cluster.ensureService(svc, modelId);
    return eventOf(REQUEST_RECEIVED, {
      requestId,
      service: svc,
      modelId,
      api: 'ssis',
      serviceClass: CONFIG.ssis.ingress.defaultServiceClass,
      inputTokens: 6,
      maxNewTokens: 20,
      sloMs: null,
      envKeys: ['MODEL_ID', 'HF_TOKEN'],
      receivedAt: iso(h.clock.nowMs()),
    }, INGRESS, h);
  }

  function completed(svc: string, decisionId: string, profile: string): SsisEvent<RolloutCompleted> {
    return eventOf(ROLLOUT_COMPLETED, {
      decisionId, service: svc, revision: `${svc}-00001`, previousRevision: null, profile, gpuModel: A100, replicas: 1, generation: 1, readyAfterMs: 30, completedAt: iso(h.clock.nowMs()),
    }, ROLLOUT, h);
  }

  function failed(svc: string, modelId: string, decisionId: string, profile: string): SsisEvent<PlacementFailed> {
    return eventOf(PLACEMENT_FAILED, {
      decisionId, service: svc, modelId, fromGeneration: 0, requested: { profile, gpuModel: A100, replicas: 1 }, reason: '1 of 1 replica(s) unplaced', failedAt: iso(h.clock.nowMs()),
    }, RECONFIGURE, h);
  }

  describe('what it is since the ingress moved out (functions/request/ingress.ts)', () => {
    it('is a CloudEvent handler only: request-received, rollout-completed and placement-failed, and no HTTP routes', () => {
      const { fn } = setup();
      expect(fn.name).to.equal('request');
      expect(fn.handles).to.deep.equal([REQUEST_RECEIVED, ROLLOUT_COMPLETED, PLACEMENT_FAILED]);
      expect(Object.keys(fn)).to.not.include('routes');
    });

    it('publishes nothing itself and creates no service: the reply is its only output', async () => {
      const { cluster, fn } = setup();
      const ghost = eventOf(REQUEST_RECEIVED, { ...(await received(cluster, MODELS.gpt2)).data, service: 'llama321binstruct', modelId: MODELS.llama1b }, INGRESS, h);
      expect(await fn.onEvent(ghost, h.ctx), 'the ingress creates the service before it announces').to.equal(undefined);
      expect(cluster.listServices().map((s) => s.name)).to.deep.equal(['gpt2']);
      expect(h.publisher.events).to.deep.equal([]);
    });

    it('ignores a request-received that names one model on another model\'s service: it cannot cold-start a large model there', async () => {
      const { cluster, fn } = setup();
      const gpus = gpuSnapshot(cluster);
      const ev = await received(cluster, MODELS.gpt2);
      const forged = eventOf(REQUEST_RECEIVED, { ...ev.data, modelId: MODELS.granite }, INGRESS, h);
      expect(await fn.onEvent(forged, h.ctx)).to.equal(undefined);
      expect(service(cluster, 'gpt2')).to.deep.include({ modelId: MODELS.gpt2, generation: 0, rollout: null });
      expect(service(cluster, 'gpt2').condition.reason).to.not.equal('Unschedulable');
      expect(gpuSnapshot(cluster)).to.deep.equal(gpus);
      // Not marked pending either: the genuine request still gets its cold start.
      expect((await fn.onEvent(ev, h.ctx))!.data).to.deep.include({ decisionId: 'gpt2-g0-cold-start', modelId: MODELS.gpt2 });
    });
  });

  describe('request-received for a cold service', () => {
    const cases: [string, string][] = [
      [MODELS.gpt2, '1g.5gb'],
      [MODELS.llama8b, '3g.20gb'],
      [MODELS.granite, '7g.40gb'],
      [MODELS.llama1b, '1g.5gb'],
      [MODELS.mistral, '3g.20gb'],
    ];
    for (const [modelId, profile] of cases) {
      it(`emits one cold start of ${modelId} on ${A100} ${profile} with a deterministic decision id`, async () => {
        const { cluster, fn } = setup();
        const svc = serviceNameFor(modelId);
        const gpusBefore = gpuSnapshot(cluster);
        h.clock.advance(1500);
        const reply = await fn.onEvent(await received(cluster, modelId), h.ctx);

        expect(reply, 'a scale-decided reply').to.not.equal(undefined);
        expect(reply!.type).to.equal(SCALE_DECIDED);
        expect(reply!).to.include({ id: 'request-1', source: INGRESS, subject: svc, partitionkey: svc, time: iso(T0 + 1500) });
        const d = reply!.data as ScaleDecided;
        expect(d).to.deep.include({
          decisionId: `${svc}-g0-cold-start`,
          service: svc,
          modelId,
          action: 'cold-start',
          policy: 'cold-start',
          fromGeneration: 0,
          current: { profile: null, gpuModel: null, replicas: 0 },
          target: { profile, gpuModel: A100, replicas: 1 },
          decidedAt: iso(T0 + 1500),
        });
        expect(d.reason).to.include(`smallest fitting slice is ${A100} ${profile}`).and.not.include('not placeable');
        // The reply goes back to the broker as the HTTP answer; nothing is published, nothing changes yet.
        expect(h.publisher.events).to.deep.equal([]);
        expect(gpuSnapshot(cluster)).to.deep.equal(gpusBefore);
        expect(service(cluster, svc)).to.deep.include({ generation: 0, revisions: [], rollout: null });
      });
    }

    it('still decides the smallest fitting slice when it cannot be placed now, saying so (the failure is reported downstream)', async () => {
      const { cluster, fn } = setup({ gpus: 1 });
      await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 1);
      const reply = await fn.onEvent(await received(cluster, MODELS.granite), h.ctx);
      const d = reply!.data as ScaleDecided;
      expect(d.target).to.deep.equal({ profile: '7g.40gb', gpuModel: A100, replicas: 1 });
      expect(d.reason).to.include('(not placeable now)');
    });

    it('prefers a placeable slice of another GPU model over a smaller one that cannot be placed', async () => {
      const cluster = new SimulatedCluster({
        namespace: 'ssis',
        nodes: [{ name: 'node-a', gpus: [{ model: A100, count: 1 }] }, { name: 'node-b', gpus: [{ model: 'A100-SXM4-80GB', count: 1 }] }],
        catalog: CONFIG.catalog,
        loadTimeScale: 0.01,
        random: () => 0,
      });
      clusters.push(cluster);
      const fn = buildRequestFunction({ cluster, catalog: CONFIG.catalog, config: CONFIG.ssis, clock: h.clock, ids: h.ids });
      // granite fills the 40GB A100 (7g.40gb): gpt2's 1g.5gb there is no longer placeable.
      await deploy(cluster, 'granite13binstructv2', MODELS.granite, '7g.40gb', 1);
      const reply = await fn.onEvent(await received(cluster, MODELS.gpt2), h.ctx);
      expect((reply!.data as ScaleDecided).target).to.deep.equal({ profile: '1g.10gb', gpuModel: 'A100-SXM4-80GB', replicas: 1 });
    });
  });

  describe('pending cold starts', () => {
    it('emits nothing for a second request-received while the cold start is pending, but decides for another service', async () => {
      const { cluster, fn } = setup();
      expect(await fn.onEvent(await received(cluster, MODELS.gpt2, 'req-1'), h.ctx)).to.not.equal(undefined);
      expect(await fn.onEvent(await received(cluster, MODELS.gpt2, 'req-2'), h.ctx)).to.equal(undefined);
      expect(await fn.onEvent(await received(cluster, MODELS.gpt2, 'req-1'), h.ctx), 'a re-delivered request-received').to.equal(undefined);
      const other = await fn.onEvent(await received(cluster, MODELS.llama1b, 'req-3'), h.ctx);
      expect((other!.data as ScaleDecided).decisionId).to.equal('llama321binstruct-g0-cold-start');
    });

    it('rollout-completed of the pending decision ends it; one of another decision does not', async () => {
      const { cluster, fn } = setup();
      await fn.onEvent(await received(cluster, MODELS.gpt2), h.ctx);
      expect(await fn.onEvent(completed('gpt2', 'gpt2-g7-up-2g.10gbx1', '2g.10gb'), h.ctx)).to.equal(undefined);
      expect(await fn.onEvent(await received(cluster, MODELS.gpt2, 'req-2'), h.ctx), 'still pending').to.equal(undefined);

      expect(await fn.onEvent(completed('gpt2', 'gpt2-g0-cold-start', '1g.5gb'), h.ctx)).to.equal(undefined);
      // The service still has no capacity (nothing was actually rolled out here): it is decided again.
      const again = await fn.onEvent(await received(cluster, MODELS.gpt2, 'req-3'), h.ctx);
      expect((again!.data as ScaleDecided).decisionId).to.equal('gpt2-g0-cold-start');
    });

    it('placement-failed ends the pending cold start; the next request tries again from the new generation', async () => {
      const { cluster, fn } = setup();
      await fn.onEvent(await received(cluster, MODELS.gpt2), h.ctx);
      // What reconfigure does with an unplaceable decision: accept it (generation 0 → 1), give up.
      expect(await cluster.beginDecision('gpt2', 'gpt2-g0-cold-start', 0)).to.equal(true);
      await cluster.endRollout('gpt2', 'gpt2-g0-cold-start');
      expect(await fn.onEvent(failed('gpt2', MODELS.gpt2, 'gpt2-g0-cold-start', '1g.5gb'), h.ctx)).to.equal(undefined);
      const again = await fn.onEvent(await received(cluster, MODELS.gpt2, 'req-2'), h.ctx);
      expect(again!.data).to.deep.include({ decisionId: 'gpt2-g1-cold-start', fromGeneration: 1 });
    });

    it('forgets a pending cold start whose outcome never came (dead-lettered) after pendingTimeoutSec', async () => {
      const { cluster, fn } = setup();
      const first = await fn.onEvent(await received(cluster, MODELS.gpt2), h.ctx);
      expect(first!.data).to.deep.include({ decisionId: 'gpt2-g0-cold-start' });
      expect(await fn.onEvent(await received(cluster, MODELS.gpt2, 'req-2'), h.ctx), 'still pending').to.equal(undefined);
      h.clock.advance(CONFIG.ssis.scaler.pendingTimeoutSec * 1000);
      const retried = await fn.onEvent(await received(cluster, MODELS.gpt2, 'req-3'), h.ctx);
      expect(retried!.data).to.deep.include({ decisionId: 'gpt2-g0-cold-start', fromGeneration: 0 });
    });

    it('decides nothing while a rollout is under way or when the service has replicas', async () => {
      const { cluster, fn } = setup();
      await cluster.ensureService('gpt2', MODELS.gpt2);
      await cluster.beginDecision('gpt2', 'gpt2-g0-cold-start', 0);
      expect(await fn.onEvent(await received(cluster, MODELS.gpt2), h.ctx), 'rollout under way').to.equal(undefined);
      await cluster.endRollout('gpt2', 'gpt2-g0-cold-start');

      await deploy(cluster, 'llama321binstruct', MODELS.llama1b, '1g.5gb', 1);
      expect(await fn.onEvent(await received(cluster, MODELS.llama1b), h.ctx), 'has capacity').to.equal(undefined);
    });

    it('ignores request-received for a service that does not exist (replayed after deletion) or a model not in the catalog', async () => {
      const { cluster, fn } = setup();
      const ev = await received(cluster, MODELS.gpt2);
      const ghost = eventOf(REQUEST_RECEIVED, { ...ev.data, service: 'ghost' }, INGRESS, h);
      expect(await fn.onEvent(ghost, h.ctx)).to.equal(undefined);
      await cluster.ensureService('unknownmodel', 'acme/unknown-model');
      const unknown = eventOf(REQUEST_RECEIVED, { ...ev.data, service: 'unknownmodel', modelId: 'acme/unknown-model' }, INGRESS, h);
      expect(await fn.onEvent(unknown, h.ctx)).to.equal(undefined);
    });
  });

  describe('models no GPU model of the cluster can hold', () => {
    it('sets Unschedulable for granite-13b on an A30-only cluster (no perf data, 24 GB) and decides nothing', async () => {
      const { cluster, fn } = setup({ gpus: 2, gpuModel: 'A30-24GB' });
      expect(await fn.onEvent(await received(cluster, MODELS.granite), h.ctx)).to.equal(undefined);
      const condition = service(cluster, 'granite13binstructv2').condition;
      expect(condition).to.include({ ready: false, reason: 'Unschedulable' });
      expect(condition.message).to.match(/^ibm-granite\/granite-13b-instruct-v2 needs \d+\.\d GiB; no GPU model in the cluster can hold it$/);
      // Nothing is pending: every later request re-checks (and still finds nothing).
      expect(await fn.onEvent(await received(cluster, MODELS.granite, 'req-2'), h.ctx)).to.equal(undefined);
      expect(service(cluster, 'granite13binstructv2').rollout).to.equal(null);
    });

    it('sets Unschedulable for a model larger than any A100-40GB slice or the whole GPU', async () => {
      const huge = { ...spec(MODELS.granite), modelId: 'acme/huge-70b', weightsGiB: 140 };
      const { cluster, fn } = setup({ catalog: catalogWith(huge) });
      expect(await fn.onEvent(await received(cluster, 'acme/huge-70b'), h.ctx)).to.equal(undefined);
      expect(service(cluster, 'huge70b').condition).to.deep.include({ ready: false, reason: 'Unschedulable' });
      expect(service(cluster, 'huge70b').condition.message).to.include('acme/huge-70b needs');
    });
  });
});
