import { expect } from 'chai';
import type { FieldIssue } from '../../core/errors.js';
import { fieldPath, type RequiredKeyOf } from '../../events/data-schema.js';
import { METRICS_SAMPLED_SCHEMA, parseMetricsSampled, type MeasuredLoad, type MetricsSampled, type SampledMetric } from '../../events/metrics-sampled.js';
import { parsePlacementFailed, PLACEMENT_FAILED_SCHEMA, type PlacementFailed } from '../../events/placement-failed.js';
import {
  EVENT_REGISTRY, isSsisEventType, parseEventData, PING_EVENT_TYPE, SSIS_TYPE_PREFIX,
} from '../../events/registry.js';
import { parseRequestReceived, REQUEST_RECEIVED_SCHEMA, type RequestReceived } from '../../events/request-received.js';
import { isRfc3339DateTime } from '../../events/rfc3339.js';
import { parseRolloutCompleted, ROLLOUT_COMPLETED_SCHEMA, type RolloutCompleted } from '../../events/rollout-completed.js';
import { parseScaleDecided, SCALE_DECIDED_SCHEMA, type Allocation, type ScaleDecided } from '../../events/scale-decided.js';
import { parseSliceReconfigured, SLICE_RECONFIGURED_SCHEMA, type GpuLayout, type SliceRef, type SliceReconfigured } from '../../events/slice-reconfigured.js';
import {
  issuesOf, metricsSampled, omit, placementFailed, requestReceived, rolloutCompleted, scaleDecided, sliceReconfigured, VALID_DATA,
} from './fixtures.js';

/** Compiles only when A and B are the same set of keys: `required` must list every non-optional field. */
function sameKeys<A, B>(..._proof: [A] extends [B] ? ([B] extends [A] ? [] : [never]) : [never]): true {
  return true;
}

type Required<S extends { readonly required: readonly string[] }> = S['required'][number];
type Props<S extends { readonly properties: object }> = S['properties'];

interface BrokenCase {
  readonly name: string;
  readonly parse: (data: unknown) => unknown;
  readonly data: unknown;
  readonly issues: readonly FieldIssue[];
}

