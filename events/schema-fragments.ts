/**
 * Field schemas shared by several event types, so that "a service name" or "a MIG profile" means
 * the same thing in every event. Each is a plain `as const` object dropped into a schema.
 */

/** The model service: a Knative Service name, hence a DNS-1123 label (notes/ssis.md §1.3 derives it from MODEL_ID). */
export const SERVICE_NAME = {
  type: 'string',
  minLength: 1,
  maxLength: 63,
  pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
  description: 'Knative Service name of the model; also the partition key',
} as const;

export const NON_EMPTY_STRING = { type: 'string', minLength: 1 } as const;

export const NULLABLE_NON_EMPTY_STRING = { type: ['string', 'null'], minLength: 1 } as const;

/** An RFC 3339 date-time (checked by events/rfc3339.ts). */
export const TIMESTAMP = { type: 'string', format: 'date-time' } as const;

/** A count of things (replicas, tokens, requests): an integer, never negative. */
export const COUNT = { type: 'integer', minimum: 0 } as const;

/** A measured quantity that cannot be negative (rates, averages, durations). */
export const NON_NEGATIVE = { type: 'number', minimum: 0 } as const;

export const NULLABLE_NON_NEGATIVE = { type: ['number', 'null'], minimum: 0 } as const;

/** The service generation a sample observed or a decision was computed from (idempotency). */
export const GENERATION = { type: 'integer', minimum: 0, description: 'service generation' } as const;

/**
 * A serving tier: a MIG profile name (`1g.5gb`, `3g.40gb`, `1g.10gb+me`) or `gpu` for a full GPU
 * (notes/mig.md §1). A new tier kind (e.g. MPS shares) needs this pattern widened.
 */
const PROFILE_PATTERN = '^(gpu|[1-7]g\\.[0-9]+gb([+-][a-z]+)?)$';

export const PROFILE = { type: 'string', pattern: PROFILE_PATTERN, description: 'MIG profile name or gpu' } as const;

export const NULLABLE_PROFILE = { type: ['string', 'null'], pattern: PROFILE_PATTERN, description: 'MIG profile name, gpu, or null at zero replicas' } as const;

/** First memory slot of a MIG instance: slots are 0–7 (notes/mig.md §1.1). */
export const MIG_START_SLOT = { type: 'integer', minimum: 0, maximum: 7 } as const;
