/**
 * CloudEvents over HTTP (CloudEvents HTTP protocol binding 1.0; knative-kafka.md §1.5, §1.7, §4).
 * Knative delivers to subscribers in binary mode (`ce-*` headers, data as the body) and accepts
 * replies in binary or structured mode (`application/cloudevents+json`, the event as the body).
 * Writing goes through the cloudevents SDK (`HTTP.binary`, `HTTP.structured`), so the headers are
 * the SDK's; reading is shared with the Kafka codec (events/codec/wire.ts says why).
 *
 * fromHttp reads what an SSIS function accepts (JSON data only); fromHttpAnyEvent reads any valid
 * CloudEvent, as a broker must: data in another media type, or without one, is kept as its bytes
 * (AnyCloudEvent's `data_base64`) and toHttpBinary writes those bytes back unchanged.
 *
 * In binary mode every extension value becomes a header string, so an integer or boolean
 * extension comes back as a string; structured mode keeps JSON types. Header values are
 * percent-encoded as the binding requires (events/codec/http-header-value.ts). The SDK writes `time`
 * as `Date#toISOString()` (same instant, millisecond precision, `Z`).
 */
import { CloudEvent, HTTP, ValidationError } from 'cloudevents';
import type { ErrorObject } from 'ajv';
import { validationError, type FieldIssue } from '../../core/errors.js';
import type { AnyCloudEvent, SsisEvent } from '../envelope.js';
import { fieldPath } from '../data-schema.js';
import { isBatchMode, isStructuredMode } from '../media-type.js';
import { binaryModeData } from './binary-data.js';
import { decodeHeaderValue, encodeHeaderValue } from './http-header-value.js';
import { CONTENT_TYPE_HEADER, decodeBinary, decodeStructured, refuseBatch, type EnvelopeRules } from './wire.js';

const ATTRIBUTE_HEADER_PREFIX = 'ce-';

/**
 * An HTTP message as this codec writes it: header names lower-case, values strings; the body a
 * string (JSON, text), or a Buffer holding the exact bytes of data that is not JSON.
 */
export interface HttpMessage {
  readonly headers: Record<string, string>;
  readonly body: string | Buffer;
}

/** A message whose body is text: an SsisEvent's JSON data, or any event in structured mode. */
export interface TextHttpMessage extends HttpMessage {
  readonly body: string;
}

/** An HTTP message as a server receives it (Node's IncomingHttpHeaders fits). */
export interface IncomingHttpMessage {
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly body: string | Buffer | undefined;
}

/**
 * Binary content mode: attributes as `ce-*` headers, `content-type` = datacontenttype (none when
 * the event has none), body = the data (events/codec/binary-data.ts; '' without data).
 * @throws {SsisError} SSIS_INVALID_EVENT when the SDK rejects the event
 */
export function toHttpBinary(ev: SsisEvent<unknown>): TextHttpMessage;
export function toHttpBinary(ev: AnyCloudEvent): HttpMessage;
export function toHttpBinary(ev: AnyCloudEvent): HttpMessage {
  const headers = stringHeaders(HTTP.binary(toSdkEvent(ev)).headers);
  // The SDK fills in what the event leaves out (the current time, a JSON content type); an event
  // is passed on as it is, so that a subscriber sees what its producer sent.
  if (ev.time === undefined) delete headers['ce-time'];
  if (ev.datacontenttype === undefined) delete headers[CONTENT_TYPE_HEADER];
  // The SDK leaves values as they are; the binding wants them percent-encoded.
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(ATTRIBUTE_HEADER_PREFIX)) headers[name] = encodeHeaderValue(value);
  }
  // The body is written here, not taken from the SDK: it passes string data through unencoded.
  return { headers, body: binaryModeData(ev) ?? '' };
}

/**
 * Structured content mode: `content-type: application/cloudevents+json; charset=utf-8`, body =
 * the event as JSON with its extensions as top-level attributes.
 * @throws {SsisError} SSIS_INVALID_EVENT when the SDK rejects the event
 */
export function toHttpStructured(ev: AnyCloudEvent): TextHttpMessage {
  const message = HTTP.structured(toSdkEvent(ev));
  return { headers: stringHeaders(message.headers), body: String(message.body) };
}