const BROKEN: readonly BrokenCase[] = [
  {
    name: 'ssis.request.received',
    parse: parseRequestReceived,
    data: {
      ...omit(requestReceived, 'receivedAt'),
      requestId: '',
      api: 'grpc',
      inputTokens: -1,
      maxNewTokens: 1.5,
      envKeys: ['MODEL_ID', 'HF TOKEN'],
      token: 'hf_secret',
    },
    issues: [
      { field: 'data.receivedAt', message: 'is required' },
      { field: 'data.token', message: 'unknown field' },
      { field: 'data.requestId', message: 'must not be empty' },
      { field: 'data.api', message: 'must be one of: ssis, openai-completions, openai-chat' },
      { field: 'data.inputTokens', message: 'must be >= 0' },
      { field: 'data.maxNewTokens', message: 'must be integer or null' },
      { field: 'data.envKeys[1]', message: 'must match ^[-._a-zA-Z][-._a-zA-Z0-9]*$' },
    ],
  },
  {
    name: 'ssis.metrics.sampled',
    parse: parseMetricsSampled,
    data: {
      ...metricsSampled,
      replicas: -1,
      windowSec: 0,
      sampledAt: 'yesterday',
      metrics: [{ name: 'ttft_p95', value: 'fast' }],
      load: { ...metricsSampled.load, kvCacheUsage: 1.5, gpuUtil: 0.9 },
      placeableProfiles: ['1g.10gb', '9g.1gb'],
    },
    issues: [
      { field: 'data.replicas', message: 'must be >= 0' },
      { field: 'data.windowSec', message: 'must be > 0' },
      { field: 'data.sampledAt', message: 'must be an RFC 3339 date-time, e.g. 2026-11-03T10:00:00Z' },
      { field: 'data.metrics[0].value', message: 'must be number or null' },
      { field: 'data.load.gpuUtil', message: 'unknown field' },
      { field: 'data.load.kvCacheUsage', message: 'must be <= 1' },
      { field: 'data.placeableProfiles[1]', message: 'must match ^(gpu|[1-7]g\\.[0-9]+gb([+-][a-z]+)?)$' },
    ],
  },
  {
    name: 'ssis.scale.decided',
    parse: parseScaleDecided,
    data: {
      ...scaleDecided,
      action: 'sideways',
      current: omit(scaleDecided.current, 'gpuModel'),
      target: { ...scaleDecided.target, profile: 'huge', replicas: -1 },
      predicted: { ttftMs: -5, itlMs: 1 },
      decidedAt: '2026-13-01T00:00:00Z',
    },
    issues: [
      { field: 'data.action', message: 'must be one of: cold-start, up, down, out, in' },
      { field: 'data.current.gpuModel', message: 'is required' },
      { field: 'data.target.profile', message: 'must match ^(gpu|[1-7]g\\.[0-9]+gb([+-][a-z]+)?)$' },
      { field: 'data.target.replicas', message: 'must be >= 0' },
      { field: 'data.predicted.ttftMs', message: 'must be >= 0' },
      { field: 'data.decidedAt', message: 'must be an RFC 3339 date-time, e.g. 2026-11-03T10:00:00Z' },
    ],
  },
  {
    name: 'ssis.slice.reconfigured',
    parse: parseSliceReconfigured,
    data: {
      ...sliceReconfigured,
      previousRevision: '',
      slices: [{ ...sliceReconfigured.slices[0]!, start: 8, action: 'moved' }],
      layouts: [{ ...sliceReconfigured.layouts[0]!, migEnabled: 'yes', instances: [{ profile: '3g.40gb', start: 0 }, { start: 4 }] }],
    },
    issues: [
      { field: 'data.previousRevision', message: 'must not be empty' },
      { field: 'data.slices[0].start', message: 'must be <= 7' },
      { field: 'data.slices[0].action', message: 'must be one of: created, reused, release' },
      { field: 'data.layouts[0].migEnabled', message: 'must be boolean' },
      { field: 'data.layouts[0].instances[1].profile', message: 'is required' },
    ],
  },
  {
    name: 'ssis.rollout.completed',
    parse: parseRolloutCompleted,
    data: { ...rolloutCompleted, service: 'Llama_3', generation: 1.5, readyAfterMs: -1, oldRevision: 'x' },
    issues: [
      { field: 'data.oldRevision', message: 'unknown field' },
      { field: 'data.service', message: 'must match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' },
      { field: 'data.generation', message: 'must be integer' },
      { field: 'data.readyAfterMs', message: 'must be >= 0' },
    ],
  },
  {
    name: 'ssis.placement.failed',
    parse: parsePlacementFailed,
    data: { ...placementFailed, fromGeneration: '3', requested: { profile: '7g.80gb', replicas: 0 }, reason: '' },
    issues: [
      { field: 'data.fromGeneration', message: 'must be integer' },
      { field: 'data.requested.gpuModel', message: 'is required' },
      { field: 'data.requested.replicas', message: 'must be >= 1' },
      { field: 'data.reason', message: 'must not be empty' },
    ],
  },
];

