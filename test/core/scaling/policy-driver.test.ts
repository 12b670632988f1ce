/**
 * The evaluate stage's driving logic on its own: the settings it derives from the REAL shipped
 * configuration, its decision ids, the memory it keeps per service and the outcomes it feeds back.
 * functions/evaluate and the simulator's policies both run it; their own tests cover the wiring.
 */
import { expect } from 'chai';
import { rulesFor } from '../../../core/config/autoscaler-config';
import { optimizeCluster, optimizerSettings, type ClusterSolution } from '../../../core/optimizer/cluster-system';
import { backedOffPartitions, infernoBackoffKey } from '../../../core/scaling/inferno-policy';
import { createPolicyDriver, decisionIdOf, infernoSettingsFor, ladderSettingsFor, type PolicyDriver } from '../../../core/scaling/policy-driver';
import type { LoadMeasurement, ServiceSample } from '../../../core/scaling/service-sample';
import { A100, CONFIG, MODELS } from '../../functions/helpers';

const DEPS = { catalog: CONFIG.catalog, config: CONFIG.ssis, autoscalerConfig: () => CONFIG.autoscaler };
const scaler = CONFIG.ssis.scaler;
const SEC = 1000;
const HIGH: LoadMeasurement = { arrivalRatePerSec: 30, avgInputTokens: 12, avgOutputTokens: 20, requestsRunning: 20, requestsWaiting: 4, ttftMs: 40, itlMs: 15, kvCacheUsage: 0.2 };

function sample(o: Partial<ServiceSample> = {}): ServiceSample {
  return {
    service: 'gpt2', modelId: MODELS.gpt2, generation: 2, profile: '1g.5gb', gpuModel: A100, replicas: 1, rolloutInProgress: false,
    metrics: [], load: HIGH, placeableProfiles: [], ...o,
  };
}

/** The joint optimization over one service on two A100s, as the evaluate function would run it. */
function solveFor(driver: PolicyDriver, s: ServiceSample, nowMs: number): ClusterSolution {
  const cs = driver.clusterService(s, { serviceClass: 'default', nowMs });
  return optimizeCluster({
    catalog: CONFIG.catalog,
    gpus: new Map([[A100, 2]]),
    services: cs ? [cs] : [],
    classes: [{ name: 'default', priority: 1, sloFor: () => ({ ttftMs: 1000, itlMs: 12 }) }],
    ...optimizerSettings(CONFIG.ssis.optimizer),
  });
}

