/**
 * Reads the JSON that Prometheus' /api/v1/query answers with and maps it onto the metrics port's
 * QueryResult, or onto the error catalogue. Kept apart from the HTTP exchange so that the mapping
 * is checked on exact bodies without a server.
 *
 * Prometheus writes sample values as strings (Go's strconv formatting: "1.5e-05", "NaN", "+Inf",
 * "-Inf"), so they go through the same Go-float parser as the exposition format.
 */
import { SsisError } from '../../core/errors';
import type { QueryResult, VectorElement } from '../../core/ports/metrics-source';
import { parseGoFloat } from '../metrics/float-syntax';

/** The query, for errors: which configured query failed, and on which Prometheus. */
export interface QueryContext {
  readonly query: string;
  readonly url: string;
}

/** Error types Prometheus reports for a query that is wrong as written (or on the data at hand). */
const QUERY_FAULTS = new Set(['bad_data', 'execution']);

/** Not an answer of Prometheus' API (a proxy's error page, another service on that port): retried, it may be transient. */
export function notPrometheus(ctx: QueryContext, why: string, status?: number): SsisError {
  return new SsisError('SSIS_METRICS_UNAVAILABLE', `Prometheus at ${ctx.url} answered query ${JSON.stringify(ctx.query)} with ${why}`, {
    details: { query: ctx.query, url: ctx.url, ...(status === undefined ? {} : { status }) },
  });
}

export function unreachable(ctx: QueryContext, why: string): SsisError {
  return new SsisError('SSIS_METRICS_UNAVAILABLE', `Prometheus at ${ctx.url} could not answer query ${JSON.stringify(ctx.query)}: ${why}`, {
    details: { query: ctx.query, url: ctx.url },
  });
}

/** A query that Prometheus refuses: the configuration holding it is at fault, as with the local engine. */
export function invalidQuery(ctx: QueryContext, message: string, errorType?: string): SsisError {
  return new SsisError('SSIS_INVALID_CONFIG', `Prometheus refused PromQL query ${JSON.stringify(ctx.query)}: ${message}`, {
    issues: [{ field: 'query', message }],
    details: { query: ctx.query, url: ctx.url, ...(errorType === undefined ? {} : { errorType }) },
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Maps one answer (HTTP status and parsed JSON body) to a result.
 * @throws {SsisError} SSIS_INVALID_CONFIG for a query Prometheus refuses (bad_data, execution) or
 * whose result is not an instant vector or a scalar; SSIS_METRICS_UNAVAILABLE for 5xx, 429 and
 * timeouts, or a body that is not Prometheus' API
 */
export function resultFromAnswer(ctx: QueryContext, status: number, body: unknown): QueryResult {
  if (!isObject(body) || (body['status'] !== 'success' && body['status'] !== 'error')) {
    throw notPrometheus(ctx, `HTTP ${status} and a body that is not Prometheus' API JSON`, status);
  }
  if (body['status'] === 'error') {
    const errorType = typeof body['errorType'] === 'string' ? body['errorType'] : 'unknown';
    const message = typeof body['error'] === 'string' ? body['error'] : 'no message';
    // timeout, canceled, internal, unavailable: Prometheus' own trouble, which passes.
    if (QUERY_FAULTS.has(errorType) && status < 500) throw invalidQuery(ctx, message, errorType);
    throw unreachable(ctx, `${errorType} (HTTP ${status}): ${message}`);
  }
  if (status < 200 || status > 299) throw notPrometheus(ctx, `HTTP ${status} and status "success"`, status);
  const data = body['data'];
  if (!isObject(data)) throw notPrometheus(ctx, 'a success without data');
  switch (data['resultType']) {
    case 'scalar':
      return { resultType: 'scalar', value: sampleValue(ctx, data['result']) };
    case 'vector': {
      const result = data['result'];
      if (!Array.isArray(result)) throw notPrometheus(ctx, 'a vector whose result is not a list');
      return { resultType: 'vector', result: result.map((e) => vectorElement(ctx, e)) };
    }
    case 'matrix':
    case 'string':
      throw invalidQuery(ctx, `the query is a ${data['resultType'] === 'matrix' ? 'range vector' : 'string'}; an instant vector or a scalar is needed`);
    default:
      throw notPrometheus(ctx, `an unknown resultType ${JSON.stringify(data['resultType'])}`);
  }
}

function vectorElement(ctx: QueryContext, e: unknown): VectorElement {
  if (!isObject(e) || !isObject(e['metric'])) throw notPrometheus(ctx, 'a vector element without labels');
  if (e['value'] === undefined && e['histogram'] !== undefined) {
    // Native histograms (a feature flag in Prometheus 2.x) have no float to carry on the port.
    throw invalidQuery(ctx, 'the query returns native histogram samples; query their float series (e.g. histogram_count, histogram_sum) instead');
  }
  const metric: Record<string, string> = {};
  for (const [name, value] of Object.entries(e['metric'])) {
    if (typeof value !== 'string') throw notPrometheus(ctx, `a label ${name} whose value is not a string`);
    metric[name] = value;
  }
  return { metric, value: sampleValue(ctx, e['value']) };
}

/** A sample is `[<unix seconds>, "<value>"]`; the timestamp is the query's own time, so only the value matters. */
function sampleValue(ctx: QueryContext, sample: unknown): number {
  if (!Array.isArray(sample) || sample.length !== 2 || typeof sample[0] !== 'number' || typeof sample[1] !== 'string') {
    throw notPrometheus(ctx, `a sample that is not [time, "value"]: ${JSON.stringify(sample)?.slice(0, 80)}`);
  }
  const value = parseGoFloat(sample[1]);
  if (value === undefined) throw notPrometheus(ctx, `a sample value that is not a float: ${JSON.stringify(sample[1])}`);
  return value;
}