describe('event data schemas', () => {
  describe('a valid fixture parses and comes back unchanged', () => {
    for (const { type, data } of VALID_DATA) {
      it(type, () => {
        const copy: unknown = structuredClone(data);
        expect(EVENT_REGISTRY[type].parse(copy)).to.equal(copy);
        expect(copy).to.deep.equal(data);
      });
    }
  });

  describe('a fixture with several problems reports every one of them with its field', () => {
    for (const tc of BROKEN) {
      it(tc.name, () => {
        const issues = issuesOf(() => tc.parse(tc.data));
        expect(issues).to.have.deep.members(tc.issues);
        expect(issues).to.have.length(tc.issues.length);
      });
    }
  });

  it('optional fields may be left out', () => {
    expect(() => parseScaleDecided(omit(scaleDecided, 'predicted'))).not.to.throw();
    expect(() => parseScaleDecided({ ...scaleDecided, target: omit(scaleDecided.target, 'maxBatchSize') })).not.to.throw();
  });

  it('nullable fields accept null and still check their values', () => {
    expect(() => parseMetricsSampled({ ...metricsSampled, profile: null, gpuModel: null, revision: null, replicas: 0, readyReplicas: 0 })).not.to.throw();
    expect(issuesOf(() => parseMetricsSampled({ ...metricsSampled, profile: 'big' })).map((i) => i.field)).to.deep.equal(['data.profile']);
  });

  it('data that is not an object is reported on `data`', () => {
    expect(issuesOf(() => parseScaleDecided('up'))).to.deep.equal([{ field: 'data', message: 'must be object' }]);
    expect(issuesOf(() => parseScaleDecided(null))).to.deep.equal([{ field: 'data', message: 'must be object' }]);
  });

  it('the error message lists every problem', () => {
    try {
      parseRolloutCompleted({ ...rolloutCompleted, replicas: -2, generation: -1 });
      expect.fail('expected an error');
    } catch (err) {
      expect((err as Error).message).to.equal('invalid ssis.rollout.completed data: data.replicas: must be >= 0; data.generation: must be >= 0');
    }
  });

  it('`required` lists exactly the non-optional fields of each TypeScript type (checked by the compiler)', () => {
    type Metrics = Props<typeof METRICS_SAMPLED_SCHEMA>;
    type Decided = Props<typeof SCALE_DECIDED_SCHEMA>;
    type Slices = Props<typeof SLICE_RECONFIGURED_SCHEMA>;
    const proofs = [
      sameKeys<RequiredKeyOf<RequestReceived>, Required<typeof REQUEST_RECEIVED_SCHEMA>>(),
      sameKeys<RequiredKeyOf<MetricsSampled>, Required<typeof METRICS_SAMPLED_SCHEMA>>(),
      sameKeys<RequiredKeyOf<SampledMetric>, Required<Metrics['metrics']['items']>>(),
      sameKeys<RequiredKeyOf<MeasuredLoad>, Required<Metrics['load']>>(),
      sameKeys<RequiredKeyOf<ScaleDecided>, Required<typeof SCALE_DECIDED_SCHEMA>>(),
      sameKeys<RequiredKeyOf<Allocation>, Required<Decided['current']>>(),
      sameKeys<RequiredKeyOf<ScaleDecided['target']>, Required<Decided['target']>>(),
      sameKeys<RequiredKeyOf<NonNullable<ScaleDecided['predicted']>>, Required<Decided['predicted']>>(),
      sameKeys<RequiredKeyOf<SliceReconfigured>, Required<typeof SLICE_RECONFIGURED_SCHEMA>>(),
      sameKeys<RequiredKeyOf<SliceRef>, Required<Slices['slices']['items']>>(),
      sameKeys<RequiredKeyOf<GpuLayout>, Required<Slices['layouts']['items']>>(),
      sameKeys<RequiredKeyOf<GpuLayout['instances'][number]>, Required<Slices['layouts']['items']['properties']['instances']['items']>>(),
      sameKeys<RequiredKeyOf<RolloutCompleted>, Required<typeof ROLLOUT_COMPLETED_SCHEMA>>(),
      sameKeys<RequiredKeyOf<PlacementFailed>, Required<typeof PLACEMENT_FAILED_SCHEMA>>(),
      sameKeys<RequiredKeyOf<PlacementFailed['requested']>, Required<Props<typeof PLACEMENT_FAILED_SCHEMA>['requested']>>(),
    ];
    expect(proofs.every(Boolean)).to.equal(true);
  });

  it('every schema forbids unknown fields, names its type and is draft-07', () => {
    for (const [type, { schema }] of Object.entries(EVENT_REGISTRY)) {
      expect(schema).to.include({ $schema: 'http://json-schema.org/draft-07/schema#', title: type, additionalProperties: false });
    }
  });
});

