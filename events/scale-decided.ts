/**
 * ssis.scale.decided — a decision to move a service to a tier and replica count.
 * Producers: evaluate fn (policies), request fn dispatch stage (cold start 0 → 1).
 * Consumer: reconfigure fn. Partition key: the model service.
 * Idempotency: `decisionId` is unique per decision; `fromGeneration` is the service generation it
 * was computed from, so a duplicate or stale decision is recognised and ignored.
 */
export const SCALE_DECIDED = 'ssis.scale.decided';

export type ScaleAction = 'cold-start' | 'up' | 'down' | 'out' | 'in';
export type ScalePolicy = 'cold-start' | 'ssis-ladder' | 'inferno';

export interface Allocation {
  /** MIG profile name, `gpu` for a full GPU, or null at zero replicas. */
  readonly profile: string | null;
  readonly replicas: number;
}

export interface ScaleDecided {
  readonly decisionId: string;
  readonly service: string;
  readonly modelId: string;
  readonly action: ScaleAction;
  readonly policy: ScalePolicy;
  readonly fromGeneration: number;
  readonly current: Allocation;
  readonly target: Allocation & { readonly profile: string; readonly maxBatchSize?: number };
  readonly reason: string;
  readonly predicted?: { readonly ttftMs: number; readonly itlMs: number };
  readonly decidedAt: string;
}