describe('core/scaling/policy-driver', () => {
  it('derives the policies’ settings from the ssis-config, seconds as milliseconds', () => {
    const ladder = ladderSettingsFor(DEPS, sample());
    expect(ladder).to.deep.include({
      minReplicas: scaler.minReplicas, maxReplicas: scaler.maxReplicas, stabilizationWindowMs: scaler.stabilizationWindowSec * SEC, upCooldownMs: scaler.upCooldownSec * SEC,
      pendingTimeoutMs: scaler.pendingTimeoutSec * SEC, placementBackoffMs: scaler.placementBackoffSec * SEC, scaleToZeroAfterMs: scaler.scaleToZeroAfterSec * SEC,
    });
    expect(ladder.tiers[0], 'the smallest tier gpt2 can run on').to.equal('1g.5gb');
    expect(ladder.rules.length, 'the shipped autoscaler-config rules').to.be.above(0);
    expect(ladderSettingsFor(DEPS, sample({ gpuModel: null })).tiers, 'no tiers without a GPU model').to.deep.equal([]);
    expect(infernoSettingsFor(CONFIG.ssis)).to.deep.equal({
      stabilizationWindowMs: scaler.stabilizationWindowSec * SEC, upCooldownMs: scaler.upCooldownSec * SEC, pendingTimeoutMs: scaler.pendingTimeoutSec * SEC,
    });
  });

  it('names a decision from the sample: the GPU model only when the target moves to another', () => {
    const s = sample({ generation: 7 });
    expect(decisionIdOf(s, 'out', { gpuModel: A100, profile: '1g.5gb', replicas: 2 })).to.equal('gpt2-g7-out-1g.5gbx2');
    expect(decisionIdOf(s, 'up', { gpuModel: 'H100-SXM5-80GB', profile: '1g.10gb', replicas: 1 })).to.equal('gpt2-g7-up-1g.10gb@H100-SXM5-80GBx1');
  });

  it('records a ladder decision as in flight: the same generation decides nothing more until it lands', () => {
    const driver = createPolicyDriver(DEPS);
    const busy = sample({ metrics: rulesFor(CONFIG.autoscaler, 'gpt2').map((r) => ({ name: r.name, value: r.slo * r.scaleUpFactor * 2 })), placeableProfiles: ['1g.5gb', '2g.10gb'] });
    const first = driver.ladder(busy, 0);
    expect(first.decision).to.deep.include({ decisionId: 'gpt2-g2-up-2g.10gbx1', policy: 'ssis-ladder', action: 'up', target: { profile: '2g.10gb', gpuModel: A100, replicas: 1 } });
    expect(driver.memoryOf('gpt2').pending).to.deep.equal({ decisionId: 'gpt2-g2-up-2g.10gbx1', fromGeneration: 2, sinceMs: 0 });
    const again = driver.ladder(busy, 1 * SEC);
    expect(again).to.deep.equal({ decision: null, note: 'waiting for decision gpt2-g2-up-2g.10gbx1' });
    driver.rolloutCompleted('gpt2', 'gpt2-g2-up-2g.10gbx1', 2 * SEC);
    expect(driver.memoryOf('gpt2')).to.include({ pending: null, lastChangeMs: 2 * SEC });
  });

  it('solves for the inferno policy only when the service holds replicas, and keeps its memory when the solve fails', () => {
    const driver = createPolicyDriver(DEPS);
    let solves = 0;
    expect(driver.inferno(sample({ replicas: 0, profile: null, gpuModel: null }), 0, () => { solves++; return null; })).to.equal(null);
    expect(solves, 'nothing to re-plan at zero replicas').to.equal(0);

    const s = sample();
    const d = driver.inferno(s, 0, () => solveFor(driver, s, 0))!.decision!;
    expect(d.policy).to.equal('inferno');
    expect(d.decisionId).to.equal(decisionIdOf(s, d.action, d.target));
    expect(d.target.maxBatchSize).to.be.a('number');
    expect(d.predicted!.itlMs).to.be.at.most(12);
    expect(driver.memoryOf('gpt2').pending?.decisionId).to.equal(d.decisionId);
    // The next generation would settle the decision in flight, but not when the optimization could not run.
    expect(driver.inferno(sample({ generation: 3 }), 1 * SEC, () => null)).to.equal(null);
    expect(driver.memoryOf('gpt2').pending?.decisionId).to.equal(d.decisionId);
  });

  it('backs a failed placement off for both policies and clears the decision in flight', () => {
    const driver = createPolicyDriver(DEPS);
    const s = sample();
    const d = driver.inferno(s, 0, () => solveFor(driver, s, 0))!.decision!;
    driver.placementFailed({ service: 'gpt2', modelId: MODELS.gpt2, decisionId: d.decisionId, gpuModel: A100, profile: d.target.profile }, 1 * SEC);
    const memory = driver.memoryOf('gpt2');
    const until = 1 * SEC + scaler.placementBackoffSec * SEC;
    expect(memory.pending).to.equal(null);
    expect(memory.backoffUntilMs).to.deep.equal({ [d.target.profile]: until, [infernoBackoffKey(A100, d.target.profile)]: until });
    expect(backedOffPartitions(memory, 2 * SEC)).to.deep.equal([{ gpuModel: A100, profile: d.target.profile }]);
    expect(driver.clusterService(s, { serviceClass: 'default', nowMs: 2 * SEC })).to.deep.include({
      minReplicas: scaler.minReplicas, maxReplicas: scaler.maxReplicas, excluded: [{ gpuModel: A100, profile: d.target.profile }],
    });
  });

  it('takes a placement failure only for its own latest decision on the partition it decided: a cold start, a forged decision or another partition back nothing off', () => {
    const driver = createPolicyDriver(DEPS);
    const failure = (decisionId: string, profile: string) => ({ service: 'gpt2', modelId: MODELS.gpt2, decisionId, gpuModel: A100, profile });
    expect(driver.placementFailed(failure('gpt2-g0-cold-start', '1g.5gb'), 0), 'a cold start (the request function’s)').to.equal(false);
    expect(driver.placementFailed(failure('gpt2-g2-out-1g.5gbx10000', '1g.5gb'), 0), 'a decision nobody here made').to.equal(false);
    const s = sample();
    const d = driver.inferno(s, 0, () => solveFor(driver, s, 0))!.decision!;
    const other = d.target.profile === '1g.5gb' ? '2g.10gb' : '1g.5gb';
    expect(driver.placementFailed(failure(d.decisionId, other), 1 * SEC), 'its decision, another partition').to.equal(false);
    expect(driver.memoryOf('gpt2')).to.deep.include({ backoffUntilMs: {} });
    expect(driver.memoryOf('gpt2').pending?.decisionId, 'still in flight').to.equal(d.decisionId);
    expect(driver.placementFailed(failure(d.decisionId, d.target.profile), 1 * SEC)).to.equal(true);
    expect(Object.keys(driver.memoryOf('gpt2').backoffUntilMs)).to.have.members([d.target.profile, infernoBackoffKey(A100, d.target.profile)]);
  });
});
