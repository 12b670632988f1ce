/**
 * One valid data value per SSIS event type, a deterministic event factory and an assertion helper
 * for SsisErrors. Fixtures are typed with the data interfaces, so they follow the contract.
 */
import { expect } from 'chai';
import { SsisError, type ErrorCode, type FieldIssue } from '../../core/errors.js';
import { ManualClock, sequentialIds } from '../../core/common/ports.js';
import { createEvent, type CreateEventOptions } from '../../events/create.js';
import type { SsisEvent } from '../../events/envelope.js';
import { METRICS_SAMPLED, type MetricsSampled } from '../../events/metrics-sampled.js';
import { PLACEMENT_FAILED, type PlacementFailed } from '../../events/placement-failed.js';
import { REQUEST_RECEIVED, type RequestReceived } from '../../events/request-received.js';
import { ROLLOUT_COMPLETED, type RolloutCompleted } from '../../events/rollout-completed.js';
import { SCALE_DECIDED, type ScaleDecided } from '../../events/scale-decided.js';
import { SLICE_RECONFIGURED, type SliceReconfigured } from '../../events/slice-reconfigured.js';
import type { SsisEventType } from '../../events/registry.js';

export const T0 = '2026-11-03T10:00:00.000Z';

export const requestReceived: RequestReceived = {
  requestId: 'req-1',
  service: 'llama321binstruct',
  modelId: 'meta-llama/Llama-3.2-1B-Instruct',
  api: 'openai-chat',
  serviceClass: 'interactive',
  inputTokens: 512,
  maxNewTokens: 128,
  sloMs: 2000,
  envKeys: ['MODEL_ID', 'HF_TOKEN'],
  receivedAt: T0,
};

export const metricsSampled: MetricsSampled = {
  service: 'llama321binstruct',
  modelId: 'meta-llama/Llama-3.2-1B-Instruct',
  generation: 3,
  revision: 'llama321binstruct-00003',
  profile: '1g.10gb',
  gpuModel: 'H100-80GB',
  replicas: 2,
  readyReplicas: 2,
  rolloutInProgress: false,
  windowSec: 30,
  sampledAt: T0,
  metrics: [
    { name: 'ttft_p95', value: 0.42 },
    { name: 'queue', value: null },
  ],
  load: {
    arrivalRatePerSec: 3.5,
    avgInputTokens: 480.2,
    avgOutputTokens: 120,
    requestsRunning: 6,
    requestsWaiting: 0.5,
    ttftMs: 420,
    itlMs: 21.5,
    kvCacheUsage: 0.37,
  },
  placeableProfiles: ['1g.10gb', '2g.20gb', '3g.40gb'],
};

export const scaleDecided: ScaleDecided = {
  decisionId: 'dec-7',
  service: 'llama321binstruct',
  modelId: 'meta-llama/Llama-3.2-1B-Instruct',
  action: 'up',
  policy: 'ssis-ladder',
  fromGeneration: 3,
  current: { profile: '1g.10gb', gpuModel: 'H100-80GB', replicas: 1 },
  target: { profile: '2g.20gb', gpuModel: 'H100-80GB', replicas: 1, maxBatchSize: 32 },
  reason: 'ttft p95 420 ms above SLO 300 ms',
  predicted: { ttftMs: 180, itlMs: 22.5 },
  decidedAt: T0,
};

export const sliceReconfigured: SliceReconfigured = {
  decisionId: 'dec-7',
  service: 'llama321binstruct',
  modelId: 'meta-llama/Llama-3.2-1B-Instruct',
  fromGeneration: 3,
  revision: 'llama321binstruct-00004',
  previousRevision: 'llama321binstruct-00003',
  profile: '2g.20gb',
  gpuModel: 'H100-80GB',
  replicas: 1,
  slices: [
    { node: 'gpu-node-1', gpu: 0, gpuModel: 'H100-80GB', profile: '2g.20gb', start: 4, sliceId: 'gpu-node-1/0/4', replica: 'llama321binstruct-00004-0', action: 'created' },
  ],
  layouts: [
    {
      node: 'gpu-node-1',
      gpu: 0,
      gpuModel: 'H100-80GB',
      migEnabled: true,
      instances: [
        { profile: '3g.40gb', start: 0 },
        { profile: '2g.20gb', start: 4 },
        { profile: '1g.10gb', start: 6 },
      ],
    },
  ],
  reconfiguredAt: T0,
};

