/**
 * The CloudEvent types SSIS understands and how each one's data is checked. Functions dispatch on
 * this table; validateEnvelope (events/create.ts) uses it to check the data of every ssis.* event
 * it lets in. A new event type gets a file beside the others and a row here.
 */
import { SsisError, validationError } from '../core/errors.js';
import type { JsonSchema } from './data-schema.js';
import { isJsonObject } from './json-object.js';
import { METRICS_SAMPLED, METRICS_SAMPLED_SCHEMA, parseMetricsSampled } from './metrics-sampled.js';
import { parsePlacementFailed, PLACEMENT_FAILED, PLACEMENT_FAILED_SCHEMA } from './placement-failed.js';
import { parseRequestReceived, REQUEST_RECEIVED, REQUEST_RECEIVED_SCHEMA } from './request-received.js';
import { parseRolloutCompleted, ROLLOUT_COMPLETED, ROLLOUT_COMPLETED_SCHEMA } from './rollout-completed.js';
import { parseScaleDecided, SCALE_DECIDED, SCALE_DECIDED_SCHEMA } from './scale-decided.js';
import { parseSliceReconfigured, SLICE_RECONFIGURED, SLICE_RECONFIGURED_SCHEMA } from './slice-reconfigured.js';

/** Every type SSIS produces starts with this; such events must carry a partition key and a time. */
export const SSIS_TYPE_PREFIX = 'ssis.';

/**
 * Knative PingSource ticks (knative-kafka.md §1.9). Not ours: its data is whatever JSON the
 * PingSource spec holds (`data: '{"reason":"tick"}'`), or nothing.
 */
export const PING_EVENT_TYPE = 'dev.knative.sources.ping';

export type PingData = Readonly<Record<string, unknown>> | undefined;

export interface EventContract<T> {
  /** JSON Schema (draft-07) of the event's data. */
  readonly schema: JsonSchema;
  /** @throws {SsisError} SSIS_INVALID_EVENT naming every bad field */
  readonly parse: (data: unknown) => T;
}

export const EVENT_REGISTRY = {
  [REQUEST_RECEIVED]: { schema: REQUEST_RECEIVED_SCHEMA, parse: parseRequestReceived },
  [METRICS_SAMPLED]: { schema: METRICS_SAMPLED_SCHEMA, parse: parseMetricsSampled },
  [SCALE_DECIDED]: { schema: SCALE_DECIDED_SCHEMA, parse: parseScaleDecided },
  [SLICE_RECONFIGURED]: { schema: SLICE_RECONFIGURED_SCHEMA, parse: parseSliceReconfigured },
  [ROLLOUT_COMPLETED]: { schema: ROLLOUT_COMPLETED_SCHEMA, parse: parseRolloutCompleted },
  [PLACEMENT_FAILED]: { schema: PLACEMENT_FAILED_SCHEMA, parse: parsePlacementFailed },
} as const satisfies Readonly<Record<string, EventContract<unknown>>>;

export type SsisEventType = keyof typeof EVENT_REGISTRY;

/** The data type of an SSIS event type, e.g. `EventDataOf<'ssis.scale.decided'>` = ScaleDecided. */
export type EventDataOf<K extends SsisEventType> = ReturnType<(typeof EVENT_REGISTRY)[K]['parse']>;

export function isSsisEventType(type: string): type is SsisEventType {
  return Object.hasOwn(EVENT_REGISTRY, type);
}

/**
 * Accepts any JSON object, or no data at all.
 * @throws {SsisError} SSIS_INVALID_EVENT when data is present but not an object
 */
export function parsePingData(data: unknown): PingData {
  if (data === undefined || isJsonObject(data)) return data;
  throw validationError('SSIS_INVALID_EVENT', `invalid ${PING_EVENT_TYPE} data`, [{ field: 'data', message: 'must be object' }]);
}

/**
 * Checks `data` against the contract of `type`.
 * @throws {SsisError} SSIS_INVALID_EVENT naming every bad field; SSIS_UNSUPPORTED_EVENT_TYPE for a type not in the table
 */
export function parseEventData<K extends SsisEventType>(type: K, data: unknown): EventDataOf<K>;
export function parseEventData(type: typeof PING_EVENT_TYPE, data: unknown): PingData;
export function parseEventData(type: string, data: unknown): unknown;
export function parseEventData(type: string, data: unknown): unknown {
  if (isSsisEventType(type)) return EVENT_REGISTRY[type].parse(data);
  if (type === PING_EVENT_TYPE) return parsePingData(data);
  throw new SsisError('SSIS_UNSUPPORTED_EVENT_TYPE', `no contract for event type ${type}`, {
    issues: [{ field: 'type', message: `unknown event type ${type}` }],
  });
}

/** True when validateEnvelope can check this type's data (the six SSIS types and PingSource). */
export function hasDataContract(type: string): boolean {
  return isSsisEventType(type) || type === PING_EVENT_TYPE;
}
