/**
 * ssis.scale.decided — a decision to move a service to a tier and replica count.
 * Producers: evaluate fn (policies), request fn dispatch stage (cold start 0 → 1).
 * Consumer: reconfigure fn. Partition key: the model service.
 * Idempotency: `decisionId` is unique per decision; `fromGeneration` is the service generation it
 * was computed from, so a duplicate or stale decision is recognised and ignored.
 */
import type { ScalingPolicyName } from '../core/config/ssis-config.js';
import type { PredictedLatency, ScaleAction, ScaleTarget } from '../core/scaling/scale-target.js';
import { compileDataParser, JSON_SCHEMA_DIALECT, type DataSchema, type ObjectSchema } from './data-schema.js';
import {
  COUNT, GENERATION, NON_EMPTY_STRING, NON_NEGATIVE, NULLABLE_NON_EMPTY_STRING, NULLABLE_PROFILE, PROFILE, SERVICE_NAME, TIMESTAMP,
} from './schema-fragments.js';

export const SCALE_DECIDED = 'ssis.scale.decided';

export type { PredictedLatency, ScaleAction, ScaleTarget } from '../core/scaling/scale-target.js';
/** The evaluate stage's policies, and the request fn's cold start. */
export type ScalePolicy = 'cold-start' | ScalingPolicyName;

export interface Allocation {
  /** MIG profile name, `gpu` for a full GPU, or null at zero replicas. */
  readonly profile: string | null;
  /** GPU model the profile belongs to (profile names repeat across models, e.g. 1g.10gb). */
  readonly gpuModel: string | null;
  readonly replicas: number;
}

export interface ScaleDecided {
  readonly decisionId: string;
  readonly service: string;
  readonly modelId: string;
  readonly action: ScaleAction;
  readonly policy: ScalePolicy;
  readonly fromGeneration: number;
  readonly current: Allocation;
  readonly target: ScaleTarget;
  readonly reason: string;
  readonly predicted?: PredictedLatency;
  readonly decidedAt: string;
}

export const SCALE_ACTIONS = ['cold-start', 'up', 'down', 'out', 'in'] as const satisfies readonly ScaleAction[];
export const SCALE_POLICIES = ['cold-start', 'ssis-ladder', 'inferno'] as const satisfies readonly ScalePolicy[];

const CURRENT_ALLOCATION_SCHEMA = {
  type: 'object',
  properties: { profile: NULLABLE_PROFILE, gpuModel: NULLABLE_NON_EMPTY_STRING, replicas: COUNT },
  required: ['profile', 'gpuModel', 'replicas'],
  additionalProperties: false,
} as const satisfies ObjectSchema<Allocation>;

const TARGET_ALLOCATION_SCHEMA = {
  type: 'object',
  properties: {
    profile: PROFILE,
    gpuModel: NON_EMPTY_STRING,
    replicas: COUNT,
    maxBatchSize: { type: 'integer', minimum: 1, description: 'requests' },
  },
  required: ['profile', 'gpuModel', 'replicas'],
  additionalProperties: false,
} as const satisfies ObjectSchema<ScaleDecided['target']>;

const PREDICTION_SCHEMA = {
  type: 'object',
  properties: {
    ttftMs: { ...NON_NEGATIVE, description: 'milliseconds' },
    itlMs: { ...NON_NEGATIVE, description: 'milliseconds' },
  },
  required: ['ttftMs', 'itlMs'],
  additionalProperties: false,
} as const satisfies ObjectSchema<NonNullable<ScaleDecided['predicted']>>;

export const SCALE_DECIDED_SCHEMA = {
  $schema: JSON_SCHEMA_DIALECT,
  title: SCALE_DECIDED,
  type: 'object',
  properties: {
    decisionId: NON_EMPTY_STRING,
    service: SERVICE_NAME,
    modelId: NON_EMPTY_STRING,
    action: { enum: SCALE_ACTIONS },
    policy: { enum: SCALE_POLICIES },
    fromGeneration: GENERATION,
    current: CURRENT_ALLOCATION_SCHEMA,
    target: TARGET_ALLOCATION_SCHEMA,
    reason: NON_EMPTY_STRING,
    predicted: PREDICTION_SCHEMA,
    decidedAt: TIMESTAMP,
  },
  required: ['decisionId', 'service', 'modelId', 'action', 'policy', 'fromGeneration', 'current', 'target', 'reason', 'decidedAt'],
  additionalProperties: false,
} as const satisfies DataSchema<ScaleDecided>;

const validateScaleDecided = compileDataParser<ScaleDecided>(SCALE_DECIDED, SCALE_DECIDED_SCHEMA);

/**
 * Checks untrusted data against SCALE_DECIDED_SCHEMA.
 * @throws {SsisError} SSIS_INVALID_EVENT naming every bad field (`data.target.replicas`, ...)
 */
export function parseScaleDecided(data: unknown): ScaleDecided {
  return validateScaleDecided(data);
}
