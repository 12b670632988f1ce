/**
 * The in-process PromQL engine behind the metrics port (core/ports/metrics-source.ts):
 * `createLocalQueryEngine` answers instant queries from the embedded series store with
 * Prometheus semantics.
 */
import { SsisError, asSsisError } from '../../core/errors';
import type { Expr } from './promql/ast';
import { evaluateInstant } from './promql/evaluator';
import { describeType, parsePromql, typeOf } from './promql/parser';
import type { PrometheusCompatibility } from './promql/values';
import type { SeriesSource } from './series-store';
import type { MetricsQueryEngine, QueryResult } from '../../core/ports/metrics-source';

export type { PrometheusCompatibility } from './promql/values';

export interface LocalQueryEngineOptions {
  /** Instant selectors take the latest sample no older than this (default 5 min, Prometheus' --query.lookback-delta). */
  readonly lookbackDeltaMs?: number;
  /** Which Prometheus release to match where they differ (default 'prometheus-3'); see PrometheusCompatibility. */
  readonly compatibility?: PrometheusCompatibility;
  /** How many parsed queries to keep (autoscaler queries repeat every tick; default 256). */
  readonly parseCacheSize?: number;
}

export const DEFAULT_LOOKBACK_DELTA_MS = 5 * 60_000;

export function createLocalQueryEngine(source: SeriesSource, options: LocalQueryEngineOptions = {}): MetricsQueryEngine {
  const lookbackDeltaMs = options.lookbackDeltaMs ?? DEFAULT_LOOKBACK_DELTA_MS;
  if (!(lookbackDeltaMs > 0) || !Number.isFinite(lookbackDeltaMs)) {
    throw new SsisError('SSIS_INVALID_CONFIG', 'lookback delta must be a positive number of ms', {
      issues: [{ field: 'lookbackDeltaMs', message: `must be > 0, got ${lookbackDeltaMs}` }],
    });
  }
  const settings = { lookbackDeltaMs, compatibility: options.compatibility ?? 'prometheus-3' } as const;
  const parse = cachedParser(options.parseCacheSize ?? 256);

  function run(promql: string, atMs: number): QueryResult {
    if (!Number.isFinite(atMs)) {
      throw new SsisError('SSIS_INVALID_REQUEST', `query time must be a finite number of ms, got ${atMs}`, { issues: [{ field: 'atMs', message: 'must be a finite number' }] });
    }
    const expr = parse(promql);
    const value = evaluateInstant(expr, atMs, source, settings);
    if (value.type === 'scalar') return { resultType: 'scalar', value: value.value };
    if (value.type === 'vector') return { resultType: 'vector', result: value.samples.map((s) => ({ metric: s.labels, value: s.value })) };
    throw new SsisError('SSIS_INVALID_CONFIG', 'PromQL query must evaluate to an instant vector or a scalar', { issues: [{ field: 'query', message: `got ${value.type}` }] });
  }

  return {
    query(promql, atMs) {
      try {
        return Promise.resolve(run(promql, atMs));
      } catch (err) {
        return Promise.reject(asSsisError(err));
      }
    },
  };
}

/** Parses once per distinct query text; also refuses queries whose result is not a vector or scalar. */
function cachedParser(capacity: number): (promql: string) => Expr {
  const cache = new Map<string, Expr>();
  return (promql) => {
    const cached = cache.get(promql);
    if (cached) {
      // Re-insert so the map's order is least-recently-used first.
      cache.delete(promql);
      cache.set(promql, cached);
      return cached;
    }
    const expr = parsePromql(promql);
    const type = typeOf(expr);
    if (type !== 'vector' && type !== 'scalar') {
      throw new SsisError('SSIS_INVALID_CONFIG', `PromQL query must evaluate to an instant vector or a scalar, not a ${describeType(type)}`, {
        issues: [{ field: 'query', message: `the query is a ${describeType(type)}; an instant vector or a scalar is needed` }],
        details: { query: promql },
      });
    }
    cache.set(promql, expr);
    if (cache.size > capacity) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
    return expr;
  };
}

/** Checks a query's syntax and result type without evaluating it (for validating configuration up front). */
export function validatePromql(promql: string): void {
  cachedParser(1)(promql);
}
