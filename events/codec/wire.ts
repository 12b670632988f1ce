/**
 * What the HTTP and Kafka codecs share when reading a message: both bindings map attributes to
 * prefixed headers in binary mode (`ce-` on HTTP, `ce_` on Kafka) with `content-type` carrying
 * datacontenttype, or carry the whole event as JSON in structured mode. The event then goes
 * through the same checks as validateEnvelope (or, for a broker, checkAnyEnvelope's), and every
 * problem, the transport's included, is reported in one SsisError.
 *
 * Decoding is done here rather than by the SDK's `HTTP.toEvent` / `Kafka.toEvent`: those replace
 * an unparsable `time` with the current time, wrap a body that is not JSON into a string, leave a
 * Buffer body unparsed, refuse a Kafka record without value (an event without data) and let the
 * record key override `partitionkey` (knative-kafka.md §4). Tests check that the SDK reads what
 * we write.
 *
 * JSON (a structured event, the data of a binary one) is parsed with its nesting bounded
 * (core/common/bounded-json.ts): a deeper event would be taken here and then break whatever walks
 * it later (the schema check, JSON.stringify on delivery) with a RangeError.
 */
import { tryParseJsonBounded } from '../../core/common/bounded-json.js';
import { validationError, type FieldIssue } from '../../core/errors.js';
import type { AnyCloudEvent } from '../envelope.js';
import { checkAnyEnvelope, checkEnvelope } from '../envelope-check.js';
import type { JsonObject } from '../json-object.js';
import { essence, isJsonMediaType, STRUCTURED_JSON_MEDIA_TYPE } from '../media-type.js';
import { SSIS_TYPE_PREFIX } from '../registry.js';

export const CONTENT_TYPE_HEADER = 'content-type';

export type BinaryHeaderPrefix = 'ce-' | 'ce_';

/**
 * Which checks a decoded event goes through: `ssis` = validateEnvelope's (JSON data for every
 * event; what an SSIS function accepts, so the result is an SsisEvent), `cloudevents` =
 * checkAnyEnvelope's (any valid CloudEvent, its data as received; what a broker carries).
 */
export type EnvelopeRules = 'ssis' | 'cloudevents';

/** Attributes that never travel as headers: data is the message body. */
const BODY_ATTRIBUTES = new Set(['data', 'data_base64']);

/** An event as read off the wire, before the envelope checks. */
interface ReadEvent {
  /** A flat CloudEvents JSON object, unchecked. */
  readonly attributes: unknown;
  readonly issues: readonly FieldIssue[];
  readonly dataUnreadable: boolean;
}

/**
 * Binary content mode: one header per attribute, data = body (absent when there is none).
 * `transportIssues` are problems the caller already found in the headers; they are reported too.
 * Under the `cloudevents` rules a body that is not JSON (or comes without content type) on an
 * event other than ssis.* is kept as its bytes, in `data_base64`.
 * @throws {SsisError} SSIS_INVALID_EVENT listing every problem
 */
export function decodeBinary(
  headers: Readonly<Record<string, string>>,
  prefix: BinaryHeaderPrefix,
  body: Buffer | string | null,
  transportIssues: readonly FieldIssue[] = [],
  rules: EnvelopeRules = 'ssis',
): AnyCloudEvent {
  const attributes: JsonObject = {};
  const issues: FieldIssue[] = [...transportIssues];
  for (const [header, value] of Object.entries(headers)) {
    if (!header.startsWith(prefix)) continue;
    const name = header.slice(prefix.length);
    if (BODY_ATTRIBUTES.has(name)) issues.push({ field: name, message: `must travel in the body, not in header ${header}` });
    else attributes[name] = value;
  }
  const contentType = headers[CONTENT_TYPE_HEADER];
  if (contentType !== undefined) attributes['datacontenttype'] = contentType;

  let dataUnreadable = false;
  const type = attributes['type'];
  const opaque = rules === 'cloudevents' && !(typeof type === 'string' && type.startsWith(SSIS_TYPE_PREFIX)) && (contentType === undefined || !isJsonMediaType(contentType));
  if (body !== null && body.length > 0 && opaque) {
    attributes['data_base64'] = (typeof body === 'string' ? Buffer.from(body, 'utf8') : body).toString('base64');
  } else if (body !== null && body.length > 0) {
    if (contentType === undefined) {
      issues.push({ field: 'datacontenttype', message: `is required with data (${CONTENT_TYPE_HEADER} header missing)` });
      dataUnreadable = true;
    } else if (!isJsonMediaType(contentType)) {
      dataUnreadable = true; // the envelope check names the wrong datacontenttype
    } else {
      const parsed = tryParseJsonBounded(body.toString(), { field: 'data' });
      if (parsed.ok) attributes['data'] = parsed.value;
      else issues.push(parsed.issue);
      dataUnreadable = !parsed.ok;
    }
  }
  return finish({ attributes, issues, dataUnreadable }, rules);
}

/**
 * Structured content mode, JSON event format: the body is the event.
 * @throws {SsisError} SSIS_INVALID_EVENT listing every problem
 */
export function decodeStructured(contentType: string, body: string, rules: EnvelopeRules = 'ssis'): AnyCloudEvent {
  if (essence(contentType) !== STRUCTURED_JSON_MEDIA_TYPE) {
    throw validationError('SSIS_INVALID_EVENT', 'invalid CloudEvent', [
      { field: CONTENT_TYPE_HEADER, message: `only the JSON event format (${STRUCTURED_JSON_MEDIA_TYPE}) is supported, not ${contentType}` },
    ]);
  }
  const parsed = tryParseJsonBounded(body, { field: 'event' });
  if (!parsed.ok) throw validationError('SSIS_INVALID_EVENT', 'invalid CloudEvent', [parsed.issue]);
  return finish({ attributes: parsed.value, issues: [], dataUnreadable: false }, rules);
}

/** Batch mode carries several events in one message; SSIS handlers take one event per delivery. */
export function refuseBatch(contentType: string): never {
  throw validationError('SSIS_INVALID_EVENT', 'invalid CloudEvent', [
    { field: CONTENT_TYPE_HEADER, message: `batch mode (${contentType}) is not supported: send one event per message` },
  ]);
}

function finish(read: ReadEvent, rules: EnvelopeRules): AnyCloudEvent {
  const options = { dataUnreadable: read.dataUnreadable };
  const result = rules === 'ssis' ? checkEnvelope(read.attributes, options) : checkAnyEnvelope(read.attributes, options);
  const issues = [...read.issues, ...(result.ok ? [] : result.issues)];
  if (issues.length > 0 || !result.ok) throw validationError('SSIS_INVALID_EVENT', 'invalid CloudEvent', issues);
  return result.event;
}
