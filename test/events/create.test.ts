import { expect } from 'chai';
import { ManualClock, sequentialIds } from '../../core/common/ports.js';
import { createEvent, validateEnvelope } from '../../events/create.js';
import { PING_EVENT_TYPE } from '../../events/registry.js';
import { SCALE_DECIDED } from '../../events/scale-decided.js';
import { eventOf, fieldsOf, issuesOf, omit, scaleDecided, T0 } from './fixtures.js';

const SERVICE = scaleDecided.service;

/** A valid ssis.scale.decided event in the flat CloudEvents JSON form. */
function flatScaleDecided(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    specversion: '1.0',
    id: 'evt-1',
    type: SCALE_DECIDED,
    source: '/ssis/functions/evaluate',
    time: T0,
    datacontenttype: 'application/json',
    partitionkey: SERVICE,
    data: scaleDecided,
    ...overrides,
  };
}

describe('createEvent', () => {
  it('fills the envelope from the data, the clock and the id source', () => {
    const ev = createEvent(SCALE_DECIDED, scaleDecided, { source: '/ssis/functions/evaluate', clock: new ManualClock(Date.parse(T0)), ids: sequentialIds('evt') });
    expect(ev).to.deep.equal({
      specversion: '1.0',
      id: 'evt-1',
      type: SCALE_DECIDED,
      source: '/ssis/functions/evaluate',
      subject: SERVICE,
      time: T0,
      datacontenttype: 'application/json',
      partitionkey: SERVICE,
      data: scaleDecided,
    });
  });

  it('takes the next id and the current time for every event', () => {
    const clock = new ManualClock(Date.parse(T0));
    const options = { source: '/s', clock, ids: sequentialIds('evt') };
    createEvent(SCALE_DECIDED, scaleDecided, options);
    clock.advance(1500);
    const second = createEvent(SCALE_DECIDED, scaleDecided, options);
    expect(second.id).to.equal('evt-2');
    expect(second.time).to.equal('2026-11-03T10:00:01.500Z');
  });

  it('keeps a given subject and extensions, and leaves out empty extensions', () => {
    const ev = eventOf(SCALE_DECIDED, scaleDecided, { subject: 'decision/dec-7', extensions: { traceparent: '00-ab-cd-01', attempt: 2, replay: true } });
    expect(ev.subject).to.equal('decision/dec-7');
    expect(ev.extensions).to.deep.equal({ traceparent: '00-ab-cd-01', attempt: 2, replay: true });
    expect(eventOf(SCALE_DECIDED, scaleDecided, { extensions: {} })).not.to.have.property('extensions');
  });

  it('refuses data that does not match the schema of the type', () => {
    expect(fieldsOf(() => eventOf(SCALE_DECIDED, { ...scaleDecided, target: { ...scaleDecided.target, replicas: -1 } }))).to.deep.equal(['data.target.replicas']);
  });

  it('refuses extension names and values CloudEvents does not allow', () => {
    expect(fieldsOf(() => eventOf(SCALE_DECIDED, scaleDecided, { extensions: { TraceParent: 'x', utilization: 0.5 } }))).to.have.members([
      'extensions.TraceParent',
      'extensions.utilization',
    ]);
  });
});

