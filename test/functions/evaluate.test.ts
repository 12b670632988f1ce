/**
 * The evaluate function, called directly, with every service class set to the `ssis-ladder` policy
 * (evaluate-inferno.test.ts covers the default `inferno` policy): metrics-sampled → the ladder with the REAL
 * autoscaler-config and scaler settings of knative/configmaps.yaml → scale-decided; its memory is
 * fed by rollout-completed and placement-failed. The samples' placeable tiers come from a REAL
 * simulated cluster running gpt2 on one A100-40GB.
 */
import { expect } from 'chai';
import { servableTiers } from '../../core/scaling/cold-start';
import { placeableProfiles } from '../../core/scaling/placeability';
import { serviceNameFor } from '../../core/naming';
import type { SsisEvent } from '../../events/envelope';
import { METRICS_SAMPLED, type MeasuredLoad, type MetricsSampled, type SampledMetric } from '../../events/metrics-sampled';
import { PLACEMENT_FAILED } from '../../events/placement-failed';
import { ROLLOUT_COMPLETED } from '../../events/rollout-completed';
import { SCALE_DECIDED, type ScaleDecided } from '../../events/scale-decided';
import type { SimulatedCluster } from '../../infra/cluster/simulated';
import { buildEvaluateFunction } from '../../functions/evaluate/index';
import type { SsisFunction } from '../../functions/runtime/function';
import { A100, CONFIG, deploy, eventOf, harness, iso, MODELS, newCluster, spec, T0, type Harness } from './helpers';

const SAMPLE = '/ssis/functions/sample';
const BUSY: MeasuredLoad = { arrivalRatePerSec: 6, avgInputTokens: 12, avgOutputTokens: 20, requestsRunning: 8, requestsWaiting: 0, ttftMs: 40, itlMs: 25, kvCacheUsage: 0.2 };
const SEC = 1000;
const scaler = CONFIG.ssis.scaler;
/** The shipped ssis-config with every class on the ladder policy. */
const LADDER = { ...CONFIG.ssis, serviceClasses: CONFIG.ssis.serviceClasses.map((c) => ({ ...c, policy: 'ssis-ladder' as const })) };

