/**
 * A service's sample as functions/sample publishes it: the autoscaler-config metrics answered
 * from the interval's window and the replicas' gauges, the load summary, and (when the policy
 * needs it) which tiers could be placed now.
 */
import { revisionName } from '../../core/naming';
import { servableTiers } from '../../core/scaling/cold-start';
import type { MetricsSampled, SampledMetric } from '../../events/metrics-sampled';
import type { SimMetricKind } from '../metric-queries';
import type { Simulation } from './context';
import { servingReplicas, type ServiceRuntime } from './runtime';

export function sampleService(sim: Simulation, s: ServiceRuntime, t: number): MetricsSampled {
  const w = s.w;
  const windowSec = sim.policy.intervalSec ?? sim.scenario.delays.metricIntervalSec;
  let running = 0;
  let waiting = 0;
  let kv = 0;
  let engines = 0;
  for (const r of s.replicas) {
    if (r.phase === 'starting') continue;
    running += r.engine.runningCount;
    waiting += r.engine.waitingCount;
    kv += r.engine.kvCacheUsage;
    engines++;
  }
  const mean = (sum: number, n: number): number | null => (n > 0 ? sum / n : null);
  const value = (kind: SimMetricKind): number | null => {
    switch (kind) {
      case 'tpot-sec': return mean(w.tpotSumMs / 1000, w.tpotCount);
      case 'itl-sec': return mean(w.itlSumMs / 1000, w.itlCount);
      case 'ttft-sec': return mean(w.ttftSumMs / 1000, w.ttftCount);
      case 'e2e-sec': return mean(w.e2eSumMs / 1000, w.completions);
      case 'queue-sec': return mean(w.queueSumMs / 1000, w.completions);
      case 'waiting': return engines > 0 ? waiting : null;
      case 'running': return engines > 0 ? running : null;
      case 'kv-usage': return mean(kv, engines);
    }
  };
  const metrics: SampledMetric[] = s.rules.map((r) => ({ name: r.name, value: value(r.kind) }));
  const serving = servingReplicas(s);
  const placeableProfiles = sim.policy.needsPlaceability && s.gpuModel
    ? servableTiers(s.model, s.gpuModel).filter((p) => sim.cluster.placeable(s.gpuModel!, p))
    : [];
  return {
    service: s.spec.name,
    modelId: s.model.modelId,
    generation: s.generation,
    revision: s.profile === null ? null : revisionName(s.spec.name, s.generation),
    profile: serving.length > 0 ? s.profile : null,
    gpuModel: s.gpuModel,
    replicas: serving.length,
    readyReplicas: serving.filter((r) => r.phase === 'ready').length,
    rolloutInProgress: s.rollout !== null,
    windowSec,
    sampledAt: new Date(t).toISOString(),
    metrics,
    load: {
      arrivalRatePerSec: w.completions / windowSec,
      avgInputTokens: w.completions > 0 ? w.inputTokens / w.completions : 0,
      avgOutputTokens: w.completions > 0 ? w.outputTokens / w.completions : 0,
      requestsRunning: running,
      requestsWaiting: waiting,
      ttftMs: mean(w.ttftSumMs, w.ttftCount),
      itlMs: mean(w.itlSumMs, w.itlCount),
      kvCacheUsage: engines > 0 ? Math.min(1, kv / engines) : null,
    },
    placeableProfiles,
  };
}
