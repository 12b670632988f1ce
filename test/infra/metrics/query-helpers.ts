/** Shortcuts for evaluator tests: build a store from promqltest-style series and query it. */
import { SsisError } from '../../../core/errors';
import type { MetricsQueryEngine, VectorElement } from '../../../core/ports/metrics-source';
import { createLocalQueryEngine, type LocalQueryEngineOptions } from '../../../infra/metrics/query-engine';
import { createSeriesStore } from '../../../infra/metrics/series-store';
import { loadSeries } from './load-series';

export const SECOND = 1000;

export function engineFor(stepMs: number, series: Readonly<Record<string, string>>, options: LocalQueryEngineOptions = {}): MetricsQueryEngine {
  const store = createSeriesStore({ retentionMs: 3_600_000 });
  loadSeries(store, stepMs, series);
  return createLocalQueryEngine(store, options);
}

export async function vectorAt(engine: MetricsQueryEngine, query: string, atMs: number): Promise<readonly VectorElement[]> {
  const result = await engine.query(query, atMs);
  if (result.resultType !== 'vector') throw new Error(`${query} returned a scalar`);
  return result.result;
}

/** The value of the only element of the result; fails when there is not exactly one. */
export async function valueAt(engine: MetricsQueryEngine, query: string, atMs: number): Promise<number> {
  const result = await engine.query(query, atMs);
  if (result.resultType === 'scalar') return result.value;
  const [only, ...rest] = result.result;
  if (!only || rest.length > 0) throw new Error(`${query} returned ${result.result.length} elements`);
  return only.value;
}

export async function queryError(engine: MetricsQueryEngine, query: string, atMs = 0): Promise<SsisError> {
  try {
    await engine.query(query, atMs);
  } catch (err) {
    if (err instanceof SsisError) return err;
    throw err;
  }
  throw new Error(`expected ${query} to fail`);
}
