import { expect } from 'chai';
import { CloudEvent, Kafka, type KafkaMessage as SdkKafkaMessage } from 'cloudevents';
import type { KafkaMessage, Message } from 'kafkajs';
import { fromHttpAnyEvent } from '../../events/codec/http.js';
import { fromKafkaRecord, fromKafkaRecordAnyEvent, kafkaHeadersToStrings, toKafkaRecord, type KafkaRecord } from '../../events/codec/kafka.js';
import type { AnyCloudEvent, SsisEvent } from '../../events/envelope.js';
import { viewRecord } from '../../infra/kafka/record-view.js';
import { PING_EVENT_TYPE } from '../../events/registry.js';
import { SCALE_DECIDED } from '../../events/scale-decided.js';
import { eventOf, fieldsOf, issuesOf, omit, pinnedScaleDecided, scaleDecided, T0, TRACEPARENT, VALID_DATA } from './fixtures.js';


/** Headers of a valid ssis.scale.decided record as the Knative broker stores it. */
function knativeHeaders(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ce_specversion: '1.0',
    ce_id: 'evt-1',
    ce_source: '/ssis/functions/evaluate',
    ce_type: SCALE_DECIDED,
    ce_time: T0,
    ce_partitionkey: scaleDecided.service,
    'content-type': 'application/json',
    ...overrides,
  };
}

function recordWith(headers: Record<string, string>, value: string | null = JSON.stringify(scaleDecided)) {
  return { key: scaleDecided.service, value: value === null ? null : Buffer.from(value, 'utf8'), headers };
}