export const rolloutCompleted: RolloutCompleted = {
  decisionId: 'dec-7',
  service: 'llama321binstruct',
  revision: 'llama321binstruct-00004',
  previousRevision: 'llama321binstruct-00003',
  profile: '2g.20gb',
  gpuModel: 'H100-80GB',
  replicas: 1,
  generation: 4,
  readyAfterMs: 41250,
  completedAt: T0,
};

export const placementFailed: PlacementFailed = {
  decisionId: 'dec-8',
  service: 'metallama318b',
  modelId: 'meta-llama/Meta-Llama-3.1-8B',
  fromGeneration: 1,
  requested: { profile: '7g.80gb', gpuModel: 'H100-80GB', replicas: 2 },
  reason: 'no GPU has 8 free memory slots',
  failedAt: T0,
};

/** Every SSIS type with a valid data value, for table-driven tests. */
export const VALID_DATA: readonly { readonly type: SsisEventType; readonly data: { readonly service: string } }[] = [
  { type: REQUEST_RECEIVED, data: requestReceived },
  { type: METRICS_SAMPLED, data: metricsSampled },
  { type: SCALE_DECIDED, data: scaleDecided },
  { type: SLICE_RECONFIGURED, data: sliceReconfigured },
  { type: ROLLOUT_COMPLETED, data: rolloutCompleted },
  { type: PLACEMENT_FAILED, data: placementFailed },
];

/** Options for createEvent with a clock at T0 and ids evt-1, evt-2, ... */
export function deterministicOptions(overrides: Partial<CreateEventOptions> = {}): CreateEventOptions {
  return { source: '/ssis/functions/test', clock: new ManualClock(Date.parse(T0)), ids: sequentialIds('evt'), ...overrides };
}

export function eventOf<T extends { readonly service: string }>(type: string, data: T, overrides: Partial<CreateEventOptions> = {}): SsisEvent<T> {
  return createEvent(type, data, deterministicOptions(overrides));
}

/** A shallow copy of `value` without `keys`. */
export function omit<T extends object, K extends keyof T>(value: T, ...keys: K[]): Omit<T, K> {
  const copy: Partial<T> = { ...value };
  for (const key of keys) delete copy[key];
  return copy as Omit<T, K>;
}

/** Runs `fn`, expects an SsisError with `code`, and returns its issues. */
export function issuesOf(fn: () => unknown, code: ErrorCode = 'SSIS_INVALID_EVENT'): readonly FieldIssue[] {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(SsisError);
    const error = err as SsisError;
    expect(error.code).to.equal(code);
    return error.issues;
  }
  return expect.fail('expected an SsisError');
}

/** The fields named by the issues of a failing call. */
export function fieldsOf(fn: () => unknown, code: ErrorCode = 'SSIS_INVALID_EVENT'): string[] {
  return issuesOf(fn, code).map((i) => i.field);
}

/** W3C traceparent carried as an extension by the pinned record tests. */
export const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/**
 * The one event whose Kafka record is pinned byte for byte, by the codec test and against a real broker
 * (the same bytes both places: records must stay interchangeable with Knative's broker).
 */
export function pinnedScaleDecided(): SsisEvent<ScaleDecided> {
  const data: ScaleDecided = {
    decisionId: 'dec-42',
    service: 'gpt2',
    modelId: 'openai-community/gpt2',
    action: 'cold-start',
    policy: 'cold-start',
    fromGeneration: 0,
    current: { profile: null, gpuModel: null, replicas: 0 },
    target: { profile: '1g.10gb', gpuModel: 'A100-SXM4-80GB', replicas: 1 },
    reason: 'request for a service at zero replicas',
    decidedAt: '2026-11-03T10:00:00.000Z',
  };
  return eventOf(SCALE_DECIDED, data, { source: '/ssis/functions/request', extensions: { traceparent: TRACEPARENT } });
}
