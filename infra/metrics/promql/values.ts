/** Values the evaluator passes around, and the evaluation settings. */
import type { Labels } from '../labels';

/**
 * Which Prometheus release to reproduce where they differ:
 * - 'prometheus-3': range windows and the lookback window are left-open, (t - d, t]; rate
 *   extrapolation caps the start at half a sample interval before applying the zero-point limit;
 *   histogram_quantile evens out float noise between buckets.
 * - 'prometheus-2' (e.g. Debian bookworm's 2.42): windows are closed, [t - d, t]; the zero-point
 *   limit is applied first.
 */
export type PrometheusCompatibility = 'prometheus-3' | 'prometheus-2';

export interface EvaluationSettings {
  /** How far back an instant selector looks for the latest sample (Prometheus default 5 min). */
  readonly lookbackDeltaMs: number;
  readonly compatibility: PrometheusCompatibility;
}

export interface VectorSample {
  readonly labels: Labels;
  readonly value: number;
}

export type Value =
  | { readonly type: 'scalar'; readonly value: number }
  | { readonly type: 'vector'; readonly samples: readonly VectorSample[] }
  | { readonly type: 'string'; readonly value: string };
