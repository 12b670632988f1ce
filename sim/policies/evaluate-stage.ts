/**
 * The evaluate stage as the simulator runs it: core/scaling/policy-driver, the driving logic the
 * evaluate function runs (settings, memories, decision ids, outcomes fed back), over the run's
 * catalog and configuration. Its decisions become the simulator's scale commands.
 */
import { SsisError } from '../../core/errors';
import { createPolicyDriver, type PolicyDecision, type PolicyDriver } from '../../core/scaling/policy-driver';
import type { PolicyContext, ScaleCommand } from './port';

export interface SimEvaluateStage {
  /** The driver, made on the first call: the simulator hands a policy the same context for the whole run. */
  driver(ctx: PolicyContext): PolicyDriver;
  /** The driver already made, for the callbacks that carry no context. */
  made(): PolicyDriver;
}

export function simEvaluateStage(): SimEvaluateStage {
  let made: PolicyDriver | null = null;
  return {
    driver: (ctx) => (made ??= createPolicyDriver({ catalog: ctx.catalog, config: ctx.config, autoscalerConfig: () => ctx.autoscaler })),
    made() {
      // Rollouts come only from this policy's decisions, so decide() has made the driver by then.
      if (made === null) throw new SsisError('SSIS_INTERNAL', 'a rollout completed before the policy decided anything');
      return made;
    },
  };
}

export function scaleCommandOf(service: string, d: PolicyDecision): ScaleCommand {
  const { gpuModel, profile, replicas, maxBatchSize } = d.target;
  return { service, gpuModel, profile, replicas, ...(maxBatchSize === undefined ? {} : { maxBatch: maxBatchSize }), decisionId: d.decisionId, reason: d.reason };
}
