/**
 * The metrics port: instant PromQL queries, answered in the shape of Prometheus' /api/v1/query so
 * that a Prometheus HTTP adapter maps 1:1 onto it. The embedded adapter scrapes the replicas
 * itself and evaluates PromQL in-process (infra/metrics/).
 */

/** A series' labels, `__name__` included where the series has a metric name. */
export type Labels = Readonly<Record<string, string>>;

export interface VectorElement {
  readonly metric: Labels;
  readonly value: number;
}

export type QueryResult =
  | { readonly resultType: 'vector'; readonly result: readonly VectorElement[] }
  | { readonly resultType: 'scalar'; readonly value: number };

export interface MetricsQueryEngine {
  /** Evaluates an instant query at atMs (ms since the epoch). Rejects with SsisError('SSIS_INVALID_CONFIG') for a bad query. */
  query(promql: string, atMs: number): Promise<QueryResult>;
}

export interface MetricsSource extends MetricsQueryEngine {
  /** Brings the data up to `atMs` (a scrape here; nothing for Prometheus, which scrapes itself). */
  refresh(atMs: number): Promise<void>;
}

/**
 * The one number a query stands for: the value of a scalar, or of a one-element vector; null for
 * an empty vector (no series matched, or none had a sample in the window). NaN is passed through
 * (e.g. increase/increase over a window without requests is 0/0), so callers can tell "no data"
 * from "no traffic". When a vector has several elements the last one wins, the SSIS reference's
 * rule; the order is the local engine's (selectors sorted by label set) or Prometheus', which is
 * not guaranteed, so write queries that aggregate to one series.
 */
export function scalarOf(result: QueryResult): number | null {
  if (result.resultType === 'scalar') return result.value;
  const last = result.result[result.result.length - 1];
  return last === undefined ? null : last.value;
}
