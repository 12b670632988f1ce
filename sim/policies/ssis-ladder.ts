/**
 * (d) The SSIS tier ladder (core/scaling/ladder), driven exactly as functions/evaluate drives it:
 * the same settings (ladderSettingsFor), one LadderMemory per service fed with every sample, the
 * same deterministic decision ids, and the outcomes fed back (rollout completed, placement
 * failed). The initial replica is the ingress's cold-start choice (core/scaling/cold-start).
 */
import type { Clock } from '../../core/common/ports';
import { sequentialIds } from '../../core/common/ports';
import { EMPTY_MEMORY, ladderOnDecision, ladderOnPlacementFailed, ladderOnRolloutCompleted, ladderStep, type LadderMemory } from '../../core/scaling/ladder';
import type { MetricsSampled } from '../../events/metrics-sampled';
import { ladderSettingsFor, type EvaluateDeps } from '../../functions/evaluate/index';
import { coldStartAllocations } from './cold-start';
import type { PolicyContext, ScaleCommand, SimPolicy } from './port';

export function ladderPolicy(intervalSec: number): SimPolicy {
  const memories = new Map<string, LadderMemory>();
  let now = 0;
  const clock: Clock = { nowMs: () => now };
  const deps = (ctx: PolicyContext): EvaluateDeps => ({ catalog: ctx.catalog, autoscalerConfig: () => ctx.autoscaler, config: ctx.config, clock, ids: sequentialIds('sim') });
  const memoryOf = (service: string): LadderMemory => memories.get(service) ?? EMPTY_MEMORY;
  return {
    id: 'd',
    title: 'SSIS tier ladder',
    intervalSec,
    needsPlaceability: true,
    initial: coldStartAllocations,
    decide(ctx, samples, nowMs) {
      now = nowMs;
      const d = deps(ctx);
      const out: ScaleCommand[] = [];
      for (const sample of samples) {
        const step = ladderStep(ladderSettingsFor(d, sample), memoryOf(sample.service), sample, nowMs);
        memories.set(sample.service, step.memory);
        if (!step.decision || !sample.gpuModel) continue;
        const decision = step.decision;
        // The evaluate function's id: re-delivery of the same sample gives the same decision.
        const decisionId = `${sample.service}-g${sample.generation}-${decision.action}-${decision.target.profile}x${decision.target.replicas}`;
        memories.set(sample.service, ladderOnDecision(step.memory, decisionId, sample.generation, nowMs));
        out.push({ service: sample.service, gpuModel: sample.gpuModel, profile: decision.target.profile, replicas: decision.target.replicas, decisionId, reason: decision.reason });
      }
      return out;
    },
    onRolloutCompleted(service, decisionId, nowMs) {
      memories.set(service, ladderOnRolloutCompleted(memoryOf(service), decisionId, nowMs));
    },
    onPlacementFailed(ctx, service, decisionId, gpuModel, profile, nowMs) {
      const sample = { modelId: ctx.spec(service).modelId, service, gpuModel } as MetricsSampled;
      memories.set(service, ladderOnPlacementFailed(ladderSettingsFor(deps(ctx), sample), memoryOf(service), decisionId, profile, nowMs));
    },
  };
}