/**
 * Reads a binary or structured message (mode from `content-type`, header names in any case, body
 * as string or Buffer) and checks it like validateEnvelope. Batch mode is refused.
 * @throws {SsisError} SSIS_INVALID_EVENT naming every bad field (`id` for a missing `ce-id`, `data` for a body that is not JSON, ...)
 */
export function fromHttp(message: IncomingHttpMessage): SsisEvent<unknown> {
  // The `ssis` rules hold the event to the SSIS envelope (JSON data), which SsisEvent declares.
  return decodeHttp(message, 'ssis') as SsisEvent<unknown>;
}

/**
 * Reads any valid CloudEvent (what a broker must carry): like fromHttp, except that events other
 * than ssis.* may carry data in any media type, or without one; such data comes back as its exact
 * bytes in `data_base64`. Batch mode is refused.
 * @throws {SsisError} SSIS_INVALID_EVENT naming every bad attribute (`id`, `specversion`, ...)
 */
export function fromHttpAnyEvent(message: IncomingHttpMessage): AnyCloudEvent {
  return decodeHttp(message, 'cloudevents');
}

function decodeHttp(message: IncomingHttpMessage, rules: EnvelopeRules): AnyCloudEvent {
  const headers = normalizeHttpHeaders(message.headers);
  const body = message.body ?? '';
  const contentType = headers[CONTENT_TYPE_HEADER];
  if (contentType !== undefined && isBatchMode(contentType)) return refuseBatch(contentType);
  if (contentType !== undefined && isStructuredMode(contentType)) return decodeStructured(contentType, body.toString(), rules);
  return decodeBinaryHttp(headers, body, rules);
}

function decodeBinaryHttp(headers: Record<string, string>, body: string | Buffer, rules: EnvelopeRules): AnyCloudEvent {
  const decoded: Record<string, string> = {};
  const issues: FieldIssue[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const plain = name.startsWith(ATTRIBUTE_HEADER_PREFIX) ? decodeHeaderValue(value) : value;
    if (plain !== undefined) decoded[name] = plain;
    else issues.push({ field: name.slice(ATTRIBUTE_HEADER_PREFIX.length), message: `is not validly percent-encoded in header ${name}` });
  }
  return decodeBinary(decoded, ATTRIBUTE_HEADER_PREFIX, body, issues, rules);
}

/**
 * Header names are case-insensitive in HTTP, so they are lower-cased; a repeated header (an
 * array) counts by its last value; absent values are dropped.
 */
export function normalizeHttpHeaders(headers: IncomingHttpMessage['headers']): Record<string, string> {
  const normalized: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const last = typeof value === 'string' ? value : value?.[value.length - 1];
    if (last !== undefined) normalized[name.toLowerCase()] = last;
  }
  return normalized;
}

/** The SDK's event, built strictly so that it checks what it will write. */
function toSdkEvent(ev: AnyCloudEvent): CloudEvent<unknown> {
  const { extensions, ...attributes } = ev;
  const flat = { ...extensions, ...attributes };
  try {
    return new CloudEvent<unknown>(flat, true);
  } catch (err) {
    if (err instanceof ValidationError) throw validationError('SSIS_INVALID_EVENT', 'invalid CloudEvent', sdkIssues(err, flat));
    throw err;
  }
}

/** The SDK reports schema violations as ajv errors and naming violations in its message only. */
function sdkIssues(err: ValidationError, event: object): FieldIssue[] {
  const schemaErrors = (err.errors ?? []).filter((e): e is ErrorObject => typeof e === 'object');
  if (schemaErrors.length > 0) {
    return schemaErrors.map((e) => ({ field: fieldPath('', e.instancePath, event).replace(/^\./, '') || 'event', message: e.message ?? e.keyword }));
  }
  const firstLine = err.message.split('\n')[0] ?? err.message;
  const badName = /^invalid extension name: (.+)$/.exec(firstLine)?.[1];
  const field = badName ?? (firstLine.startsWith('invalid extension value') ? 'extensions' : 'event');
  return [{ field, message: firstLine }];
}

function stringHeaders(headers: Readonly<Record<string, unknown>>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') result[name.toLowerCase()] = String(value);
  }
  return result;
}
