import { expect } from 'chai';
import type { ModelCatalog } from '../../core/catalog/model-catalog';
import { parseAutoscalerConfig } from '../../core/config/autoscaler-config';
import { parseSsisConfig } from '../../core/config/ssis-config';
import { stepTimeMs } from '../../core/perf/iteration-model';
import { staticGpuPolicy } from '../../sim/policies/static-gpu';
import { parseScenario } from '../../sim/scenario';
import { simulate } from '../../sim/simulator';

/**
 * One replica with batch size 1 and fixed tokens is an M/D/1 queue: service time S is the sum of
 * its steps (one prefill step, then out−1 decode steps), and Pollaczek–Khinchine gives the mean
 * wait W = ρS / (2(1−ρ)). The simulated mean JCT must be within 5 % of W + S at moderate load.
 */
describe('sim validity: one replica against the closed-form queue', () => {
  const params = { alphaMs: 10, betaMsPerToken: 0.05, gammaMsPerKvToken: 0.001 };
  const catalog: ModelCatalog = new Map([['m', {
    modelId: 'm', weightsGiB: 2, kvBytesPerToken: 32768, maxModelLen: 4096, maxBatchSize: 1, runtimeOverheadGiB: 0.5, gpuMemoryUtilization: 0.9,
    loadSeconds: 1, defaultMaxNewTokens: 64, perf: { 'A100-SXM4-40GB': params },
  }]]);
  const input = 500;
  const output = 50;
  let serviceMs = stepTimeMs(params, { prefillTokens: input, prefillKvTokens: input, decodeRequests: 0, decodeKvTokens: 0 });
  for (let g = 1; g < output; g++) serviceMs += stepTimeMs(params, { prefillTokens: 0, prefillKvTokens: 0, decodeRequests: 1, decodeKvTokens: input + g });

  for (const rho of [0.5, 0.7]) {
    it(`M/D/1 at ρ = ${rho}: mean JCT within 5 % of Pollaczek–Khinchine`, () => {
      const ratePerSec = (rho * 1000) / serviceMs;
      const scenario = parseScenario({
        name: 'md1', seed: 5, durationSec: Math.round(60_000 / ratePerSec), cluster: { gpus: [{ model: 'A100-SXM4-40GB', count: 1 }] },
        services: [{ name: 's', model: 'm', slo: { ttftMs: 1000, itlMs: 100 } }],
        workload: [{ kind: 'gamma', name: 'poisson', services: ['s'], ratePerSec, cv: 1, inputTokens: { mean: input }, outputTokens: { mean: output } }],
      });
      const result = simulate({ scenario, catalog, config: parseSsisConfig({}), autoscaler: parseAutoscalerConfig({}), traces: {}, policy: staticGpuPolicy() });
      const waitMs = (rho * serviceMs) / (2 * (1 - rho));
      const expected = waitMs + serviceMs;
      expect(result.completed).to.be.greaterThan(50_000);
      expect(Math.abs(result.jct.mean - expected) / expected, `simulated ${result.jct.mean.toFixed(1)} ms vs closed form ${expected.toFixed(1)} ms`).to.be.lessThan(0.05);
    });
  }
});
