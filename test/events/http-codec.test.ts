import { expect } from 'chai';
import { HTTP } from 'cloudevents';
import type { IncomingHttpHeaders } from 'node:http';
import { fromHttp, fromHttpAnyEvent, normalizeHttpHeaders, toHttpBinary, toHttpStructured, type HttpMessage } from '../../events/codec/http.js';
import type { AnyCloudEvent } from '../../events/envelope.js';
import { decodeHeaderValue, encodeHeaderValue } from '../../events/codec/http-header-value.js';
import { SCALE_DECIDED } from '../../events/scale-decided.js';
import { eventOf, fieldsOf, issuesOf, omit, scaleDecided, T0, VALID_DATA } from './fixtures.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

function binaryMessage(headers: Record<string, string>, body = JSON.stringify(scaleDecided)): HttpMessage {
  return {
    headers: {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': 'evt-1',
      'ce-type': SCALE_DECIDED,
      'ce-source': '/ssis/functions/evaluate',
      'ce-time': T0,
      'ce-partitionkey': scaleDecided.service,
      ...headers,
    },
    body,
  };
}

function structuredMessage(event: Record<string, unknown>): HttpMessage {
  const base = { specversion: '1.0', id: 'evt-1', type: SCALE_DECIDED, source: '/s', time: T0, partitionkey: scaleDecided.service, data: scaleDecided };
  return { headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify({ ...base, ...event }) };
}