describe('functions/evaluate (ssis-ladder policy)', () => {
  let h: Harness;
  let fn: SsisFunction;
  let cluster: SimulatedCluster;
  /** What the cluster can place next to the running gpt2 replica (1g.5gb@6 on one A100-40GB). */
  let placeable: Record<string, string[]>;

  before(async () => {
    cluster = newCluster(1);
    await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 1);
    placeable = Object.fromEntries([MODELS.gpt2, MODELS.llama1b].map((m) => [m, placeableProfiles(cluster.gpus(), A100, servableTiers(spec(m), A100))]));
  });
  after(async () => {
    await cluster.shutdown();
  });

  const build = (): SsisFunction => buildEvaluateFunction({ catalog: CONFIG.catalog, autoscalerConfig: () => CONFIG.autoscaler, config: LADDER, clock: h.clock, ids: h.ids });
  beforeEach(() => {
    h = harness('evaluate');
    fn = build();
  });

  function sample(o: { modelId?: string; generation?: number; profile?: string | null; replicas?: number; rolloutInProgress?: boolean; metrics: Record<string, number | null>; load?: MeasuredLoad }): SsisEvent<MetricsSampled> {
    const modelId = o.modelId ?? MODELS.gpt2;
    const svc = serviceNameFor(modelId);
    const generation = o.generation ?? 1;
    const profile = o.profile === undefined ? '1g.5gb' : o.profile;
    const replicas = o.replicas ?? (profile === null ? 0 : 1);
    const metrics: SampledMetric[] = Object.entries(o.metrics).map(([name, value]) => ({ name, value }));
    return eventOf(METRICS_SAMPLED, {
      service: svc,
      modelId,
      generation,
      revision: profile === null ? null : `${svc}-0000${generation}`,
      profile,
      gpuModel: profile === null ? null : A100,
      replicas,
      readyReplicas: replicas,
      rolloutInProgress: o.rolloutInProgress ?? false,
      windowSec: CONFIG.ssis.sampler.windowSec,
      sampledAt: iso(h.clock.nowMs()),
      metrics,
      load: o.load ?? BUSY,
      placeableProfiles: profile === null ? [] : placeable[modelId]!,
    }, SAMPLE, h);
  }

  function decision(ev: SsisEvent | undefined): ScaleDecided {
    expect(ev?.type, 'a scale-decided').to.equal(SCALE_DECIDED);
    return ev!.data as ScaleDecided;
  }

  const at = (ms: number): void => h.clock.set(T0 + ms);
  const completedEv = (decisionId: string, generation: number, profile: string): SsisEvent => eventOf(ROLLOUT_COMPLETED, {
    decisionId, service: 'gpt2', revision: `gpt2-0000${generation}`, previousRevision: null, profile, gpuModel: A100, replicas: 1, generation, readyAfterMs: 500, completedAt: iso(h.clock.nowMs()),
  }, '/ssis/functions/rollout', h);
  const failedEv = (decisionId: string, fromGeneration: number, profile: string): SsisEvent => eventOf(PLACEMENT_FAILED, {
    decisionId, service: 'gpt2', modelId: MODELS.gpt2, fromGeneration, requested: { profile, gpuModel: A100, replicas: 1 }, reason: '1 of 1 replica(s) unplaced', failedAt: iso(h.clock.nowMs()),
  }, '/ssis/functions/reconfigure', h);

  // gpt2's own rules: time per output token slo 0.012 s × 1.3333 up / × 0.6667 down; waiting 8 × 1.5 / × 0.5.
  const ABOVE = { time_per_output_token_seconds: 0.03, waiting_requests: 2 };
  const WITHIN = { time_per_output_token_seconds: 0.012, waiting_requests: 2 };
  const BELOW = { time_per_output_token_seconds: 0.005, waiting_requests: 0 };

  it('the real configuration is what these tests assume', () => {
    expect(placeable[MODELS.gpt2]).to.deep.equal(['1g.5gb', '2g.10gb', '3g.20gb', '4g.20gb']);
    expect(scaler).to.include({ minReplicas: 1, maxReplicas: 4, stabilizationWindowSec: 20, upCooldownSec: 8, pendingTimeoutSec: 180, placementBackoffSec: 30 });
    expect([...CONFIG.autoscaler.keys()]).to.deep.equal(['gpt2', 'default']);
  });

  it('a sample above the SLO emits scale-decided up one tier, from the sample’s generation, on its GPU model', async () => {
    at(5 * SEC);
    const ev = await fn.onEvent(sample({ generation: 3, metrics: ABOVE }), h.ctx);
    expect(ev).to.include({ id: 'evaluate-1', source: '/ssis/functions/evaluate', partitionkey: 'gpt2', time: iso(T0 + 5 * SEC) });
    const d = decision(ev);
    expect(d).to.deep.include({
      decisionId: 'gpt2-g3-up-2g.10gbx1',
      service: 'gpt2',
      modelId: MODELS.gpt2,
      action: 'up',
      policy: 'ssis-ladder',
      fromGeneration: 3,
      current: { profile: '1g.5gb', gpuModel: A100, replicas: 1 },
      target: { profile: '2g.10gb', gpuModel: A100, replicas: 1 },
      decidedAt: iso(T0 + 5 * SEC),
    });
    expect(d.reason).to.equal('above SLO (time_per_output_token_seconds=0.0300): 1g.5gb → 2g.10gb');
    expect(h.publisher.events, 'the decision is the reply').to.deep.equal([]);
  });

  it('decides nothing within the SLO band or without replicas (cold start is the ingress’s)', async () => {
    expect(await fn.onEvent(sample({ metrics: WITHIN }), h.ctx)).to.equal(undefined);
    expect(await fn.onEvent(sample({ profile: null, metrics: ABOVE }), h.ctx)).to.equal(undefined);
  });

  it('is deterministic: the same sample re-delivered after a restart gives the same decision; to the same instance it is pending', async () => {
    const ev = sample({ generation: 2, metrics: ABOVE });
    const first = decision(await fn.onEvent(ev, h.ctx));
    expect(await fn.onEvent(ev, h.ctx), 'same instance: the decision is in flight').to.equal(undefined);
    h = { ...h, ids: harness('evaluate').ids };
    const restarted = build();
    const again = decision(await restarted.onEvent(ev, h.ctx));
    expect(again).to.deep.equal(first);
    expect(again.decisionId).to.equal('gpt2-g2-up-2g.10gbx1');
  });

  it('decides nothing while its decision is pending: same generation, or a rollout in progress; then goes on', async () => {
    const d = decision(await fn.onEvent(sample({ generation: 1, metrics: ABOVE }), h.ctx));
    at(30 * SEC);
    expect(await fn.onEvent(sample({ generation: 1, metrics: ABOVE }), h.ctx), 'not applied yet').to.equal(undefined);
    expect(await fn.onEvent(sample({ generation: 2, rolloutInProgress: true, metrics: ABOVE }), h.ctx), 'rolling out').to.equal(undefined);
    // Applied (generation moved on, rollout over): the next step up is decided from the new tier.
    const next = decision(await fn.onEvent(sample({ generation: 2, profile: d.target.profile, metrics: ABOVE }), h.ctx));
    expect(next).to.deep.include({ decisionId: 'gpt2-g2-up-3g.20gbx1', fromGeneration: 2 });
  });

  it('forgets a decision that never completed after pendingTimeoutSec and decides it again (same id)', async () => {
    decision(await fn.onEvent(sample({ generation: 1, metrics: ABOVE }), h.ctx));
    at(scaler.pendingTimeoutSec * SEC - 1);
    expect(await fn.onEvent(sample({ generation: 1, metrics: ABOVE }), h.ctx)).to.equal(undefined);
    at(scaler.pendingTimeoutSec * SEC);
    expect(decision(await fn.onEvent(sample({ generation: 1, metrics: ABOVE }), h.ctx)).decisionId).to.equal('gpt2-g1-up-2g.10gbx1');
  });

  it('placement-failed backs that tier off: the next up decision skips it', async () => {
    const d = decision(await fn.onEvent(sample({ generation: 1, metrics: ABOVE }), h.ctx));
    at(1 * SEC);
    expect(await fn.onEvent(failedEv(d.decisionId, 1, '2g.10gb'), h.ctx)).to.equal(undefined);
    // After the up cooldown (from the decision) the failed decision is no longer pending; 2g.10gb is backed off.
    at(9 * SEC);
    const skip = decision(await fn.onEvent(sample({ generation: 2, metrics: ABOVE }), h.ctx));
    expect(skip).to.deep.include({ decisionId: 'gpt2-g2-up-3g.20gbx1', target: { profile: '3g.20gb', gpuModel: A100, replicas: 1 } });
    expect(await fn.onEvent(failedEv(skip.decisionId, 2, '3g.20gb'), h.ctx)).to.equal(undefined);
    // Both larger placeable tiers but 4g.20gb are backed off now.
    at(18 * SEC);
    expect(decision(await fn.onEvent(sample({ generation: 3, metrics: ABOVE }), h.ctx)).target.profile).to.equal('4g.20gb');
  });

  /** Each up decision fails in turn, its cooldown over before the next: 2g.10gb, 3g.20gb, 4g.20gb. */
  async function failEveryLargerTier(): Promise<void> {
    for (const [k, p] of ['2g.10gb', '3g.20gb', '4g.20gb'].entries()) {
      at(k * scaler.upCooldownSec * SEC);
      const up = decision(await fn.onEvent(sample({ generation: k + 1, metrics: ABOVE }), h.ctx));
      expect(up.target.profile).to.equal(p);
      await fn.onEvent(failedEv(up.decisionId, k + 1, p), h.ctx);
    }
  }

  it('placement-failed of every larger tier turns the next decision into a scale out', async () => {
    await failEveryLargerTier();
    at(3 * scaler.upCooldownSec * SEC);
    const out = decision(await fn.onEvent(sample({ generation: 4, metrics: ABOVE }), h.ctx));
    expect(out).to.deep.include({ decisionId: 'gpt2-g4-out-1g.5gbx2', action: 'out', target: { profile: '1g.5gb', gpuModel: A100, replicas: 2 } });
    expect(out.reason).to.include('no larger tier placeable');
    // Once the back-off of the first is over (and the scale out's cooldown), up is preferred again.
    at(Math.max(scaler.placementBackoffSec + 1, 4 * scaler.upCooldownSec) * SEC);
    const up = decision(await fn.onEvent(sample({ generation: 5, metrics: ABOVE }), h.ctx));
    expect(up.target.profile).to.equal('2g.10gb');
  });

  it('a placement-failed for a decision it did not make backs nothing off: a forged 10,000-replica scale out of the current tier, a cold start', async () => {
    const forged = eventOf(PLACEMENT_FAILED, {
      decisionId: 'gpt2-g1-out-1g.5gbx10000', service: 'gpt2', modelId: MODELS.gpt2, fromGeneration: 1,
      requested: { profile: '1g.5gb', gpuModel: A100, replicas: 10_000 }, reason: '9993 of 10000 1g.5gb replica(s) unplaced', failedAt: iso(h.clock.nowMs()),
    }, '/ssis/functions/reconfigure', h);
    expect(await fn.onEvent(forged, h.ctx)).to.equal(undefined);
    expect(await fn.onEvent(failedEv('gpt2-g0-cold-start', 0, '1g.5gb'), h.ctx)).to.equal(undefined);
    expect(h.logger.lines.filter((l) => l.msg === 'placement failed for a decision this evaluator did not make: no back-off')).to.have.length(2);
    // Its own up decisions fail in turn; the current tier was not backed off, so it still scales out on it.
    await failEveryLargerTier();
    at(3 * scaler.upCooldownSec * SEC);
    expect(decision(await fn.onEvent(sample({ generation: 4, metrics: ABOVE }), h.ctx))).to.deep.include({ action: 'out', target: { profile: '1g.5gb', gpuModel: A100, replicas: 2 } });
  });

  it('a placement-failed naming its own decision but another partition than it decided does not count: the decision stays in flight', async () => {
    const up = decision(await fn.onEvent(sample({ generation: 1, metrics: ABOVE }), h.ctx));
    expect(up.target.profile).to.equal('2g.10gb');
    await fn.onEvent(failedEv(up.decisionId, 1, '1g.5gb'), h.ctx);
    at(scaler.upCooldownSec * SEC);
    expect(await fn.onEvent(sample({ generation: 1, metrics: ABOVE }), h.ctx), 'still waiting for its decision').to.equal(undefined);
  });

  it('rollout-completed starts the up cooldown (upCooldownSec from completion, not from the decision)', async () => {
    const d = decision(await fn.onEvent(sample({ generation: 1, metrics: ABOVE }), h.ctx));
    at(20 * SEC);
    expect(await fn.onEvent(completedEv(d.decisionId, 2, '2g.10gb'), h.ctx)).to.equal(undefined);
    at(21 * SEC);
    expect(await fn.onEvent(sample({ generation: 2, profile: '2g.10gb', metrics: ABOVE }), h.ctx), 'cooling down').to.equal(undefined);
    at((20 + scaler.upCooldownSec) * SEC - 1);
    expect(await fn.onEvent(sample({ generation: 2, profile: '2g.10gb', metrics: ABOVE }), h.ctx), 'still cooling down').to.equal(undefined);
    at((20 + scaler.upCooldownSec) * SEC);
    expect(decision(await fn.onEvent(sample({ generation: 2, profile: '2g.10gb', metrics: ABOVE }), h.ctx)).decisionId).to.equal('gpt2-g2-up-3g.20gbx1');

    // Without the rollout-completed the cooldown runs from the decision: at 21 s it is long over.
    h = { ...h, ids: harness('evaluate').ids };
    const other = build();
    at(0);
    decision(await other.onEvent(sample({ generation: 1, metrics: ABOVE }), h.ctx));
    at(21 * SEC);
    expect(decision(await other.onEvent(sample({ generation: 2, profile: '2g.10gb', metrics: ABOVE }), h.ctx)).target.profile).to.equal('3g.20gb');
  });

  it('scales in only after the down condition held for the stabilization window', async () => {
    expect(await fn.onEvent(sample({ replicas: 2, metrics: BELOW }), h.ctx)).to.equal(undefined);
    at(scaler.stabilizationWindowSec * SEC - 1);
    expect(await fn.onEvent(sample({ replicas: 2, metrics: BELOW }), h.ctx)).to.equal(undefined);
    at(scaler.stabilizationWindowSec * SEC);
    const d = decision(await fn.onEvent(sample({ replicas: 2, metrics: BELOW }), h.ctx));
    expect(d).to.deep.include({ decisionId: 'gpt2-g1-in-1g.5gbx1', action: 'in', current: { profile: '1g.5gb', gpuModel: A100, replicas: 2 }, target: { profile: '1g.5gb', gpuModel: A100, replicas: 1 } });
  });

  describe('rules per service', () => {
    it('a service with no autoscaler-config key uses `default` (time_to_first_token_seconds counts, gpt2’s tighter TPOT bound does not)', async () => {
      // TPOT 0.03 s: above gpt2's bound (0.016) but inside default's band (0.025–0.075).
      expect(await fn.onEvent(sample({ modelId: MODELS.llama1b, metrics: { time_per_output_token_seconds: 0.03, time_to_first_token_seconds: 0.5, waiting_requests: 2 } }), h.ctx)).to.equal(undefined);
      // TTFT 2 s is above default's 1 s × 1.5.
      const d = decision(await fn.onEvent(sample({ modelId: MODELS.llama1b, metrics: { time_per_output_token_seconds: 0.03, time_to_first_token_seconds: 2, waiting_requests: 2 } }), h.ctx));
      expect(d).to.deep.include({ service: 'llama321binstruct', decisionId: 'llama321binstruct-g1-up-2g.10gbx1', target: { profile: '2g.10gb', gpuModel: A100, replicas: 1 } });
      expect(d.reason).to.include('time_to_first_token_seconds=2.00');
    });

    it('gpt2 uses its own key: TTFT is not one of its rules, TPOT 0.03 s is above its bound', async () => {
      expect(await fn.onEvent(sample({ metrics: { time_per_output_token_seconds: 0.012, time_to_first_token_seconds: 5, waiting_requests: 2 } }), h.ctx)).to.equal(undefined);
      expect(decision(await fn.onEvent(sample({ metrics: { time_per_output_token_seconds: 0.03, waiting_requests: 2 } }), h.ctx)).action).to.equal('up');
    });

    it('reads the autoscaler config on every sample (a ConfigMap change applies without a restart)', async () => {
      let config = CONFIG.autoscaler;
      const live = buildEvaluateFunction({ catalog: CONFIG.catalog, autoscalerConfig: () => config, config: LADDER, clock: h.clock, ids: h.ids });
      expect(await live.onEvent(sample({ metrics: WITHIN }), h.ctx)).to.equal(undefined);
      config = new Map([...CONFIG.autoscaler].map(([k, rules]) => [k, rules.map((r) => ({ ...r, slo: r.slo / 10 }))]));
      expect(decision(await live.onEvent(sample({ metrics: WITHIN }), h.ctx)).action).to.equal('up');
    });
  });
});
