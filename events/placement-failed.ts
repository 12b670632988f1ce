/**
 * ssis.placement.failed (secondary) — a decision's slices could not be placed: the demand is
 * reported, never silently dropped. Producers: reconfigure fn, and the sample fn for a rollout that
 * made no progress within scaler.rolloutTimeoutSec. Consumers: evaluate fn (backs off
 * that tier, tries scale out) and request fn dispatch stage (fails held requests with the reason).
 */
import { compileDataParser, JSON_SCHEMA_DIALECT, type DataSchema, type ObjectSchema } from './data-schema.js';
import { GENERATION, NON_EMPTY_STRING, PROFILE, SERVICE_NAME, TIMESTAMP } from './schema-fragments.js';

export const PLACEMENT_FAILED = 'ssis.placement.failed';

export interface PlacementFailed {
  readonly decisionId: string;
  readonly service: string;
  readonly modelId: string;
  readonly fromGeneration: number;
  readonly requested: { readonly profile: string; readonly gpuModel: string; readonly replicas: number };
  readonly reason: string;
  readonly failedAt: string;
}

const REQUESTED_SCHEMA = {
  type: 'object',
  properties: {
    profile: PROFILE,
    gpuModel: NON_EMPTY_STRING,
    replicas: { type: 'integer', minimum: 1, description: 'replicas that could not be placed' },
  },
  required: ['profile', 'gpuModel', 'replicas'],
  additionalProperties: false,
} as const satisfies ObjectSchema<PlacementFailed['requested']>;

export const PLACEMENT_FAILED_SCHEMA = {
  $schema: JSON_SCHEMA_DIALECT,
  title: PLACEMENT_FAILED,
  type: 'object',
  properties: {
    decisionId: NON_EMPTY_STRING,
    service: SERVICE_NAME,
    modelId: NON_EMPTY_STRING,
    fromGeneration: GENERATION,
    requested: REQUESTED_SCHEMA,
    reason: NON_EMPTY_STRING,
    failedAt: TIMESTAMP,
  },
  required: ['decisionId', 'service', 'modelId', 'fromGeneration', 'requested', 'reason', 'failedAt'],
  additionalProperties: false,
} as const satisfies DataSchema<PlacementFailed>;

const validatePlacementFailed = compileDataParser<PlacementFailed>(PLACEMENT_FAILED, PLACEMENT_FAILED_SCHEMA);

/**
 * Checks untrusted data against PLACEMENT_FAILED_SCHEMA.
 * @throws {SsisError} SSIS_INVALID_EVENT naming every bad field (`data.requested.replicas`, ...)
 */
export function parsePlacementFailed(data: unknown): PlacementFailed {
  return validatePlacementFailed(data);
}