describe('Kafka codec', () => {
  describe('round trip in binary mode', () => {
    for (const { type, data } of VALID_DATA) {
      it(type, () => {
        const ev = eventOf(type, data, { extensions: { traceparent: TRACEPARENT } });
        expect(fromKafkaRecord(toKafkaRecord(ev))).to.deep.equal(ev);
      });
    }
  });

  describe('writes the Knative Kafka Broker layout', () => {
    for (const { type, data } of VALID_DATA) {
      it(type, () => {
        const record = toKafkaRecord(eventOf(type, data, { extensions: { attempt: 3 } }));
        expect(record.key).to.equal(data.service);
        expect(Object.keys(record.headers)).to.deep.equal([
          'ce_specversion', 'ce_id', 'ce_source', 'ce_type', 'ce_time', 'ce_subject', 'ce_partitionkey', 'ce_attempt', 'content-type',
        ]);
        expect(Object.values(record.headers).every((v) => typeof v === 'string')).to.equal(true);
        expect(record.headers).not.to.have.property('ce_datacontenttype');
        expect(JSON.parse(record.value!.toString('utf8'))).to.deep.equal(data);
      });
    }
  });

  it('pins the exact record of one event, byte for byte', () => {
    const ev = pinnedScaleDecided();
    const record = toKafkaRecord(ev);

    expect(record.key).to.equal('gpt2');
    expect(Object.entries(record.headers)).to.deep.equal([
      ['ce_specversion', '1.0'],
      ['ce_id', 'evt-1'],
      ['ce_source', '/ssis/functions/request'],
      ['ce_type', 'ssis.scale.decided'],
      ['ce_time', '2026-11-03T10:00:00.000Z'],
      ['ce_subject', 'gpt2'],
      ['ce_partitionkey', 'gpt2'],
      ['ce_traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
      ['content-type', 'application/json'],
    ]);
    const expectedValue =
      '{"decisionId":"dec-42","service":"gpt2","modelId":"openai-community/gpt2","action":"cold-start","policy":"cold-start",' +
      '"fromGeneration":0,"current":{"profile":null,"gpuModel":null,"replicas":0},' +
      '"target":{"profile":"1g.10gb","gpuModel":"A100-SXM4-80GB","replicas":1},' +
      '"reason":"request for a service at zero replicas","decidedAt":"2026-11-03T10:00:00.000Z"}';
    expect(Buffer.isBuffer(record.value)).to.equal(true);
    expect(record.value!.equals(Buffer.from(expectedValue, 'utf8'))).to.equal(true);
    expect(record.timestamp).to.equal('1793700000000');
    expect(fromKafkaRecord(record)).to.deep.equal(ev);
  });

  it('reads a record as Knative stores it, keeping the time string as written', () => {
    const ev = fromKafkaRecord(recordWith(knativeHeaders({ ce_time: '2026-11-03T10:00:00Z' })));
    expect(ev).to.deep.equal({
      specversion: '1.0',
      id: 'evt-1',
      type: SCALE_DECIDED,
      source: '/ssis/functions/evaluate',
      time: '2026-11-03T10:00:00Z',
      datacontenttype: 'application/json',
      partitionkey: scaleDecided.service,
      data: scaleDecided,
    });
  });

  it('reads a record as kafkajs delivers it: Buffer key, value and headers', () => {
    const ev = eventOf(SCALE_DECIDED, scaleDecided);
    const record = toKafkaRecord(ev);
    const consumed: KafkaMessage = {
      key: Buffer.from(record.key!, 'utf8'),
      value: record.value,
      timestamp: record.timestamp ?? '',
      attributes: 0,
      offset: '17',
      headers: Object.fromEntries(Object.entries(record.headers).map(([name, value]) => [name, Buffer.from(value, 'utf8')])),
    };
    expect(fromKafkaRecord(consumed)).to.deep.equal(ev);
    const sendable: Message = record; // compiles: a KafkaRecord goes to producer.send as it is
    expect(sendable.key).to.equal(scaleDecided.service);
  });

  it('writes an event without data as a record without value or content-type, and without key when there is no partitionkey', () => {
    const tick: SsisEvent<unknown> = { specversion: '1.0', id: 'p-1', type: PING_EVENT_TYPE, source: '/ping', time: T0 } as SsisEvent<unknown>;
    const record = toKafkaRecord(tick);
    expect(record).to.deep.equal({
      key: null,
      value: null,
      headers: { ce_specversion: '1.0', ce_id: 'p-1', ce_source: '/ping', ce_type: PING_EVENT_TYPE, ce_time: T0 },
      timestamp: '1793700000000',
    });
    expect(fromKafkaRecord(record)).to.deep.equal(tick);
  });

  it('reads structured records', () => {
    const ev = eventOf(SCALE_DECIDED, scaleDecided, { extensions: { attempt: 2 } });
    const { extensions, ...attributes } = ev;
    const structured = Kafka.structured(new CloudEvent<unknown>({ ...attributes, ...extensions }));
    expect(structured.headers['content-type']).to.equal('application/cloudevents+json; charset=utf-8');
    expect(fromKafkaRecord({ key: structured.key ?? null, value: String(structured.value), headers: structured.headers })).to.deep.equal(ev);
  });

  it('writes records the cloudevents SDK reads back to the same event', () => {
    const ev = eventOf(SCALE_DECIDED, scaleDecided, { extensions: { traceparent: TRACEPARENT } });
    const record = toKafkaRecord(ev);
    const message: SdkKafkaMessage = { key: record.key!, value: record.value, headers: record.headers, body: record.value };
    const sdkEvent = Kafka.toEvent(message);
    expect(sdkEvent).to.deep.include({ id: ev.id, type: ev.type, source: ev.source, subject: ev.subject, time: ev.time, datacontenttype: 'application/json', partitionkey: ev.partitionkey, traceparent: TRACEPARENT, data: scaleDecided });
  });

  describe('kafkaHeadersToStrings', () => {
    it('turns Buffers into UTF-8 strings, takes the last of repeated headers and drops undefined', () => {
      expect(
        kafkaHeadersToStrings({
          ce_id: Buffer.from('evt-1'),
          ce_source: '/already/a/string',
          ce_subject: Buffer.from('gpt2 – ünïcode'),
          ce_attempt: [Buffer.from('1'), '2', Buffer.from('3')],
          ce_empty: [],
          ce_none: undefined,
        }),
      ).to.deep.equal({ ce_id: 'evt-1', ce_source: '/already/a/string', ce_subject: 'gpt2 – ünïcode', ce_attempt: '3' });
    });

    it('accepts a record without headers', () => {
      expect(kafkaHeadersToStrings(undefined)).to.deep.equal({});
    });
  });

  describe('malformed records', () => {
    it('missing ce_id → field id', () => {
      expect(issuesOf(() => fromKafkaRecord(recordWith(omit(knativeHeaders(), 'ce_id'))))).to.deep.equal([{ field: 'id', message: 'is required' }]);
    });

    it('wrong specversion → field specversion', () => {
      expect(fieldsOf(() => fromKafkaRecord(recordWith(knativeHeaders({ ce_specversion: '0.3' }))))).to.deep.equal(['specversion']);
    });

    it('a value that is not JSON → field data', () => {
      const issues = issuesOf(() => fromKafkaRecord(recordWith(knativeHeaders(), '{"decisionId":')));
      expect(issues.map((i) => i.field)).to.deep.equal(['data']);
      expect(issues[0]?.message).to.match(/^is not valid JSON \(/);
    });

    it('an extension header with upper case → field named after it', () => {
      expect(issuesOf(() => fromKafkaRecord(recordWith(knativeHeaders({ ce_TraceParent: TRACEPARENT }))))).to.deep.equal([
        { field: 'TraceParent', message: 'extension name must consist of lower-case letters a-z and digits 0-9' },
      ]);
    });

    it('data not matching the schema → data.<path>', () => {
      const value = JSON.stringify({ ...scaleDecided, target: { ...scaleDecided.target, replicas: -1 } });
      expect(fieldsOf(() => fromKafkaRecord(recordWith(knativeHeaders(), value)))).to.deep.equal(['data.target.replicas']);
    });

    it('a record without value for an ssis.* type → field data', () => {
      expect(fieldsOf(() => fromKafkaRecord(recordWith(knativeHeaders(), null)))).to.deep.equal(['data']);
    });

    it('data in a header → field data', () => {
      expect(fieldsOf(() => fromKafkaRecord(recordWith(knativeHeaders({ ce_data: '{}' }))))).to.deep.equal(['data']);
    });

    it('batch mode is refused', () => {
      expect(fieldsOf(() => fromKafkaRecord({ value: '[]', headers: { 'content-type': 'application/cloudevents-batch+json' } }))).to.deep.equal(['content-type']);
    });

    it('a structured record that is not JSON → field event', () => {
      expect(fieldsOf(() => fromKafkaRecord({ value: '{', headers: { 'content-type': 'application/cloudevents+json' } }))).to.deep.equal(['event']);
    });
  });

  it('refuses to write what a record cannot carry', () => {
    const ev = eventOf(SCALE_DECIDED, scaleDecided);
    expect(fieldsOf(() => toKafkaRecord({ ...ev, extensions: { utilization: 0.5 } }))).to.deep.equal(['extensions.utilization']);
    expect(fieldsOf(() => toKafkaRecord({ ...ev, time: 'yesterday' }))).to.deep.equal(['time']);
  });

  it('leaves the timestamp of an event without time to the producer (CloudEvents makes time optional)', () => {
    const record = toKafkaRecord({ specversion: '1.0', id: 'x-1', type: 'com.example.untimed', source: '/x' });
    expect(record).to.deep.equal({ key: null, value: null, headers: { ce_specversion: '1.0', ce_id: 'x-1', ce_source: '/x', ce_type: 'com.example.untimed' } });
  });

  describe('carries any valid CloudEvent byte for byte (the broker topic)', () => {
    const xml = '<?xml version="1.0"?>\n<reading unit="°C">21.5</reading>\n';
    const opaque = Buffer.from([0xff, 0x00, 0xfe, 0x80, 0x0a, 0xc3]); // not UTF-8
    const foreign = (id: string, over: Partial<AnyCloudEvent>): AnyCloudEvent => ({ specversion: '1.0', id, type: 'com.example.reading', source: '/sensors/7', time: T0, ...over });
    const cases: readonly { name: string; event: AnyCloudEvent; value: Buffer; contentType: string | undefined }[] = [
      { name: 'text/plain', event: foreign('t-1', { datacontenttype: 'text/plain; charset=utf-8', data_base64: Buffer.from('héllo  \r\n').toString('base64') }), value: Buffer.from('héllo  \r\n'), contentType: 'text/plain; charset=utf-8' },
      { name: 'XML', event: foreign('x-1', { datacontenttype: 'application/xml', data_base64: Buffer.from(xml).toString('base64'), partitionkey: 'sensor-7' }), value: Buffer.from(xml), contentType: 'application/xml' },
      { name: 'binary data without datacontenttype', event: foreign('o-1', { data_base64: opaque.toString('base64') }), value: opaque, contentType: undefined },
      { name: 'a foreign JSON event', event: foreign('j-1', { datacontenttype: 'application/json', data: { celsius: 21.5 } }), value: Buffer.from('{"celsius":21.5}'), contentType: 'application/json' },
    ];
    /** The record as kafkajs hands it to a consumer: Buffers everywhere. */
    const consumed = (record: KafkaRecord): KafkaMessage => ({
      key: record.key === null ? null : Buffer.from(record.key, 'utf8'),
      value: record.value,
      timestamp: record.timestamp ?? '0',
      attributes: 0,
      offset: '0',
      headers: Object.fromEntries(Object.entries(record.headers).map(([name, value]) => [name, Buffer.from(value, 'utf8')])),
    });

    for (const c of cases) {
      it(`${c.name}: the Knative layout, the data as the value, and back to the same event`, () => {
        const record = toKafkaRecord(c.event);
        expect(record.value!.equals(c.value), record.value!.toString('hex')).to.equal(true);
        expect(record.headers['content-type']).to.equal(c.contentType);
        expect(Object.keys(record.headers).filter((h) => !h.startsWith('ce_') && h !== 'content-type')).to.deep.equal([]);
        expect(record.headers).to.not.have.property('ce_datacontenttype');
        expect(record.key).to.equal(c.event.partitionkey ?? null);
        expect(record.timestamp).to.equal('1793700000000');
        expect(fromKafkaRecordAnyEvent(consumed(record))).to.deep.equal(c.event);
      });

      it(`${c.name}: reaches a Trigger subscriber as it reached the ingress`, () => {
        const incoming = { headers: { ...(c.contentType === undefined ? {} : { 'content-type': c.contentType }), 'ce-specversion': '1.0', 'ce-id': c.event.id, 'ce-type': c.event.type, 'ce-source': c.event.source, 'ce-time': T0 }, body: c.value };
        const http = viewRecord(consumed(toKafkaRecord(fromHttpAnyEvent(incoming)))).toHttp();
        expect(Buffer.from(http.body).equals(c.value)).to.equal(true);
        expect(http.headers['content-type']).to.equal(c.contentType);
        expect(http.headers).to.include({ 'ce-id': c.event.id, 'ce-type': c.event.type, 'ce-source': c.event.source });
      });
    }

    it('reads a text record as Knative stores it; the SSIS functions still refuse it', () => {
      const record = { key: null, value: Buffer.from('ping'), headers: { ce_specversion: '1.0', ce_id: 'p-1', ce_source: '/ping', ce_type: PING_EVENT_TYPE, 'content-type': 'text/plain' } };
      expect(fromKafkaRecordAnyEvent(record)).to.deep.equal({ specversion: '1.0', id: 'p-1', source: '/ping', type: PING_EVENT_TYPE, datacontenttype: 'text/plain', data_base64: Buffer.from('ping').toString('base64') });
      expect(fieldsOf(() => fromKafkaRecord(record))).to.deep.equal(['datacontenttype']);
    });

    it('turns a structured record with data_base64 into binary mode for the subscriber', () => {
      const png = Buffer.from('89504e470d0a1a0a', 'hex');
      const structured = { specversion: '1.0', id: 's-1', type: 'com.example.image', source: '/cam', datacontenttype: 'image/png', data_base64: png.toString('base64') };
      const record = { value: Buffer.from(JSON.stringify(structured)), headers: { 'content-type': 'application/cloudevents+json' } };
      expect(fromKafkaRecordAnyEvent(record)).to.deep.equal(structured);
      const http = viewRecord(record).toHttp();
      expect(Buffer.from(http.body).equals(png)).to.equal(true);
      expect(http.headers['content-type']).to.equal('image/png');
    });

    it('still holds ssis.* records to the SSIS contract', () => {
      expect(fieldsOf(() => fromKafkaRecordAnyEvent(recordWith(knativeHeaders({ 'content-type': 'text/plain' }), 'scale up')))).to.deep.equal(['datacontenttype']);
      expect(fieldsOf(() => fromKafkaRecordAnyEvent(recordWith(omit(knativeHeaders(), 'ce_id'))))).to.deep.equal(['id']);
    });
  });
});
