import { expect } from 'chai';
import { DEFAULT_MAX_JSON_DEPTH } from '../../core/common/bounded-json.js';
import { fromHttp, fromHttpAnyEvent, type IncomingHttpMessage } from '../../events/codec/http.js';
import { fromKafkaRecord, fromKafkaRecordAnyEvent, type IncomingKafkaRecord } from '../../events/codec/kafka.js';
import { SCALE_DECIDED } from '../../events/scale-decided.js';
import { T0 } from './fixtures.js';
import { refusal } from '../support/rejection';

const nested = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
const DEEP = nested(5000);


function expectTooDeep(fn: () => unknown, field: 'event' | 'data'): void {
  const err = refusal(fn);
  expect(err.code).to.equal('SSIS_INVALID_EVENT');
  expect(err.httpStatus).to.equal(400);
  expect(err.retriable).to.equal(false);
  const issue = err.issues.find((i) => i.field === field);
  expect(issue?.message, JSON.stringify(err.issues)).to.contain(String(DEFAULT_MAX_JSON_DEPTH));
}

const attributes = (type: string): Record<string, string> => ({ specversion: '1.0', id: 'deep-1', type, source: '/producer', time: T0 });

function httpBinary(type: string, body: string): IncomingHttpMessage {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'ce-partitionkey': 'gpt2' };
  for (const [name, value] of Object.entries(attributes(type))) headers[`ce-${name}`] = value;
  return { headers, body: Buffer.from(body) };
}

function httpStructured(type: string, data: string): IncomingHttpMessage {
  const event = JSON.stringify({ ...attributes(type), partitionkey: 'gpt2', datacontenttype: 'application/json' }).replace(/}$/, `,"data":${data}}`);
  return { headers: { 'content-type': 'application/cloudevents+json' }, body: event };
}

function kafkaBinary(type: string, value: string): IncomingKafkaRecord {
  const headers: Record<string, Buffer> = { 'content-type': Buffer.from('application/json'), ce_partitionkey: Buffer.from('gpt2') };
  for (const [name, v] of Object.entries(attributes(type))) headers[`ce_${name}`] = Buffer.from(v);
  return { key: 'gpt2', value: Buffer.from(value), headers };
}

function kafkaStructured(type: string, data: string): IncomingKafkaRecord {
  const message = httpStructured(type, data);
  return { key: 'gpt2', value: Buffer.from(String(message.body)), headers: { 'content-type': Buffer.from('application/cloudevents+json') } };
}

describe('events/codec JSON nesting bound (core/common/bounded-json.ts)', () => {
  for (const type of [SCALE_DECIDED, 'com.example.foreign']) {
    describe(type, () => {
      it('HTTP structured mode: an event nested 5,000 deep is SSIS_INVALID_EVENT naming event, not a RangeError later', () => {
        expectTooDeep(() => fromHttpAnyEvent(httpStructured(type, DEEP)), 'event');
        if (type === SCALE_DECIDED) expectTooDeep(() => fromHttp(httpStructured(type, DEEP)), 'event');
      });

      it('HTTP binary mode: JSON data nested 5,000 deep is SSIS_INVALID_EVENT naming data', () => {
        expectTooDeep(() => fromHttpAnyEvent(httpBinary(type, DEEP)), 'data');
        if (type === SCALE_DECIDED) expectTooDeep(() => fromHttp(httpBinary(type, DEEP)), 'data');
      });

      it('Kafka binary and structured mode: the same bound', () => {
        expectTooDeep(() => fromKafkaRecordAnyEvent(kafkaBinary(type, DEEP)), 'data');
        expectTooDeep(() => fromKafkaRecordAnyEvent(kafkaStructured(type, DEEP)), 'event');
        if (type === SCALE_DECIDED) expectTooDeep(() => fromKafkaRecord(kafkaBinary(type, DEEP)), 'data');
      });
    });
  }

  it('takes JSON data up to the bound: 32 levels in binary mode, 31 inside a structured event', () => {
    const foreign = 'com.example.foreign';
    expect(fromHttpAnyEvent(httpBinary(foreign, nested(DEFAULT_MAX_JSON_DEPTH))).data).to.be.an('array');
    expectTooDeep(() => fromHttpAnyEvent(httpBinary(foreign, nested(DEFAULT_MAX_JSON_DEPTH + 1))), 'data');
    expect(fromHttpAnyEvent(httpStructured(foreign, nested(DEFAULT_MAX_JSON_DEPTH - 1))).data).to.be.an('array');
    expectTooDeep(() => fromHttpAnyEvent(httpStructured(foreign, nested(DEFAULT_MAX_JSON_DEPTH))), 'event');
  });

  it('leaves data that is not JSON unparsed: brackets in text/plain are bytes, whatever their depth', () => {
    const message = httpBinary('com.example.text', DEEP);
    const ev = fromHttpAnyEvent({ ...message, headers: { ...message.headers, 'content-type': 'text/plain' } });
    expect(Buffer.from(ev.data_base64 ?? '', 'base64').toString()).to.equal(DEEP);
  });
});
