/** What a scaling decision asks of a service: how it moves and the allocation it moves to. */

/**
 * `cold-start` gives a service at zero its first replica; `up`/`down` change the tier (or the GPU
 * model), `out`/`in` the replica count on the same tier.
 */
export type ScaleAction = 'cold-start' | 'up' | 'down' | 'out' | 'in';

export interface ScaleTarget {
  /** MIG profile name, or `gpu` for a full GPU. */
  readonly profile: string;
  /** GPU model the profile belongs to (profile names repeat across models, e.g. 1g.10gb). */
  readonly gpuModel: string;
  readonly replicas: number;
  /** Engine batch size for the new replicas, where the policy sized it (the optimizer does). */
  readonly maxBatchSize?: number;
}

/** Latencies the optimizer predicts for a service at its target allocation. */
export interface PredictedLatency {
  readonly ttftMs: number;
  readonly itlMs: number;
}
