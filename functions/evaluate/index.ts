/**
 * The evaluate function: metrics-sampled → the service's policy → scale-decided.
 * Policy `ssis-ladder` (the SSIS reference's tier ladder with its gaps fixed, core/scaling/ladder).
 * It keeps one LadderMemory per service (stabilization, in-flight decision, back-offs), fed by
 * every sample and by the outcomes of its decisions (rollout-completed, placement-failed).
 */
import type { ModelCatalog } from '../../core/catalog/model-catalog';
import type { Clock, IdSource } from '../../core/common/ports';
import { rulesFor, type AutoscalerConfig } from '../../core/config/autoscaler-config';
import type { SsisConfig } from '../../core/config/ssis-config';
import { servableTiers } from '../../core/scaling/cold-start';
import {
  EMPTY_MEMORY, ladderOnDecision, ladderOnPlacementFailed, ladderOnRolloutCompleted, ladderStep, type LadderMemory, type LadderSettings,
} from '../../core/scaling/ladder';
import { createEvent } from '../../events/create';
import type { SsisEvent } from '../../events/envelope';
import { METRICS_SAMPLED, type MetricsSampled } from '../../events/metrics-sampled';
import { PLACEMENT_FAILED, type PlacementFailed } from '../../events/placement-failed';
import { ROLLOUT_COMPLETED, type RolloutCompleted } from '../../events/rollout-completed';
import { SCALE_DECIDED, type ScaleDecided } from '../../events/scale-decided';
import type { SsisFunction } from '../runtime/function';

export interface EvaluateDeps {
  readonly catalog: ModelCatalog;
  /** Read on every sample, like the reference re-reads its ConfigMap on every evaluation. */
  readonly autoscalerConfig: () => AutoscalerConfig;
  readonly config: SsisConfig;
  readonly clock: Clock;
  readonly ids: IdSource;
}

const SOURCE = '/ssis/functions/evaluate';

export function ladderSettingsFor(deps: EvaluateDeps, sample: MetricsSampled): LadderSettings {
  const spec = deps.catalog.get(sample.modelId);
  const s = deps.config.scaler;
  return {
    rules: rulesFor(deps.autoscalerConfig(), sample.service),
    tiers: spec && sample.gpuModel ? servableTiers(spec, sample.gpuModel) : [],
    minReplicas: s.minReplicas,
    maxReplicas: s.maxReplicas,
    stabilizationWindowMs: s.stabilizationWindowSec * 1000,
    upCooldownMs: s.upCooldownSec * 1000,
    pendingTimeoutMs: s.pendingTimeoutSec * 1000,
    placementBackoffMs: s.placementBackoffSec * 1000,
    scaleToZeroAfterMs: s.scaleToZeroAfterSec * 1000,
  };
}

export function buildEvaluateFunction(deps: EvaluateDeps): SsisFunction {
  const memories = new Map<string, LadderMemory>();
  const memoryOf = (service: string): LadderMemory => memories.get(service) ?? EMPTY_MEMORY;

  function onEvent(event: SsisEvent): Promise<SsisEvent | undefined> {
    return Promise.resolve().then(() => evaluate(event));
  }

  function evaluate(event: SsisEvent): SsisEvent | undefined {
    const now = deps.clock.nowMs();
    if (event.type === ROLLOUT_COMPLETED) {
      const d = event.data as RolloutCompleted;
      memories.set(d.service, ladderOnRolloutCompleted(memoryOf(d.service), d.decisionId, now));
      return undefined;
    }
    if (event.type === PLACEMENT_FAILED) {
      const d = event.data as PlacementFailed;
      const sample = { modelId: d.modelId, service: d.service, gpuModel: d.requested.gpuModel } as MetricsSampled;
      memories.set(d.service, ladderOnPlacementFailed(ladderSettingsFor(deps, sample), memoryOf(d.service), d.decisionId, d.requested.profile, now));
      return undefined;
    }
    const sample = event.data as MetricsSampled;
    const settings = ladderSettingsFor(deps, sample);
    const step = ladderStep(settings, memoryOf(sample.service), sample, now);
    memories.set(sample.service, step.memory);
    if (!step.decision || !sample.gpuModel) return undefined;
    const d = step.decision;
    // Deterministic id: re-delivering the same sample yields the same decision, recognised downstream.
    const decisionId = `${sample.service}-g${sample.generation}-${d.action}-${d.target.profile}x${d.target.replicas}`;
    memories.set(sample.service, ladderOnDecision(step.memory, decisionId, sample.generation, now));
    const decision: ScaleDecided = {
      decisionId,
      service: sample.service,
      modelId: sample.modelId,
      action: d.action,
      policy: 'ssis-ladder',
      fromGeneration: sample.generation,
      current: { profile: sample.profile, gpuModel: sample.gpuModel, replicas: sample.replicas },
      target: { profile: d.target.profile, gpuModel: sample.gpuModel, replicas: d.target.replicas },
      reason: d.reason,
      decidedAt: new Date(now).toISOString(),
    };
    return createEvent(SCALE_DECIDED, decision, { source: SOURCE, clock: deps.clock, ids: deps.ids });
  }

  return { name: 'evaluate', handles: [METRICS_SAMPLED, ROLLOUT_COMPLETED, PLACEMENT_FAILED], onEvent };
}
