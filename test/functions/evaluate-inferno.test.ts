/**
 * The evaluate function under its default policy, `inferno`, called directly with the REAL configuration
 * (knative/configmaps.yaml: service classes, SLOs, optimizer settings, scaler windows) and the inventory of
 * a REAL simulated cluster of two A100-40GB: metrics-sampled → the optimizer over every live service →
 * scale-decided with the target slice, replicas, batch size and predicted TTFT/ITL.
 */
import { expect } from 'chai';
import { sloOf, serviceClassOf } from '../../core/config/ssis-config';
import { gpuInventory } from '../../core/optimizer/cluster-system';
import { serviceNameFor } from '../../core/naming';
import type { SsisEvent } from '../../events/envelope';
import { METRICS_SAMPLED, type MeasuredLoad, type MetricsSampled } from '../../events/metrics-sampled';
import { PLACEMENT_FAILED } from '../../events/placement-failed';
import { ROLLOUT_COMPLETED } from '../../events/rollout-completed';
import { SCALE_DECIDED, type ScaleDecided } from '../../events/scale-decided';
import type { SimulatedCluster } from '../../infra/cluster/simulated';
import { buildEvaluateFunction, type EvaluateDeps } from '../../functions/evaluate/index';
import type { SsisFunction } from '../../functions/runtime/function';
import { A100, CONFIG, eventOf, harness, iso, MODELS, newCluster, T0, type Harness } from './helpers';

const SEC = 1000;
const LOW: MeasuredLoad = { arrivalRatePerSec: 0.5, avgInputTokens: 12, avgOutputTokens: 20, requestsRunning: 1, requestsWaiting: 0, ttftMs: 20, itlMs: 8, kvCacheUsage: 0.01 };
const HIGH: MeasuredLoad = { ...LOW, arrivalRatePerSec: 30, requestsRunning: 20, requestsWaiting: 4, itlMs: 15 };
const IDLE: MeasuredLoad = { ...LOW, arrivalRatePerSec: 0, requestsRunning: 0, ttftMs: null, itlMs: null };

