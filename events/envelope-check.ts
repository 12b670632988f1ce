/**
 * The checks behind validateEnvelope (events/create.ts), kept apart so that the codecs can add
 * problems of their own (a body that is not JSON) and report everything in one error.
 *
 * Rules: CloudEvents 1.0 core spec (required attributes, attribute naming, type system) plus the
 * SSIS contract: ssis.* events carry `time` and the `partitionkey` extension (= data.service, the
 * Kafka record key, knative-kafka.md §1.1), JSON data, and data matching their schema.
 * checkEnvelope holds every event to JSON data (what the SSIS functions take); checkAnyEnvelope
 * is the brokers' rule, which carries any valid CloudEvent and its data as it is.
 */
import { SsisError, type FieldIssue } from '../core/errors.js';
import type { AnyCloudEvent, ExtensionValue, SsisEvent } from './envelope.js';
import { isJsonObject, type JsonObject } from './json-object.js';
import { isJsonMediaType, JSON_MEDIA_TYPE } from './media-type.js';
import { hasDataContract, parseEventData, SSIS_TYPE_PREFIX } from './registry.js';
import { isRfc3339DateTime } from './rfc3339.js';

/** Context attributes of CloudEvents 1.0 as SsisEvent names them; every other attribute is an extension. */
const CONTEXT_ATTRIBUTES = new Set(['specversion', 'id', 'type', 'source', 'subject', 'time', 'datacontenttype', 'partitionkey', 'data', 'data_base64']);

/** CloudEvents attribute naming rule (spec §3.1.1). The "at most 20 characters" part is a SHOULD: not enforced. */
const ATTRIBUTE_NAME = /^[a-z0-9]+$/;

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

export interface EnvelopeCheckOptions {
  /** The transport found the data unreadable and reports that itself: skip the data checks. */
  readonly dataUnreadable?: boolean;
}

export type EnvelopeCheck =
  | { readonly ok: true; readonly event: SsisEvent<unknown> }
  | { readonly ok: false; readonly issues: readonly FieldIssue[] };

export type AnyEnvelopeCheck =
  | { readonly ok: true; readonly event: AnyCloudEvent }
  | { readonly ok: false; readonly issues: readonly FieldIssue[] };

/** The base64 alphabet of RFC 4648 §4, padded (what CloudEvents' data_base64 holds). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Checks a CloudEvent given as a flat JSON object (the structured-mode form, extensions as
 * top-level attributes) or as an SsisEvent (extensions nested under `extensions`; an object
 * value cannot be a CloudEvents attribute, so the two forms never clash). Collects every issue.
 */
export function checkEnvelope(input: unknown, options: EnvelopeCheckOptions = {}): EnvelopeCheck {
  return check(input, options, false) as EnvelopeCheck;
}

/**
 * Checks a CloudEvent as a broker carries it: the CloudEvents 1.0 rules for every event, the SSIS
 * contract for ssis.* events only. Data of other events may be in any media type, or in none
 * declared: JSON data comes back in `data`, any other data as its bytes in `data_base64` (a string
 * `data` of, say, text/plain becomes its UTF-8 bytes), as AnyCloudEvent describes.
 */
export function checkAnyEnvelope(input: unknown, options: EnvelopeCheckOptions = {}): AnyEnvelopeCheck {
  return check(input, options, true);
}

function check(input: unknown, options: EnvelopeCheckOptions, anyMediaType: boolean): AnyEnvelopeCheck {
  if (!isJsonObject(input)) return { ok: false, issues: [{ field: 'event', message: 'must be a JSON object' }] };
  const issues: FieldIssue[] = [];
  const text = (name: string, rule: { required: boolean }): string | undefined => checkText(input, name, rule, issues);

  const specversion = input['specversion'];
  if (specversion === undefined) issues.push({ field: 'specversion', message: 'is required' });
  else if (specversion !== '1.0') issues.push({ field: 'specversion', message: `must be 1.0, not ${JSON.stringify(specversion)}` });

  const id = text('id', { required: true });
  const type = text('type', { required: true });
  const source = text('source', { required: true });
  const subject = text('subject', { required: false });
  const isSsisType = type?.startsWith(SSIS_TYPE_PREFIX) === true;
  const partitionkey = text('partitionkey', { required: isSsisType });
  const time = text('time', { required: isSsisType });
  if (time !== undefined && !isRfc3339DateTime(time)) issues.push({ field: 'time', message: 'must be an RFC 3339 date-time, e.g. 2026-11-03T10:00:00Z' });

  // Only ssis.* events are bound to JSON data everywhere; a broker carries other data as it is.
  const opaqueDataAllowed = anyMediaType && !isSsisType;
  const given = input['data'];
  let datacontenttype: string | undefined;
  let dataBase64: string | undefined;
  if (opaqueDataAllowed) {
    datacontenttype = checkAnyDataContentType(input['datacontenttype'], given !== undefined, issues);
    dataBase64 = checkDataBase64(input['data_base64'], given, datacontenttype, issues);
  } else {
    dataBase64 = refuseDataBase64(input['data_base64'], issues);
    datacontenttype = checkDataContentType(input['datacontenttype'], given !== undefined, issues);
  }
  // From here on `data` is JSON data only.
  const data = dataBase64 === undefined ? given : undefined;
  const hasData = data !== undefined;
  if (isSsisType && !hasData && !options.dataUnreadable) issues.push({ field: 'data', message: 'is required' });

  if (hasData && type !== undefined && hasDataContract(type) && !options.dataUnreadable) {
    const problems = dataIssues(type, data);
    issues.push(...problems);
    // Compared only for valid data: a bad data.service is reported once, on data.service.
    const service = problems.length === 0 && isJsonObject(data) ? data['service'] : undefined;
    if (isSsisType && partitionkey !== undefined && typeof service === 'string' && partitionkey !== service) {
      issues.push({ field: 'partitionkey', message: `must equal data.service (${service})` });
    }
  }

  const extensions = collectExtensions(input, issues);
  if (issues.length > 0 || id === undefined || type === undefined || source === undefined) return { ok: false, issues };

  // Optional attributes are left out, not set to undefined, so that decoded events deep-equal created ones.
  // Foreign events (PingSource) may lack time and partitionkey although SsisEvent declares them.
  const event = {
    specversion: '1.0',
    id,
    type,
    source,
    ...(subject === undefined ? {} : { subject }),
    ...(time === undefined ? {} : { time }),
    ...(datacontenttype === undefined ? {} : { datacontenttype }),
    ...(partitionkey === undefined ? {} : { partitionkey }),
    ...(hasData ? { data } : {}),
    ...(dataBase64 === undefined ? {} : { data_base64: dataBase64 }),
    ...(Object.keys(extensions).length === 0 ? {} : { extensions }),
  } as AnyCloudEvent;
  return { ok: true, event };
}

