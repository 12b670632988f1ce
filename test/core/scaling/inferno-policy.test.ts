/** The inferno policy's pure parts: the demand it sizes for, the service it hands the optimizer, its guards. */
import { expect } from 'chai';
import type { ClusterTarget } from '../../../core/optimizer/cluster-system';
import { backedOffPartitions, clusterServiceOf, demandRatePerSec, infernoBackoffKey, infernoStep } from '../../../core/scaling/inferno-policy';
import { EMPTY_MEMORY } from '../../../core/scaling/ladder';
import type { ServiceSample } from '../../../core/scaling/service-sample';

const A100 = 'A100-SXM4-40GB';
const SAMPLE: ServiceSample = {
  service: 'gpt2', modelId: 'openai-community/gpt2', generation: 3, profile: '1g.5gb', gpuModel: A100, replicas: 1, rolloutInProgress: false, metrics: [],
  load: { arrivalRatePerSec: 4, avgInputTokens: 100, avgOutputTokens: 50, requestsRunning: 10, requestsWaiting: 40, ttftMs: 900, itlMs: 20, kvCacheUsage: 0.5 },
  placeableProfiles: [],
};
const target = (o: Partial<ClusterTarget>): ClusterTarget => ({
  service: 'gpt2', gpuModel: A100, profile: '2g.10gb', kind: 'mig', replicas: 1, requiredReplicas: 1, maxBatchSize: 32, predictedTtftMs: 100, predictedItlMs: 9, costCentsPerHour: 80 / 7, sloMet: true, ...o,
});
const SETTINGS = { stabilizationWindowMs: 20_000, upCooldownMs: 8_000, pendingTimeoutMs: 180_000 };

describe('core/scaling/inferno-policy', () => {
  it('sizes for the completion rate plus the backlog cleared within the drain time', () => {
    expect(demandRatePerSec(SAMPLE.load, 20)).to.equal(4 + 40 / 20);
    expect(demandRatePerSec(SAMPLE.load, 0), '0 = completions only (WVA’s reading)').to.equal(4);
    const cs = clusterServiceOf(SAMPLE, { serviceClass: 'default', minReplicas: 1, maxReplicas: 4, memory: EMPTY_MEMORY, nowMs: 0, backlogDrainSec: 20 })!;
    expect(cs).to.deep.include({ service: 'gpt2', arrivalRatePerSec: 6, avgInputTokens: 100, avgOutputTokens: 50, current: { gpuModel: A100, profile: '1g.5gb', replicas: 1 }, excluded: [] });
    expect(clusterServiceOf({ ...SAMPLE, replicas: 0, profile: null, gpuModel: null }, { serviceClass: 'd', minReplicas: 1, maxReplicas: 4, memory: EMPTY_MEMORY, nowMs: 0, backlogDrainSec: 20 })).to.equal(null);
  });

  it('leaves out partitions backed off until later, and only those', () => {
    const memory = { ...EMPTY_MEMORY, backoffUntilMs: { [infernoBackoffKey(A100, '2g.10gb')]: 5_000, [infernoBackoffKey(A100, '3g.20gb')]: 1_000, '2g.10gb': 9_000 } };
    expect(backedOffPartitions(memory, 2_000)).to.deep.equal([{ gpuModel: A100, profile: '2g.10gb' }]);
  });

  it('acts on more capacity at once, on less only after the stabilization window, on the same not at all', () => {
    const cur = 40 / 7;
    const up = infernoStep(SETTINGS, EMPTY_MEMORY, SAMPLE, { target: target({}), currentCostCentsPerHour: cur }, 0);
    expect(up.decision).to.deep.include({ action: 'up', target: { gpuModel: A100, profile: '2g.10gb', replicas: 1, maxBatchSize: 32 }, predicted: { ttftMs: 100, itlMs: 9 } });
    const out = infernoStep(SETTINGS, EMPTY_MEMORY, SAMPLE, { target: target({ profile: '1g.5gb', replicas: 2, costCentsPerHour: 2 * cur }), currentCostCentsPerHour: cur }, 0);
    expect(out.decision?.action).to.equal('out');
    const onGpu = { ...SAMPLE, profile: 'gpu' };
    const first = infernoStep(SETTINGS, EMPTY_MEMORY, onGpu, { target: target({ profile: '1g.5gb', costCentsPerHour: cur }), currentCostCentsPerHour: 40 }, 0);
    expect(first.decision).to.equal(null);
    expect(first.note).to.match(/^cheaper allocation proposed for 0s, stabilizing/);
    const later = infernoStep(SETTINGS, first.memory, onGpu, { target: target({ profile: '1g.5gb', costCentsPerHour: cur }), currentCostCentsPerHour: 40 }, 20_000);
    expect(later.decision?.action).to.equal('down');
    const same = infernoStep(SETTINGS, EMPTY_MEMORY, SAMPLE, { target: target({ profile: '1g.5gb', costCentsPerHour: cur }), currentCostCentsPerHour: cur }, 0);
    expect(same.decision).to.equal(null);
    expect(same.note).to.match(/^optimal already/);
  });

  it('holds during the cooldown, a pending decision, a rollout, and when nothing meets the SLOs', () => {
    const p = { target: target({}), currentCostCentsPerHour: 40 / 7 };
    expect(infernoStep(SETTINGS, { ...EMPTY_MEMORY, lastChangeMs: 0 }, SAMPLE, p, 5_000).note).to.equal('cooling down after the last change');
    expect(infernoStep(SETTINGS, { ...EMPTY_MEMORY, pending: { decisionId: 'd1', fromGeneration: 3, sinceMs: 0 } }, SAMPLE, p, 5_000).note).to.equal('waiting for decision d1');
    expect(infernoStep(SETTINGS, EMPTY_MEMORY, { ...SAMPLE, rolloutInProgress: true }, p, 0).note).to.equal('rollout in progress');
    expect(infernoStep(SETTINGS, EMPTY_MEMORY, SAMPLE, { target: null, currentCostCentsPerHour: 1 }, 0).note).to.match(/^no allocation meets the SLOs/);
  });
});
