/**
 * The one error catalogue (ARCHITECTURE.md "Principles"). Every failure that crosses a boundary is
 * an SsisError with a stable `code`, a `retriable` flag that alone decides retry versus dead letter,
 * an `httpStatus` kept apart from the code, and the offending field(s) when the input was at fault.
 * docs/errors.md lists every code; a test keeps the two in step.
 */

/** One problem found while validating input: where (a JSON-pointer-like path) and what. */
export interface FieldIssue {
  readonly field: string;
  readonly message: string;
}

export const ERROR_CATALOG = {
  SSIS_INVALID_REQUEST: { httpStatus: 400, retriable: false, summary: 'An inference request body is malformed; `issues` names each bad field.' },
  SSIS_INVALID_EVENT: { httpStatus: 400, retriable: false, summary: 'A CloudEvent is malformed or its data does not match the schema of its type.' },
  SSIS_UNSUPPORTED_EVENT_TYPE: { httpStatus: 400, retriable: false, summary: 'A function received a CloudEvent type it does not handle.' },
  SSIS_INVALID_CONFIG: { httpStatus: 500, retriable: false, summary: 'A configuration file, ConfigMap or manifest is invalid; `issues` names each bad field.' },
  SSIS_UNKNOWN_MODEL: { httpStatus: 404, retriable: false, summary: 'The requested model is not in the model catalog.' },
  SSIS_GEOMETRY_VIOLATION: { httpStatus: 400, retriable: false, summary: 'A MIG layout breaks the GPU geometry (overlapping slots, unknown profile, start not allowed).' },
  SSIS_PLACEMENT_INFEASIBLE: { httpStatus: 409, retriable: false, summary: 'No GPU can host the requested slice; the demand is reported unmet, never dropped.' },
  SSIS_REPARTITION_FAILED: { httpStatus: 409, retriable: false, summary: 'A node could not be repartitioned: the GPU operator\'s mig-manager reported `nvidia.com/mig.config.state=failed`, or no success within the bound; the decision ends with placement-failed.' },
  SSIS_STALE_DECISION: { httpStatus: 409, retriable: false, summary: 'A decision was computed from an older generation of the service and is ignored.' },
  SSIS_CAPACITY_TIMEOUT: { httpStatus: 503, retriable: true, summary: 'A request waited for its model to get capacity longer than the configured bound.' },
  SSIS_CAPACITY_UNAVAILABLE: { httpStatus: 503, retriable: true, summary: 'A request got no capacity because its model could not be placed; capacity may free up, so the client retries after `Retry-After`.' },
  SSIS_UPSTREAM_FAILED: { httpStatus: 502, retriable: true, summary: 'The inference service answered with an error or could not be reached.' },
  SSIS_BROKER_UNAVAILABLE: { httpStatus: 503, retriable: true, summary: 'The broker could not be reached or did not accept an event for now (5xx, 429).' },
  SSIS_BROKER_REFUSED: { httpStatus: 500, retriable: false, summary: 'The broker refused an event with a 4xx other than 429 (malformed event, no such broker); sending it again cannot succeed.' },
  SSIS_BROKER_START_FAILED: { httpStatus: 500, retriable: false, summary: 'A local Kafka broker could not be fetched, formatted or started (mvn or Java 17+ missing, the JVM exited).' },
  SSIS_CONTROL_PLANE_START_FAILED: { httpStatus: 500, retriable: false, summary: 'The local Kubernetes control plane could not be built or started (Go missing, a build failed, etcd or kube-apiserver exited or never got ready).' },
  SSIS_ENGINE_START_FAILED: { httpStatus: 500, retriable: false, summary: 'A local inference engine (llama.cpp\'s llama-server) could not be built or started: a build tool missing, the build failed, the process exited or never got ready.' },
  SSIS_METRICS_UNAVAILABLE: { httpStatus: 503, retriable: true, summary: 'Prometheus could not be reached, timed out, answered 5xx or 429, or answered something that is not its HTTP API; the next sampling tick tries again.' },
  SSIS_METRICS_START_FAILED: { httpStatus: 500, retriable: false, summary: 'A local Prometheus could not be started (binary missing, configuration refused, exited or not ready in time).' },
  SSIS_UNAUTHENTICATED: { httpStatus: 401, retriable: false, summary: 'A request or CloudEvent carried no credential, or one that is not valid (an unknown API key, a shared secret that does not match, an OIDC token with the wrong audience or signature).' },
  SSIS_FORBIDDEN: { httpStatus: 403, retriable: false, summary: 'The credential is valid but does not allow this (a tenant asking for a model or service class its key does not grant).' },
  SSIS_RATE_LIMITED: { httpStatus: 429, retriable: true, summary: 'A tenant sent more requests than its key\'s rate limit; the client retries after `Retry-After`.' },
  SSIS_OVERLOADED: { httpStatus: 503, retriable: true, summary: 'The service\'s admission queue is full (its capacity and SLO bound it): the request is shed at once, and the client retries after `Retry-After`.' },
  SSIS_PAYLOAD_TOO_LARGE: { httpStatus: 413, retriable: false, summary: 'A body is larger than the intake\'s bound; it was refused before it was read in full.' },
  SSIS_UNSUPPORTED_MEDIA_TYPE: { httpStatus: 415, retriable: false, summary: 'A body came with a content type the endpoint does not take (the inference APIs take `application/json`).' },
  SSIS_DECISION_REFUSED: { httpStatus: 422, retriable: false, summary: 'A scale decision breaks policy (replicas outside the class\'s bounds, a model not in the catalog or not the service\'s, a profile the GPU model lacks, a generation that is not current); it is dead-lettered with its reason and nothing is changed.' },
  SSIS_NOT_FOUND: { httpStatus: 404, retriable: false, summary: 'The addressed resource (service, revision, route) does not exist.' },
  SSIS_INTERNAL: { httpStatus: 500, retriable: true, summary: 'An unexpected failure inside a handler.' },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export class SsisError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly httpStatus: number;
  readonly issues: readonly FieldIssue[];
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { issues?: readonly FieldIssue[]; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SsisError';
    this.code = code;
    // From the catalogue only: a failure that needs a different answer needs its own code.
    this.retriable = ERROR_CATALOG[code].retriable;
    this.httpStatus = ERROR_CATALOG[code].httpStatus;
    this.issues = options.issues ?? [];
    this.details = options.details ?? {};
  }

  /** The JSON body a function or the ingress answers with. */
  toJSON(): { code: ErrorCode; message: string; retriable: boolean; issues: readonly FieldIssue[]; details: Readonly<Record<string, unknown>> } {
    return { code: this.code, message: this.message, retriable: this.retriable, issues: this.issues, details: this.details };
  }
}

/** Builds the error for a failed validation: the message lists every issue with its field. */
export function validationError(code: ErrorCode, what: string, issues: readonly FieldIssue[]): SsisError {
  const list = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
  return new SsisError(code, `${what}: ${list}`, { issues });
}

/** Wraps anything thrown into an SsisError; unknown failures are internal and retriable. */
export function asSsisError(err: unknown): SsisError {
  if (err instanceof SsisError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SsisError('SSIS_INTERNAL', message, { cause: err });
}
