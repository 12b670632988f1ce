/**
 * ssis.rollout.completed (secondary) — the new revision serves all traffic; the old one is gone.
 * Producer: rollout fn. Consumers: evaluate fn (ends the in-flight decision, starts the
 * stabilization window) and request fn dispatch stage (ends a pending cold start).
 */
import { compileDataParser, JSON_SCHEMA_DIALECT, type DataSchema } from './data-schema.js';
import { COUNT, GENERATION, NON_EMPTY_STRING, NON_NEGATIVE, NULLABLE_NON_EMPTY_STRING, PROFILE, SERVICE_NAME, TIMESTAMP } from './schema-fragments.js';

export const ROLLOUT_COMPLETED = 'ssis.rollout.completed';

export interface RolloutCompleted {
  readonly decisionId: string;
  readonly service: string;
  readonly revision: string;
  readonly previousRevision: string | null;
  readonly profile: string;
  readonly gpuModel: string;
  readonly replicas: number;
  readonly generation: number;
  /** Time from slice-reconfigured to all replicas ready. */
  readonly readyAfterMs: number;
  readonly completedAt: string;
}

export const ROLLOUT_COMPLETED_SCHEMA = {
  $schema: JSON_SCHEMA_DIALECT,
  title: ROLLOUT_COMPLETED,
  type: 'object',
  properties: {
    decisionId: NON_EMPTY_STRING,
    service: SERVICE_NAME,
    revision: NON_EMPTY_STRING,
    previousRevision: NULLABLE_NON_EMPTY_STRING,
    profile: PROFILE,
    gpuModel: NON_EMPTY_STRING,
    replicas: COUNT,
    generation: GENERATION,
    readyAfterMs: { ...NON_NEGATIVE, description: 'milliseconds' },
    completedAt: TIMESTAMP,
  },
  required: ['decisionId', 'service', 'revision', 'previousRevision', 'profile', 'gpuModel', 'replicas', 'generation', 'readyAfterMs', 'completedAt'],
  additionalProperties: false,
} as const satisfies DataSchema<RolloutCompleted>;

const validateRolloutCompleted = compileDataParser<RolloutCompleted>(ROLLOUT_COMPLETED, ROLLOUT_COMPLETED_SCHEMA);

/**
 * Checks untrusted data against ROLLOUT_COMPLETED_SCHEMA.
 * @throws {SsisError} SSIS_INVALID_EVENT naming every bad field (`data.readyAfterMs`, ...)
 */
export function parseRolloutCompleted(data: unknown): RolloutCompleted {
  return validateRolloutCompleted(data);
}