describe('functions/evaluate (inferno policy, the default)', () => {
  let h: Harness;
  let fn: SsisFunction;
  let cluster: SimulatedCluster;
  const scaler = CONFIG.ssis.scaler;

  before(() => {
    cluster = newCluster(2);
  });
  after(async () => {
    await cluster.shutdown();
  });

  const build = (o: Partial<EvaluateDeps> = {}): SsisFunction =>
    buildEvaluateFunction({ catalog: CONFIG.catalog, autoscalerConfig: () => CONFIG.autoscaler, config: CONFIG.ssis, clock: h.clock, ids: h.ids, inventory: () => gpuInventory(cluster.gpus()), ...o });
  beforeEach(() => {
    h = harness('evaluate');
    fn = build();
  });
  const at = (ms: number): void => h.clock.set(T0 + ms);

  function sample(o: { modelId?: string; generation?: number; profile?: string | null; replicas?: number; load?: MeasuredLoad; rolloutInProgress?: boolean }): SsisEvent<MetricsSampled> {
    const modelId = o.modelId ?? MODELS.gpt2;
    const svc = serviceNameFor(modelId);
    const profile = o.profile === undefined ? '1g.5gb' : o.profile;
    const replicas = o.replicas ?? (profile === null ? 0 : 1);
    const generation = o.generation ?? 1;
    return eventOf(METRICS_SAMPLED, {
      service: svc, modelId, generation, revision: profile === null ? null : `${svc}-0000${generation}`, profile, gpuModel: profile === null ? null : A100,
      replicas, readyReplicas: replicas, rolloutInProgress: o.rolloutInProgress ?? false, windowSec: 20, sampledAt: iso(h.clock.nowMs()),
      metrics: [], load: o.load ?? LOW, placeableProfiles: [],
    }, '/ssis/functions/sample', h);
  }
  function decision(ev: SsisEvent | undefined): ScaleDecided {
    expect(ev?.type, 'a scale-decided').to.equal(SCALE_DECIDED);
    return ev!.data as ScaleDecided;
  }

  it('the shipped configuration puts gpt2 in the default class on the inferno policy with its 12 ms ITL SLO', () => {
    const cls = serviceClassOf(CONFIG.ssis, MODELS.gpt2);
    expect(cls).to.include({ name: 'default', policy: 'inferno', priority: 1 });
    expect(sloOf(cls, MODELS.gpt2)).to.deep.equal({ ttftMs: 1000, itlMs: 12 });
    expect(sloOf(cls, MODELS.llama8b)).to.deep.equal({ ttftMs: 1000, itlMs: 50 });
  });

  it('keeps gpt2 at low load on its 1g.5gb slice: already optimal, nothing to decide', async () => {
    expect(await fn.onEvent(sample({}), h.ctx)).to.equal(undefined);
    const note = h.logger.lines.find((l) => l.msg === 'inferno: no change');
    expect(String(note?.fields['note'])).to.match(/^optimal already: 1× 1g.5gb on A100-SXM4-40GB, batch \d+, predicted TTFT .* ITL .* \(SLOs predicted met\)/);
  });

  it('a placement-failed for a decision it did not make (a forged 10,000 replicas of its slice) does not back that slice off: gpt2 is not migrated for nothing', async () => {
    await fn.onEvent(eventOf(PLACEMENT_FAILED, {
      decisionId: 'gpt2-g1-out-1g.5gbx10000', service: 'gpt2', modelId: MODELS.gpt2, fromGeneration: 1,
      requested: { profile: '1g.5gb', gpuModel: A100, replicas: 10_000 }, reason: '9986 of 10000 1g.5gb replica(s) unplaced', failedAt: iso(h.clock.nowMs()),
    }, '/ssis/functions/reconfigure', h), h.ctx);
    at(1 * SEC);
    expect(await fn.onEvent(sample({}), h.ctx), 'still optimal on 1g.5gb').to.equal(undefined);
  });

  it('moves gpt2 at low load off a whole GPU onto a 1g slice, with predicted TTFT/ITL within the SLOs, after the stabilization window', async () => {
    const onGpu = sample({ generation: 4, profile: 'gpu' });
    expect(await fn.onEvent(onGpu, h.ctx), 'cheaper: stabilize first').to.equal(undefined);
    at((scaler.stabilizationWindowSec - 1) * SEC);
    expect(await fn.onEvent(sample({ generation: 4, profile: 'gpu' }), h.ctx)).to.equal(undefined);
    at(scaler.stabilizationWindowSec * SEC);
    const d = decision(await fn.onEvent(sample({ generation: 4, profile: 'gpu' }), h.ctx));
    expect(d).to.deep.include({
      decisionId: 'gpt2-g4-down-1g.5gbx1', policy: 'inferno', action: 'down', fromGeneration: 4,
      current: { profile: 'gpu', gpuModel: A100, replicas: 1 },
    });
    expect(d.target).to.include({ profile: '1g.5gb', gpuModel: A100, replicas: 1 });
    expect(d.target.maxBatchSize).to.be.a('number').and.at.least(1);
    expect(d.predicted!.itlMs).to.be.above(0).and.at.most(12);
    expect(d.predicted!.ttftMs).to.be.above(0).and.at.most(1000);
    expect(d.reason).to.match(/^inferno: 1× gpu → 1× 1g.5gb on A100-SXM4-40GB/);
  });

  it('scales up at once under high load, to an allocation predicted to meet the SLOs', async () => {
    const d = decision(await fn.onEvent(sample({ generation: 2, load: HIGH }), h.ctx));
    expect(d.policy).to.equal('inferno');
    expect(['up', 'out']).to.include(d.action);
    expect(d.predicted!.itlMs).to.be.at.most(12);
    expect(d.target.replicas * (d.target.profile === '1g.5gb' ? 1 : 2)).to.be.above(1);
    expect(d.decisionId).to.equal(`gpt2-g2-${d.action}-${d.target.profile}x${d.target.replicas}`);
    // In flight: the same generation decides nothing more; rollout-completed then starts the cooldown.
    expect(await fn.onEvent(sample({ generation: 2, load: HIGH }), h.ctx)).to.equal(undefined);
    await fn.onEvent(eventOf(ROLLOUT_COMPLETED, {
      decisionId: d.decisionId, service: 'gpt2', revision: 'gpt2-00003', previousRevision: 'gpt2-00002', profile: d.target.profile, gpuModel: A100, replicas: d.target.replicas, generation: 3, readyAfterMs: 500, completedAt: iso(h.clock.nowMs()),
    }, '/ssis/functions/rollout', h), h.ctx);
    expect(await fn.onEvent(sample({ generation: 3, load: { ...HIGH, arrivalRatePerSec: 60 }, profile: d.target.profile, replicas: d.target.replicas }), h.ctx), 'cooling down').to.equal(undefined);
  });

  it('re-delivered samples give the same decision id (idempotent downstream)', async () => {
    const ev = sample({ generation: 7, load: HIGH });
    const first = decision(await fn.onEvent(ev, h.ctx));
    h = { ...h, ids: harness('evaluate').ids };
    expect(decision(await build().onEvent(ev, h.ctx)).decisionId).to.equal(first.decisionId);
  });

  it('backs off a partition whose placement failed: the next decision picks another', async () => {
    const first = decision(await fn.onEvent(sample({ generation: 2, load: HIGH }), h.ctx));
    await fn.onEvent(eventOf(PLACEMENT_FAILED, {
      decisionId: first.decisionId, service: 'gpt2', modelId: MODELS.gpt2, fromGeneration: 2, requested: { profile: first.target.profile, gpuModel: A100, replicas: first.target.replicas }, reason: 'no room', failedAt: iso(h.clock.nowMs()),
    }, '/ssis/functions/reconfigure', h), h.ctx);
    at(scaler.upCooldownSec * SEC);
    const second = decision(await fn.onEvent(sample({ generation: 3, load: HIGH }), h.ctx));
    expect(second.target.profile).to.not.equal(first.target.profile);
  });

  it('optimizes jointly: a busy Llama-3-8B sampled earlier holds GPUs that gpt2’s decision cannot use', async () => {
    // Alone on two A100s gpt2 under HIGH takes its cheapest SLO-meeting allocation; with Llama taking
    // both GPUs whole, nothing is left: the policy keeps gpt2 as it is rather than overcommit.
    const llama = { ...HIGH, arrivalRatePerSec: 3, avgInputTokens: 512, avgOutputTokens: 256 };
    await fn.onEvent(sample({ modelId: MODELS.llama8b, profile: 'gpu', replicas: 2, load: llama }), h.ctx);
    expect(await fn.onEvent(sample({ generation: 2, load: HIGH }), h.ctx)).to.equal(undefined);
    const note = h.logger.lines.filter((l) => l.msg === 'inferno: no change').at(-1);
    expect(String(note?.fields['note'])).to.match(/no allocation meets the SLOs within capacity/);
  });

  it('an idle service shrinks to the cheapest slice that holds it, after the window', async () => {
    await fn.onEvent(sample({ generation: 5, profile: '3g.20gb', load: IDLE }), h.ctx);
    at(scaler.stabilizationWindowSec * SEC);
    const d = decision(await fn.onEvent(sample({ generation: 5, profile: '3g.20gb', load: IDLE }), h.ctx));
    expect(d.target).to.include({ profile: '1g.5gb', replicas: 1 });
  });

  it('policyOverride runs the ladder instead (what-if replays)', async () => {
    const ladder = build({ policyOverride: 'ssis-ladder' });
    const ev = await ladder.onEvent(sample({ generation: 2, load: HIGH }), h.ctx);
    expect(ev, 'no ladder metrics in this sample: the ladder holds').to.equal(undefined);
  });
});