describe('event registry', () => {
  it('holds the six SSIS types', () => {
    expect(Object.keys(EVENT_REGISTRY)).to.have.members([
      'ssis.request.received', 'ssis.metrics.sampled', 'ssis.scale.decided', 'ssis.slice.reconfigured', 'ssis.rollout.completed', 'ssis.placement.failed',
    ]);
    expect(Object.keys(EVENT_REGISTRY).every((t) => t.startsWith(SSIS_TYPE_PREFIX) && isSsisEventType(t))).to.equal(true);
    expect(isSsisEventType('toString')).to.equal(false);
  });

  it('parseEventData dispatches on the type', () => {
    expect(parseEventData('ssis.scale.decided', scaleDecided)).to.equal(scaleDecided);
    expect(issuesOf(() => parseEventData('ssis.scale.decided', requestReceived))).to.deep.include({ field: 'data.decisionId', message: 'is required' });
  });

  it('accepts any object or no data for PingSource ticks', () => {
    expect(PING_EVENT_TYPE).to.equal('dev.knative.sources.ping');
    expect(parseEventData(PING_EVENT_TYPE, undefined)).to.equal(undefined);
    expect(parseEventData(PING_EVENT_TYPE, { reason: 'tick', nested: [1, 2] })).to.deep.equal({ reason: 'tick', nested: [1, 2] });
    expect(issuesOf(() => parseEventData(PING_EVENT_TYPE, 'tick'))).to.deep.equal([{ field: 'data', message: 'must be object' }]);
  });

  it('refuses a type it has no contract for', () => {
    expect(issuesOf(() => parseEventData('ssis.unknown.type', {}), 'SSIS_UNSUPPORTED_EVENT_TYPE')).to.deep.equal([
      { field: 'type', message: 'unknown event type ssis.unknown.type' },
    ]);
  });
});

describe('RFC 3339 date-time', () => {
  const valid = ['2026-11-03T10:00:00Z', '2026-11-03T10:00:00.123456+02:00', '2026-11-03t10:00:00z', '2024-02-29T00:00:00Z', '2026-12-31T23:59:60Z'];
  const invalid = [
    '2026-11-03 10:00:00Z', '2026-11-03T10:00:00', '2025-02-29T00:00:00Z', '2026-04-31T00:00:00Z', '2026-11-03T24:00:00Z',
    '2026-11-3T10:00:00Z', '1793700000000', '2026-11-03T10:00:00+2400', '',
  ];
  for (const s of valid) it(`accepts ${s}`, () => expect(isRfc3339DateTime(s)).to.equal(true));
  for (const s of invalid) it(`rejects ${JSON.stringify(s)}`, () => expect(isRfc3339DateTime(s)).to.equal(false));
});

describe('field paths', () => {
  it('write array indexes in brackets and properties with dots', () => {
    expect(fieldPath('data', '/metrics/0/value', { metrics: [{ value: 1 }] })).to.equal('data.metrics[0].value');
  });

  it('tell a property named "0" from an index by looking at the data', () => {
    expect(fieldPath('data', '/labels/0', { labels: { '0': 'x' } })).to.equal('data.labels["0"]');
  });

  it('unescape JSON-pointer segments', () => {
    expect(fieldPath('data', '/a~1b/c~0d', { 'a/b': { 'c~d': 1 } })).to.equal('data["a/b"]["c~d"]');
  });

  it('name the root for an empty pointer', () => {
    expect(fieldPath('data', '', {})).to.equal('data');
  });
});
