/**
 * PromQL failures. A query comes from configuration (the autoscaler-config ConfigMap), so a query
 * that does not parse, or that cannot be evaluated as written (say, a vector match that needs
 * group_left), is SSIS_INVALID_CONFIG with the issue on the `query` field.
 */
import { SsisError } from '../../../core/errors';

/** A syntax or type error at a 0-based character position of the query. */
export function promqlSyntaxError(query: string, message: string, position: number): SsisError {
  const located = `${message} at position ${position}`;
  return new SsisError('SSIS_INVALID_CONFIG', `invalid PromQL query ${JSON.stringify(query)}: ${located}`, {
    issues: [{ field: 'query', message: located }],
    details: { query, position },
  });
}

/** A query that parses but cannot be evaluated on the data at hand (Prometheus' "execution error"). */
export function promqlExecutionError(message: string): SsisError {
  return new SsisError('SSIS_INVALID_CONFIG', `PromQL execution error: ${message}`, {
    issues: [{ field: 'query', message }],
  });
}
