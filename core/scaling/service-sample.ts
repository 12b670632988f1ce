/**
 * What the scaling policies read about one service at one sampling tick: the allocation it holds,
 * the autoscaler-config metrics and the load measured over the window. The metrics-sampled event
 * carries this shape on the wire (with the facts only observers need), and the simulator builds it
 * in virtual time, so both feed the policies the same record.
 */

/** One autoscaler-config metric, read over the sampling window. */
export interface MetricReading {
  /** Name from the autoscaler-config entry. */
  readonly name: string;
  /** null when the query returned no series or NaN (e.g. no traffic in the window). */
  readonly value: number | null;
}

/** Load and latency as measured over the window; the optimizer's input. */
export interface LoadMeasurement {
  /** Completions per second: vLLM counts a request when it finishes (see demandRatePerSec). */
  readonly arrivalRatePerSec: number;
  readonly avgInputTokens: number;
  readonly avgOutputTokens: number;
  /** Summed over the service's replicas. */
  readonly requestsRunning: number;
  readonly requestsWaiting: number;
  readonly ttftMs: number | null;
  readonly itlMs: number | null;
  /** Fraction 0–1 (vllm:kv_cache_usage_perc is a fraction despite its name). */
  readonly kvCacheUsage: number | null;
}

export interface ServiceSample {
  readonly service: string;
  readonly modelId: string;
  /** Generation of the service the sample observed; decisions carry it back (idempotency). */
  readonly generation: number;
  /** Current tier: a MIG profile name (e.g. `1g.5gb`), `gpu` for a full GPU, or null at zero replicas. */
  readonly profile: string | null;
  readonly gpuModel: string | null;
  readonly replicas: number;
  readonly rolloutInProgress: boolean;
  readonly metrics: readonly MetricReading[];
  readonly load: LoadMeasurement;
  /** Tiers a new replica of this service could be placed on right now (free slots that fit). */
  readonly placeableProfiles: readonly string[];
}

/** The allocation a sample says the service holds; null at zero replicas (nothing to re-plan). */
export function heldAllocation(s: ServiceSample): { readonly gpuModel: string; readonly profile: string; readonly replicas: number } | null {
  if (s.replicas === 0 || s.profile === null || s.gpuModel === null) return null;
  return { gpuModel: s.gpuModel, profile: s.profile, replicas: s.replicas };
}
