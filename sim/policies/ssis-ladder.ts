/**
 * (d) The SSIS tier ladder (core/scaling/ladder), driven by the same code as functions/evaluate
 * drives it (core/scaling/policy-driver): the same settings, one LadderMemory per service fed with
 * every sample, the same deterministic decision ids, and the outcomes fed back (rollout completed,
 * placement failed). The initial replica is the ingress's cold-start choice (core/scaling/cold-start).
 */
import { coldStartAllocations } from './cold-start';
import { scaleCommandOf, simEvaluateStage } from './evaluate-stage';
import type { ScaleCommand, SimPolicy } from './port';

export function ladderPolicy(intervalSec: number): SimPolicy {
  const stage = simEvaluateStage();
  return {
    id: 'ssis-ladder',
    title: 'SSIS tier ladder',
    intervalSec,
    needsPlaceability: true,
    initial: coldStartAllocations,
    decide(ctx, samples, nowMs) {
      const driver = stage.driver(ctx);
      const out: ScaleCommand[] = [];
      for (const sample of samples) {
        const { decision } = driver.ladder(sample, nowMs);
        if (decision) out.push(scaleCommandOf(sample.service, decision));
      }
      return out;
    },
    onRolloutCompleted(service, decisionId, nowMs) {
      stage.made().rolloutCompleted(service, decisionId, nowMs);
    },
    onPlacementFailed(ctx, service, decisionId, gpuModel, profile, nowMs) {
      stage.driver(ctx).placementFailed({ service, modelId: ctx.spec(service).modelId, decisionId, gpuModel, profile }, nowMs);
    },
  };
}