/** A string attribute: absent, or a non-empty string (CloudEvents: present attributes are never empty). */
function checkText(input: JsonObject, name: string, rule: { required: boolean }, issues: FieldIssue[]): string | undefined {
  const value = input[name];
  if (value === undefined) {
    if (rule.required) issues.push({ field: name, message: 'is required' });
    return undefined;
  }
  if (typeof value !== 'string') issues.push({ field: name, message: 'must be string' });
  else if (value === '') issues.push({ field: name, message: 'must not be empty' });
  else return value;
  return undefined;
}

/** SSIS data is JSON; with data and no datacontenttype the JSON event format says "as if application/json". */
function checkDataContentType(value: unknown, hasData: boolean, issues: FieldIssue[]): typeof JSON_MEDIA_TYPE | undefined {
  if (value === undefined) return hasData ? JSON_MEDIA_TYPE : undefined;
  if (typeof value === 'string' && isJsonMediaType(value)) return JSON_MEDIA_TYPE;
  issues.push({ field: 'datacontenttype', message: `must be ${JSON_MEDIA_TYPE}, not ${JSON.stringify(value)}` });
  return undefined;
}

/** Any media type for data that is not SSIS's own; JSON ones are normalized as SSIS events have them. */
function checkAnyDataContentType(value: unknown, hasData: boolean, issues: FieldIssue[]): string | undefined {
  if (value === undefined) return hasData ? JSON_MEDIA_TYPE : undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    issues.push({ field: 'datacontenttype', message: 'must be a media type (RFC 2046), e.g. text/plain' });
    return undefined;
  }
  return isJsonMediaType(value) ? JSON_MEDIA_TYPE : value;
}

function refuseDataBase64(value: unknown, issues: FieldIssue[]): undefined {
  if (value !== undefined) issues.push({ field: 'data_base64', message: 'binary data is not supported: SSIS events carry JSON data' });
  return undefined;
}

/**
 * The opaque data of an event a broker carries, base64-encoded: `data_base64` as given, or a
 * `data` whose media type is not JSON (the JSON event format holds text data as a string).
 */
function checkDataBase64(value: unknown, data: unknown, datacontenttype: string | undefined, issues: FieldIssue[]): string | undefined {
  if (value !== undefined) {
    if (data !== undefined) issues.push({ field: 'data_base64', message: 'must not be given together with data' });
    else if (typeof value !== 'string' || !BASE64.test(value)) issues.push({ field: 'data_base64', message: 'must be a base64 string (RFC 4648)' });
    else return value;
    return undefined;
  }
  if (data === undefined || datacontenttype === undefined || isJsonMediaType(datacontenttype)) return undefined;
  return Buffer.from(typeof data === 'string' ? data : JSON.stringify(data), 'utf8').toString('base64');
}

function dataIssues(type: string, data: unknown): readonly FieldIssue[] {
  try {
    parseEventData(type, data);
    return [];
  } catch (err) {
    if (err instanceof SsisError) return err.issues;
    throw err;
  }
}

/** Gathers extension attributes from both accepted forms and checks their names and values. */
function collectExtensions(input: JsonObject, issues: FieldIssue[]): Record<string, ExtensionValue> {
  const extensions: Record<string, ExtensionValue> = {};
  const add = (name: string, value: unknown, field: string): void => {
    const problem = extensionProblem(name, value) ?? (Object.hasOwn(extensions, name) ? 'is given twice (top level and in extensions)' : undefined);
    if (problem !== undefined) issues.push({ field, message: problem });
    else extensions[name] = value as ExtensionValue;
  };
  for (const [name, value] of Object.entries(input)) {
    if (CONTEXT_ATTRIBUTES.has(name) || value === undefined) continue;
    if (name === 'extensions' && isJsonObject(value)) {
      for (const [nested, nestedValue] of Object.entries(value)) {
        if (CONTEXT_ATTRIBUTES.has(nested)) issues.push({ field: `extensions.${nested}`, message: 'is a context attribute, not an extension' });
        else add(nested, nestedValue, `extensions.${nested}`);
      }
    } else {
      add(name, value, name);
    }
  }
  return extensions;
}

function extensionProblem(name: string, value: unknown): string | undefined {
  if (!ATTRIBUTE_NAME.test(name)) return 'extension name must consist of lower-case letters a-z and digits 0-9';
  if (typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX) return undefined;
  // CloudEvents Integer is 32-bit; the SDK rejects floats (knative-kafka.md §4): carry them as strings.
  return 'must be a string, a boolean or a 32-bit integer';
}
