/**
 * ssis.metrics.sampled — one service's metrics at one sampling tick.
 * Producer: sample fn. Consumer: evaluate fn. Partition key: the model service.
 */
import type { LoadMeasurement, MetricReading, ServiceSample } from '../core/scaling/service-sample.js';
import { compileDataParser, JSON_SCHEMA_DIALECT, type DataSchema, type ObjectSchema } from './data-schema.js';
import {
  COUNT, GENERATION, NON_EMPTY_STRING, NON_NEGATIVE, NULLABLE_NON_EMPTY_STRING, NULLABLE_NON_NEGATIVE, NULLABLE_PROFILE, PROFILE,
  SERVICE_NAME, TIMESTAMP,
} from './schema-fragments.js';

export const METRICS_SAMPLED = 'ssis.metrics.sampled';

// The shapes the scaling policies read are defined once, in core/scaling/service-sample; these are
// their names on the wire.
export type SampledMetric = MetricReading;
export type MeasuredLoad = LoadMeasurement;

/** The policies' ServiceSample, plus the revision, ready count and window, which they do not read. */
export interface MetricsSampled extends ServiceSample {
  readonly revision: string | null;
  readonly readyReplicas: number;
  readonly windowSec: number;
  readonly sampledAt: string;
}

const SAMPLED_METRIC_SCHEMA = {
  type: 'object',
  properties: {
    name: NON_EMPTY_STRING,
    value: { type: ['number', 'null'], description: 'unit of the configured query' },
  },
  required: ['name', 'value'],
  additionalProperties: false,
} as const satisfies ObjectSchema<SampledMetric>;

const MEASURED_LOAD_SCHEMA = {
  type: 'object',
  properties: {
    arrivalRatePerSec: { ...NON_NEGATIVE, description: 'requests per second' },
    avgInputTokens: { ...NON_NEGATIVE, description: 'tokens per request' },
    avgOutputTokens: { ...NON_NEGATIVE, description: 'tokens per request' },
    requestsRunning: { ...NON_NEGATIVE, description: 'requests (window average)' },
    requestsWaiting: { ...NON_NEGATIVE, description: 'requests (window average)' },
    ttftMs: { ...NULLABLE_NON_NEGATIVE, description: 'milliseconds' },
    itlMs: { ...NULLABLE_NON_NEGATIVE, description: 'milliseconds' },
    // vllm:kv_cache_usage_perc is a fraction despite its name (notes/perf.md).
    kvCacheUsage: { type: ['number', 'null'], minimum: 0, maximum: 1, description: 'fraction 0-1' },
  },
  required: ['arrivalRatePerSec', 'avgInputTokens', 'avgOutputTokens', 'requestsRunning', 'requestsWaiting', 'ttftMs', 'itlMs', 'kvCacheUsage'],
  additionalProperties: false,
} as const satisfies ObjectSchema<MeasuredLoad>;

export const METRICS_SAMPLED_SCHEMA = {
  $schema: JSON_SCHEMA_DIALECT,
  title: METRICS_SAMPLED,
  type: 'object',
  properties: {
    service: SERVICE_NAME,
    modelId: NON_EMPTY_STRING,
    generation: GENERATION,
    revision: NULLABLE_NON_EMPTY_STRING,
    profile: NULLABLE_PROFILE,
    gpuModel: NULLABLE_NON_EMPTY_STRING,
    replicas: COUNT,
    readyReplicas: COUNT,
    rolloutInProgress: { type: 'boolean' },
    windowSec: { type: 'number', exclusiveMinimum: 0, description: 'seconds' },
    sampledAt: TIMESTAMP,
    metrics: { type: 'array', items: SAMPLED_METRIC_SCHEMA },
    load: MEASURED_LOAD_SCHEMA,
    placeableProfiles: { type: 'array', items: PROFILE, uniqueItems: true },
  },
  required: [
    'service', 'modelId', 'generation', 'revision', 'profile', 'gpuModel', 'replicas', 'readyReplicas', 'rolloutInProgress',
    'windowSec', 'sampledAt', 'metrics', 'load', 'placeableProfiles',
  ],
  additionalProperties: false,
} as const satisfies DataSchema<MetricsSampled>;

const validateMetricsSampled = compileDataParser<MetricsSampled>(METRICS_SAMPLED, METRICS_SAMPLED_SCHEMA);

/**
 * Checks untrusted data against METRICS_SAMPLED_SCHEMA.
 * @throws {SsisError} SSIS_INVALID_EVENT naming every bad field (`data.metrics[0].value`, ...)
 */
export function parseMetricsSampled(data: unknown): MetricsSampled {
  return validateMetricsSampled(data);
}