describe('validateEnvelope', () => {
  it('returns an SsisEvent unchanged', () => {
    const ev = eventOf(SCALE_DECIDED, scaleDecided, { extensions: { traceparent: '00-ab-cd-01' } });
    expect(validateEnvelope(structuredClone(ev))).to.deep.equal(ev);
  });

  it('reads the flat CloudEvents JSON form, extensions as top-level attributes', () => {
    const ev = validateEnvelope(flatScaleDecided({ traceparent: '00-ab-cd-01', knativeerrorcode: 500 }));
    expect(ev.extensions).to.deep.equal({ traceparent: '00-ab-cd-01', knativeerrorcode: 500 });
    expect(ev).not.to.have.property('subject');
    expect(ev.partitionkey).to.equal(SERVICE);
  });

  it('reports every problem at once, each with its field', () => {
    const issues = issuesOf(() =>
      validateEnvelope({
        specversion: '0.3',
        id: '',
        type: SCALE_DECIDED,
        source: 42,
        time: 'yesterday',
        data: { ...scaleDecided, target: { ...scaleDecided.target, replicas: -1 } },
        Bad_Ext: 'x',
        ratio: 0.5,
      }),
    );
    expect(issues).to.have.deep.members([
      { field: 'specversion', message: 'must be 1.0, not "0.3"' },
      { field: 'id', message: 'must not be empty' },
      { field: 'source', message: 'must be string' },
      { field: 'partitionkey', message: 'is required' },
      { field: 'time', message: 'must be an RFC 3339 date-time, e.g. 2026-11-03T10:00:00Z' },
      { field: 'data.target.replicas', message: 'must be >= 0' },
      { field: 'Bad_Ext', message: 'extension name must consist of lower-case letters a-z and digits 0-9' },
      { field: 'ratio', message: 'must be a string, a boolean or a 32-bit integer' },
    ]);
    expect(issues).to.have.length(8);
  });

  it('requires specversion, id, type and source', () => {
    expect(fieldsOf(() => validateEnvelope({}))).to.have.members(['specversion', 'id', 'type', 'source']);
  });

  it('requires time, partitionkey and data on ssis.* events', () => {
    const bare = omit(flatScaleDecided(), 'time', 'partitionkey', 'data');
    expect(fieldsOf(() => validateEnvelope(bare))).to.have.members(['time', 'partitionkey', 'data']);
  });

  it('requires partitionkey to be data.service, so every event about a model stays in its partition', () => {
    expect(issuesOf(() => validateEnvelope(flatScaleDecided({ partitionkey: 'gpt2' })))).to.deep.equal([
      { field: 'partitionkey', message: `must equal data.service (${SERVICE})` },
    ]);
    expect(fieldsOf(() => validateEnvelope(flatScaleDecided({ partitionkey: 7 })))).to.deep.equal(['partitionkey']);
  });

  it('names data fields as data.<path>', () => {
    expect(fieldsOf(() => validateEnvelope(flatScaleDecided({ data: { ...scaleDecided, service: 'Not A Name' } })))).to.deep.equal(['data.service']);
  });

  it('takes JSON data only, ignoring media type parameters', () => {
    expect(validateEnvelope(flatScaleDecided({ datacontenttype: 'Application/JSON; charset=utf-8' })).datacontenttype).to.equal('application/json');
    expect(validateEnvelope(flatScaleDecided({ datacontenttype: undefined })).datacontenttype).to.equal('application/json');
    expect(fieldsOf(() => validateEnvelope(flatScaleDecided({ datacontenttype: 'text/plain' })))).to.deep.equal(['datacontenttype']);
    expect(fieldsOf(() => validateEnvelope(flatScaleDecided({ data: undefined, data_base64: 'AAEC' })))).to.have.members(['data_base64', 'data']);
  });

  it('allows extension names longer than 20 characters (a SHOULD in the spec)', () => {
    expect(validateEnvelope(flatScaleDecided({ averyveryverylongextensionname: 'x' })).extensions).to.deep.equal({ averyveryverylongextensionname: 'x' });
  });

  it('refuses integers outside 32 bits and nested extensions that shadow attributes', () => {
    expect(fieldsOf(() => validateEnvelope(flatScaleDecided({ big: 2 ** 31 })))).to.deep.equal(['big']);
    expect(fieldsOf(() => validateEnvelope(flatScaleDecided({ extensions: { id: 'x' } })))).to.deep.equal(['extensions.id']);
    expect(fieldsOf(() => validateEnvelope(flatScaleDecided({ trace: 'a', extensions: { trace: 'b' } })))).to.deep.equal(['extensions.trace']);
  });

  it('accepts a PingSource tick without partition key, and with or without data', () => {
    const tick = { specversion: '1.0', id: 'p-1', type: PING_EVENT_TYPE, source: '/apis/v1/namespaces/llm/pingsources/metrics-tick', time: T0 };
    expect(validateEnvelope(tick)).to.deep.equal(tick);
    expect(validateEnvelope({ ...tick, data: { reason: 'tick' } }).data).to.deep.equal({ reason: 'tick' });
    expect(fieldsOf(() => validateEnvelope({ ...tick, data: 'tick' }))).to.deep.equal(['data']);
  });

  it('passes data of foreign types through, as long as it is JSON', () => {
    const ev = validateEnvelope({ specversion: '1.0', id: 'k-1', type: 'dev.knative.kafka.event', source: '/kafka', data: [1, 2] });
    expect(ev.data).to.deep.equal([1, 2]);
  });

  it('refuses something that is not an object', () => {
    expect(issuesOf(() => validateEnvelope('{"id":1}'))).to.deep.equal([{ field: 'event', message: 'must be a JSON object' }]);
    expect(fieldsOf(() => validateEnvelope([]))).to.deep.equal(['event']);
  });
});
