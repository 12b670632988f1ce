/**
 * The metrics port over Prometheus' HTTP API: each instant query is one POST to /api/v1/query
 * (form-encoded, so long autoscaler queries never meet a URL length limit) with `time` in
 * seconds at millisecond precision, and the answer is mapped by query-answer.ts.
 *
 * refresh() does nothing: Prometheus scrapes on its own schedule and a query at `atMs` reads the
 * latest scrape of each target at or before it (at most one scrape interval old), which is what
 * the sample function in a cluster sees too. Waiting for a scrape past `atMs` would delay every
 * tick by up to a scrape interval and still not make Prometheus' timestamps equal anyone else's.
 * Prometheus stamps samples with its own clock, so callers must pass wall-clock times.
 */
import { SsisError } from '../../core/errors';
import type { MetricsSource, QueryResult } from '../../core/ports/metrics-source';
import { invalidQuery, notPrometheus, resultFromAnswer, unreachable, type QueryContext } from './query-answer';

export interface PrometheusSourceOptions {
  /** Prometheus' base URL, e.g. http://127.0.0.1:9090 or http://prometheus.monitoring:9090/prom (a path prefix is kept). */
  readonly url: string;
  /** The whole exchange, connect to last byte; also sent as the query's evaluation `timeout` (default 5 s). */
  readonly timeoutMs?: number;
  /** Largest answer read; a query over more series than this holds should be aggregated (default 4 MiB). */
  readonly maxResponseBytes?: number;
}

export const DEFAULT_QUERY_TIMEOUT_MS = 5_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** @throws {SsisError} SSIS_INVALID_CONFIG when the URL or a bound is unusable */
export function createPrometheusSource(opts: PrometheusSourceOptions): MetricsSource {
  const { endpoint, shown } = queryEndpoint(opts.url);
  const timeoutMs = positive(opts.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS, 'timeoutMs');
  const maxResponseBytes = positive(opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES, 'maxResponseBytes');

  async function query(promql: string, atMs: number): Promise<QueryResult> {
    if (!Number.isFinite(atMs)) {
      throw new SsisError('SSIS_INVALID_REQUEST', `query time must be a finite number of ms, got ${atMs}`, { issues: [{ field: 'atMs', message: 'must be a finite number' }] });
    }
    const ctx: QueryContext = { query: promql, url: shown };
    const form = new URLSearchParams({ query: promql, time: (atMs / 1000).toFixed(3), timeout: `${Math.ceil(timeoutMs)}ms` });
    let res: Response;
    let text: string;
    try {
      res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
      text = await readBounded(res, maxResponseBytes, ctx);
    } catch (err) {
      if (err instanceof SsisError) throw err;
      const timedOut = err instanceof DOMException && err.name === 'TimeoutError';
      throw unreachable(ctx, timedOut ? `no answer within ${timeoutMs} ms` : describe(err));
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      // 5xx pages of a proxy in front of Prometheus are HTML: still "unavailable for now".
      if (res.status >= 500 || res.status === 429) throw unreachable(ctx, `HTTP ${res.status}`);
      throw notPrometheus(ctx, `HTTP ${res.status} and a body that is not JSON`, res.status);
    }
    return resultFromAnswer(ctx, res.status, body);
  }

  return {
    query,
    refresh: () => Promise.resolve(),
  };
}

/** Reads the body as UTF-8, refusing more than `limit` bytes (the declared length is checked first). */
async function readBounded(res: Response, limit: number, ctx: QueryContext): Promise<string> {
  const tooBig = (): SsisError => invalidQuery(ctx, `the answer is larger than ${limit} bytes; aggregate the query (sum by, topk) so that it returns fewer series`);
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) {
    await res.body?.cancel();
    throw tooBig();
  }
  if (!res.body) return '';
  // Node types fetch bodies loosely; undici yields bytes.
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooBig();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The query endpoint, and the base URL as errors show it (without any user:password). */
function queryEndpoint(url: string): { endpoint: string; shown: string } {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new SsisError('SSIS_INVALID_CONFIG', `Prometheus URL ${JSON.stringify(url)} is not a URL`, { issues: [{ field: 'prometheusUrl', message: 'not a URL' }] });
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new SsisError('SSIS_INVALID_CONFIG', `Prometheus URL ${url} must be http or https`, { issues: [{ field: 'prometheusUrl', message: `unsupported protocol ${base.protocol}` }] });
  }
  const shown = `${base.origin}${base.pathname.replace(/\/+$/, '')}`;
  return { endpoint: `${shown}/api/v1/query`, shown };
}

function positive(n: number, field: string): number {
  if (!(n > 0) || !Number.isFinite(n)) {
    throw new SsisError('SSIS_INVALID_CONFIG', `${field} must be a positive number, got ${n}`, { issues: [{ field, message: 'must be > 0' }] });
  }
  return n;
}

function describe(err: unknown): string {
  // fetch wraps the socket error (ECONNREFUSED, ENOTFOUND) in `cause`.
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err instanceof Error ? err.message : String(err)}${cause}`;
}
