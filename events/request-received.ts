/**
 * ssis.request.received — one accepted inference request.
 * Producer: request fn (HTTP ingress). Consumer: request fn (dispatch stage: cold start).
 * Partition key: the model service. Never carries secrets: only the *names* of env keys.
 */
import { compileDataParser, JSON_SCHEMA_DIALECT, type DataSchema } from './data-schema.js';
import { COUNT, NON_EMPTY_STRING, SERVICE_NAME, TIMESTAMP } from './schema-fragments.js';

export const REQUEST_RECEIVED = 'ssis.request.received';

export type RequestApi = 'ssis' | 'openai-completions' | 'openai-chat';

export interface RequestReceived {
  readonly requestId: string;
  /** Model key derived from MODEL_ID as the reference Dispatcher does (notes/ssis.md §1.3). */
  readonly service: string;
  readonly modelId: string;
  readonly api: RequestApi;
  readonly serviceClass: string;
  readonly inputTokens: number;
  readonly maxNewTokens: number | null;
  /** Per-request latency SLO from label `slo` (seconds in the reference, milliseconds here), if given. */
  readonly sloMs: number | null;
  /** Names of the env entries the request carried (values are never copied: they hold tokens). */
  readonly envKeys: readonly string[];
  readonly receivedAt: string;
}

export const REQUEST_API_VALUES = ['ssis', 'openai-completions', 'openai-chat'] as const satisfies readonly RequestApi[];

export const REQUEST_RECEIVED_SCHEMA = {
  $schema: JSON_SCHEMA_DIALECT,
  title: REQUEST_RECEIVED,
  type: 'object',
  properties: {
    requestId: NON_EMPTY_STRING,
    service: SERVICE_NAME,
    modelId: { ...NON_EMPTY_STRING, description: 'MODEL_ID as the client sent it, e.g. openai-community/gpt2' },
    api: { enum: REQUEST_API_VALUES },
    serviceClass: NON_EMPTY_STRING,
    inputTokens: { ...COUNT, description: 'tokens' },
    maxNewTokens: { type: ['integer', 'null'], minimum: 1, description: 'tokens' },
    sloMs: { type: ['number', 'null'], exclusiveMinimum: 0, description: 'milliseconds' },
    envKeys: { type: 'array', items: { type: 'string', pattern: '^[-._a-zA-Z][-._a-zA-Z0-9]*$', description: 'Kubernetes env var name' }, uniqueItems: true },
    receivedAt: TIMESTAMP,
  },
  required: ['requestId', 'service', 'modelId', 'api', 'serviceClass', 'inputTokens', 'maxNewTokens', 'sloMs', 'envKeys', 'receivedAt'],
  additionalProperties: false,
} as const satisfies DataSchema<RequestReceived>;

const validateRequestReceived = compileDataParser<RequestReceived>(REQUEST_RECEIVED, REQUEST_RECEIVED_SCHEMA);

/**
 * Checks untrusted data against REQUEST_RECEIVED_SCHEMA.
 * @throws {SsisError} SSIS_INVALID_EVENT naming every bad field (`data.inputTokens`, ...)
 */
export function parseRequestReceived(data: unknown): RequestReceived {
  return validateRequestReceived(data);
}