describe('HTTP codec', () => {
  describe('round trip in binary mode', () => {
    for (const { type, data } of VALID_DATA) {
      it(type, () => {
        const ev = eventOf(type, data, { extensions: { traceparent: TRACEPARENT } });
        expect(fromHttp(toHttpBinary(ev))).to.deep.equal(ev);
      });
    }
  });

  describe('round trip in structured mode', () => {
    for (const { type, data } of VALID_DATA) {
      it(type, () => {
        const ev = eventOf(type, data, { extensions: { traceparent: TRACEPARENT, attempt: 2, replay: false } });
        expect(fromHttp(toHttpStructured(ev))).to.deep.equal(ev);
      });
    }
  });

  it('writes binary mode as ce-* headers and the data as JSON body', () => {
    const message = toHttpBinary(eventOf(SCALE_DECIDED, scaleDecided, { source: '/ssis/functions/evaluate', extensions: { traceparent: TRACEPARENT } }));
    expect(message.headers).to.deep.equal({
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': 'evt-1',
      'ce-type': SCALE_DECIDED,
      'ce-source': '/ssis/functions/evaluate',
      'ce-time': T0,
      'ce-subject': scaleDecided.service,
      'ce-partitionkey': scaleDecided.service,
      'ce-traceparent': TRACEPARENT,
    });
    expect(JSON.parse(message.body)).to.deep.equal(scaleDecided);
  });

  it('writes structured mode as one JSON document', () => {
    const ev = eventOf(SCALE_DECIDED, scaleDecided, { extensions: { attempt: 2 } });
    const message = toHttpStructured(ev);
    expect(message.headers).to.deep.equal({ 'content-type': 'application/cloudevents+json; charset=utf-8' });
    expect(JSON.parse(message.body)).to.deep.equal({ ...omit(ev, 'extensions'), attempt: 2 });
  });

  it('brings integer and boolean extensions back as strings in binary mode (headers are text)', () => {
    const ev = eventOf(SCALE_DECIDED, scaleDecided, { extensions: { attempt: 2, replay: true } });
    expect(fromHttp(toHttpBinary(ev)).extensions).to.deep.equal({ attempt: '2', replay: 'true' });
  });

  it('reads a Buffer body, header names in any case and repeated headers', () => {
    const { headers, body } = toHttpBinary(eventOf(SCALE_DECIDED, scaleDecided));
    const shouting = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toUpperCase(), value]));
    const incoming: IncomingHttpHeaders = { ...shouting, 'CE-ID': ['evt-0', 'evt-9'] }; // what node:http hands a server
    const ev = fromHttp({ headers: incoming, body: Buffer.from(body, 'utf8') });
    expect(ev.id).to.equal('evt-9');
    expect(ev.data).to.deep.equal(scaleDecided);
  });

  it('writes binary messages the cloudevents SDK reads', () => {
    const ev = eventOf(SCALE_DECIDED, scaleDecided);
    const sdkEvent = HTTP.toEvent(toHttpBinary(ev));
    expect(sdkEvent).to.deep.include({ id: ev.id, type: ev.type, source: ev.source, time: ev.time, partitionkey: ev.partitionkey, data: scaleDecided });
  });

  it('accepts a binary tick without body', () => {
    const tick = fromHttp({ headers: { 'ce-specversion': '1.0', 'ce-id': 'p-1', 'ce-type': 'dev.knative.sources.ping', 'ce-source': '/ping' }, body: undefined });
    expect(tick).to.deep.equal({ specversion: '1.0', id: 'p-1', type: 'dev.knative.sources.ping', source: '/ping' });
  });

  describe('malformed messages', () => {
    it('missing ce-id → field id', () => {
      const { headers, body } = binaryMessage({});
      expect(issuesOf(() => fromHttp({ headers: omit(headers, 'ce-id'), body }))).to.deep.equal([{ field: 'id', message: 'is required' }]);
    });

    it('wrong specversion → field specversion', () => {
      expect(issuesOf(() => fromHttp(binaryMessage({ 'ce-specversion': '0.3' })))).to.deep.equal([{ field: 'specversion', message: 'must be 1.0, not "0.3"' }]);
    });

    it('a body that is not JSON → field data, the other checks still run', () => {
      const issues = issuesOf(() => fromHttp(binaryMessage({ 'ce-time': 'now' }, '{"decisionId": ')));
      expect(issues.map((i) => i.field)).to.have.members(['data', 'time']);
      expect(issues.find((i) => i.field === 'data')?.message).to.match(/^is not valid JSON \(/);
    });

    it('a structured body that is not JSON → field event', () => {
      expect(fieldsOf(() => fromHttp({ headers: { 'content-type': 'application/cloudevents+json' }, body: 'not json' }))).to.deep.equal(['event']);
    });

    it('an extension name with upper case → field named after it', () => {
      expect(issuesOf(() => fromHttp(structuredMessage({ TraceParent: TRACEPARENT })))).to.deep.equal([
        { field: 'TraceParent', message: 'extension name must consist of lower-case letters a-z and digits 0-9' },
      ]);
    });

    it('data not matching the schema → data.<path>', () => {
      const body = JSON.stringify({ ...scaleDecided, target: { ...scaleDecided.target, replicas: -1 }, extra: 1 });
      expect(fieldsOf(() => fromHttp(binaryMessage({}, body)))).to.have.members(['data.target.replicas', 'data.extra']);
      expect(fieldsOf(() => fromHttp(structuredMessage({ data: { ...scaleDecided, action: 'sideways' } })))).to.deep.equal(['data.action']);
    });

    it('a body without content-type, or not JSON → field datacontenttype', () => {
      const { headers, body } = binaryMessage({});
      expect(fieldsOf(() => fromHttp({ headers: omit(headers, 'content-type'), body }))).to.deep.equal(['datacontenttype']);
      expect(fieldsOf(() => fromHttp(binaryMessage({ 'content-type': 'text/plain' }, 'hello')))).to.deep.equal(['datacontenttype']);
    });

    it('no CloudEvent at all → every required attribute named', () => {
      expect(fieldsOf(() => fromHttp({ headers: { 'content-type': 'application/json' }, body: '{}' }))).to.have.members(['specversion', 'id', 'type', 'source']);
    });

    it('batch mode is refused', () => {
      const issues = issuesOf(() => fromHttp({ headers: { 'content-type': 'application/cloudevents-batch+json' }, body: '[]' }));
      expect(issues).to.deep.equal([{ field: 'content-type', message: 'batch mode (application/cloudevents-batch+json) is not supported: send one event per message' }]);
    });

    it('a structured event format other than JSON is refused', () => {
      expect(fieldsOf(() => fromHttp({ headers: { 'content-type': 'application/cloudevents+avro' }, body: 'x' }))).to.deep.equal(['content-type']);
    });
  });

  it('an event the SDK cannot write gives an SsisError naming the field', () => {
    const ev = eventOf(SCALE_DECIDED, scaleDecided);
    expect(fieldsOf(() => toHttpBinary({ ...ev, source: '' }))).to.deep.equal(['source']);
    expect(fieldsOf(() => toHttpStructured({ ...ev, extensions: { ratio: 0.5 } }))).to.deep.equal(['extensions']);
  });

  it('percent-encodes header values that are not printable ASCII, so free text survives', () => {
    const errorText = 'upstream said "no"\n100% – überlastet';
    const ev = eventOf(SCALE_DECIDED, scaleDecided, { extensions: { knativeerrordata: errorText, knativeerrorcode: 503 } });
    const message = toHttpBinary(ev);
    expect(message.headers['ce-knativeerrordata']).to.equal('upstream%20said%20%22no%22%0A100%25%20%E2%80%93%20%C3%BCberlastet');
    expect(Object.values(message.headers).every((v) => /^[\x20-\x7e]*$/.test(v))).to.equal(true);
    expect(fromHttp(message).extensions).to.deep.equal({ knativeerrordata: errorText, knativeerrorcode: '503' });
  });

  it('refuses a header value that is not validly percent-encoded', () => {
    expect(issuesOf(() => fromHttp(binaryMessage({ 'ce-subject': '%C0%A0' })))).to.deep.equal([
      { field: 'subject', message: 'is not validly percent-encoded in header ce-subject' },
    ]);
  });

  describe('header values (HTTP binding §3.1.3.2)', () => {
    it('leave printable ASCII as it is', () => {
      expect(encodeHeaderValue('/ssis/functions/evaluate?x=1&y=~')).to.equal('/ssis/functions/evaluate?x=1&y=~');
      expect(decodeHeaderValue('/ssis/functions/evaluate')).to.equal('/ssis/functions/evaluate');
    });

    it('encode space, quote, percent and non-ASCII as UTF-8 bytes in upper-case hex', () => {
      expect(encodeHeaderValue('a b"c%dé')).to.equal('a%20b%22c%25d%C3%A9');
      expect(decodeHeaderValue('a%20b%22c%25d%C3%A9')).to.equal('a b"c%dé');
    });

    it('accept needless encoding and quoted strings', () => {
      expect(decodeHeaderValue('%7e%41')).to.equal('~A');
      expect(decodeHeaderValue('"say \\"hi\\""')).to.equal('say "hi"');
    });

    it('reject invalid UTF-8 and stray percent signs', () => {
      expect(decodeHeaderValue('%C0%A0')).to.equal(undefined);
      expect(decodeHeaderValue('100%')).to.equal(undefined);
    });
  });

  it('normalizes headers: lower-case names, last of repeated values, no undefined', () => {
    expect(normalizeHttpHeaders({ 'Content-Type': 'application/json', 'ce-x': ['a', 'b'], 'ce-y': undefined })).to.deep.equal({ 'content-type': 'application/json', 'ce-x': 'b' });
  });

  describe('any valid CloudEvent, as a broker reads it (fromHttpAnyEvent)', () => {
    const attributes = { 'ce-specversion': '1.0', 'ce-id': 'r-1', 'ce-type': 'com.example.reading', 'ce-source': '/sensors/7' };
    const base = { specversion: '1.0', id: 'r-1', type: 'com.example.reading', source: '/sensors/7' } as const;

    it('keeps data in another media type as its bytes, and writes them back unchanged', () => {
      const text = Buffer.from('21.5 °C\r\n', 'utf8');
      const ev = fromHttpAnyEvent({ headers: { ...attributes, 'content-type': 'text/plain; charset=utf-8' }, body: text });
      expect(ev).to.deep.equal({ ...base, datacontenttype: 'text/plain; charset=utf-8', data_base64: text.toString('base64') });
      const message = toHttpBinary(ev);
      expect(Buffer.from(message.body).equals(text)).to.equal(true);
      expect(message.headers).to.deep.equal({ ...attributes, 'content-type': 'text/plain; charset=utf-8' });
    });

    it('takes binary data without content type, and sends it without one', () => {
      const bytes = Buffer.from([0x00, 0xff, 0x10, 0x80]);
      const ev = fromHttpAnyEvent({ headers: attributes, body: bytes });
      expect(ev).to.deep.equal({ ...base, data_base64: bytes.toString('base64') });
      const message = toHttpBinary(ev);
      expect(message.headers).to.not.have.property('content-type');
      expect(message.headers).to.not.have.property('ce-time');
      expect(Buffer.from(message.body).equals(bytes)).to.equal(true);
    });

    it('reads structured data_base64, and text data of a non-JSON media type as its UTF-8 bytes', () => {
      const structured = (event: Record<string, unknown>): AnyCloudEvent => fromHttpAnyEvent({ headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify({ ...base, ...event }) });
      expect(structured({ datacontenttype: 'image/png', data_base64: 'iVBORw0KGgo=' })).to.deep.equal({ ...base, datacontenttype: 'image/png', data_base64: 'iVBORw0KGgo=' });
      expect(structured({ datacontenttype: 'application/xml', data: '<a>é</a>' })).to.deep.equal({ ...base, datacontenttype: 'application/xml', data_base64: Buffer.from('<a>é</a>').toString('base64') });
      expect(fieldsOf(() => structured({ data: {}, data_base64: 'AA==' }))).to.deep.equal(['data_base64']);
      expect(fieldsOf(() => structured({ data_base64: 'A' }))).to.deep.equal(['data_base64']);
      expect(fieldsOf(() => structured({ datacontenttype: '', data_base64: 'AA==' }))).to.deep.equal(['datacontenttype']);
    });

    it('reads JSON data as fromHttp does', () => {
      const ev = eventOf(SCALE_DECIDED, scaleDecided, { extensions: { traceparent: TRACEPARENT } });
      expect(fromHttpAnyEvent(toHttpBinary(ev))).to.deep.equal(ev);
      expect(fromHttpAnyEvent({ headers: { ...attributes, 'content-type': 'application/json' }, body: '{"celsius":21.5}' })).to.deep.equal({ ...base, datacontenttype: 'application/json', data: { celsius: 21.5 } });
      expect(fieldsOf(() => fromHttpAnyEvent({ headers: { ...attributes, 'content-type': 'application/json' }, body: '{' }))).to.deep.equal(['data']);
    });

    it('still refuses a missing or wrong required attribute, and non-JSON data on ssis.* events', () => {
      expect(fieldsOf(() => fromHttpAnyEvent({ headers: { 'content-type': 'text/plain' }, body: 'x' }))).to.have.members(['specversion', 'id', 'type', 'source']);
      expect(issuesOf(() => fromHttpAnyEvent({ headers: { ...attributes, 'ce-specversion': '0.3' }, body: 'x' }))).to.deep.equal([{ field: 'specversion', message: 'must be 1.0, not "0.3"' }]);
      expect(fieldsOf(() => fromHttpAnyEvent(binaryMessage({ 'content-type': 'text/plain' }, 'hello')))).to.deep.equal(['datacontenttype']);
      const { headers, body } = binaryMessage({});
      expect(fieldsOf(() => fromHttpAnyEvent({ headers: omit(headers, 'content-type'), body }))).to.deep.equal(['datacontenttype']);
    });

    it('leaves fromHttp, the functions’ reader, strict about JSON', () => {
      expect(fieldsOf(() => fromHttp({ headers: { ...attributes, 'content-type': 'text/plain' }, body: 'x' }))).to.deep.equal(['datacontenttype']);
      expect(fieldsOf(() => fromHttp({ headers: attributes, body: 'x' }))).to.deep.equal(['datacontenttype']);
    });
  });
});
