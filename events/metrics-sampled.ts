/**
 * ssis.metrics.sampled — one service's metrics at one sampling tick.
 * Producer: sample fn. Consumer: evaluate fn. Partition key: the model service.
 */
export const METRICS_SAMPLED = 'ssis.metrics.sampled';

export interface SampledMetric {
  /** Name from the autoscaler-config entry. */
  readonly name: string;
  /** null when the query returned no series or NaN (e.g. no traffic in the window). */
  readonly value: number | null;
}

/** Load and latency as measured over the window; the optimizer's input. */
export interface MeasuredLoad {
  readonly arrivalRatePerSec: number;
  readonly avgInputTokens: number;
  readonly avgOutputTokens: number;
  readonly requestsRunning: number;
  readonly requestsWaiting: number;
  readonly ttftMs: number | null;
  readonly itlMs: number | null;
  readonly kvCacheUsage: number | null;
}

export interface MetricsSampled {
  readonly service: string;
  readonly modelId: string;
  /** Generation of the service the sample observed; decisions carry it back (idempotency). */
  readonly generation: number;
  readonly revision: string | null;
  /** Current tier: a MIG profile name (e.g. `1g.5gb`), `gpu` for a full GPU, or null at zero replicas. */
  readonly profile: string | null;
  readonly gpuModel: string | null;
  readonly replicas: number;
  readonly readyReplicas: number;
  readonly rolloutInProgress: boolean;
  readonly windowSec: number;
  readonly sampledAt: string;
  readonly metrics: readonly SampledMetric[];
  readonly load: MeasuredLoad;
  /** Tiers a new replica of this service could be placed on right now (free slots that fit). */
  readonly placeableProfiles: readonly string[];
}
