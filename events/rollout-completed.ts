/**
 * ssis.rollout.completed (secondary) — the new revision serves all traffic; the old one is gone.
 * Producer: rollout fn. Consumers: evaluate fn (ends the in-flight decision, starts the
 * stabilization window) and request fn dispatch stage (ends a pending cold start).
 */
export const ROLLOUT_COMPLETED = 'ssis.rollout.completed';

export interface RolloutCompleted {
  readonly decisionId: string;
  readonly service: string;
  readonly revision: string;
  readonly previousRevision: string | null;
  readonly profile: string;
  readonly replicas: number;
  readonly generation: number;
  /** Time from slice-reconfigured to all replicas ready. */
  readonly readyAfterMs: number;
  readonly completedAt: string;
}
