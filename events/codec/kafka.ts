/**
 * CloudEvents as Kafka records, exactly as the Knative Kafka Broker stores them (knative-kafka.md
 * §1.1), so that our records and the broker's are interchangeable in one topic.
 *
 * CloudEvents Kafka protocol binding 1.0 (cloudevents/spec, bindings/kafka-protocol-binding.md):
 * - §3.2 binary content mode, which the broker's receiver writes: every attribute but `data` is a
 *   header named `ce_<attribute>` (§3.2.3.1), keys and values UTF-8 strings (§3.2.3), except
 *   `datacontenttype`, which is the plain header `content-type` (§3.2.1); the data is the record
 *   value, and an event without data is a record without value (§3.2.2).
 * - §3.1 key mapping: the record key is the `partitionkey` extension as-is (the broker's
 *   PartitionKeyExtensionInterceptor does the same), and the extension also stays in the headers.
 *   Reading ignores the key: the mapping must not change the event, so partitionkey is read back
 *   from its header only.
 * - §3.3 structured content mode (`content-type: application/cloudevents+json`) is read too.
 *
 * Data in a media type other than JSON (AnyCloudEvent's `data_base64`) is the record value byte
 * for byte, so the broker carries any valid CloudEvent; fromKafkaRecordAnyEvent reads it back.
 *
 * The cloudevents SDK's `Kafka.binary` does not produce this layout (it adds `ce_datacontenttype`
 * and undefined-valued headers, and its value is not a Buffer; knative-kafka.md §4), hence the
 * hand-written encoder.
 */
import { validationError } from '../../core/errors.js';
import type { AnyCloudEvent, ExtensionValue, SsisEvent } from '../envelope.js';
import { isBatchMode, isStructuredMode } from '../media-type.js';
import { binaryModeData } from './binary-data.js';
import { CONTENT_TYPE_HEADER, decodeBinary, decodeStructured, refuseBatch, type EnvelopeRules } from './wire.js';

/** A record ready for kafkajs `producer.send({ topic, messages: [record] })`. */
export interface KafkaRecord {
  /** The partitionkey extension, or null (the producer then spreads records over partitions). */
  readonly key: string | null;
  /** The data (JSON, or the exact bytes of other media types); null for an event without data (a tombstone under compaction). */
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
  /**
   * Milliseconds since the epoch, as a decimal string (kafkajs' format), from the event's time;
   * absent for an event without time (CloudEvents makes it optional), which the producer stamps.
   */
  readonly timestamp?: string;
}

/** A header value as kafkajs hands it over: a Buffer, or an array when the header is repeated. */
export type KafkaHeaderValue = Buffer | string | readonly (Buffer | string)[] | undefined;

/** A record as consumed; kafkajs' KafkaMessage fits. */
export interface IncomingKafkaRecord {
  readonly key?: Buffer | string | null;
  readonly value: Buffer | string | null;
  readonly headers?: Readonly<Record<string, KafkaHeaderValue>>;
}

/**
 * Writes `ev` in binary content mode. Header order: ce_specversion, ce_id, ce_source, ce_type,
 * ce_time, ce_subject (when set), ce_partitionkey, ce_<extension>..., content-type.
 * @throws {SsisError} SSIS_INVALID_EVENT when the event's time is not a date-time or an extension is a non-integer number
 */
export function toKafkaRecord(ev: AnyCloudEvent): KafkaRecord {
  const headers: Record<string, string> = {
    ce_specversion: ev.specversion,
    ce_id: ev.id,
    ce_source: ev.source,
    ce_type: ev.type,
  };
  // time, partitionkey and datacontenttype may be missing on a foreign event (PingSource, or any
  // CloudEvent the broker carries); a missing attribute gets no header at all.
  setHeader(headers, 'ce_time', ev.time);
  setHeader(headers, 'ce_subject', ev.subject);
  setHeader(headers, 'ce_partitionkey', ev.partitionkey);
  for (const [name, value] of Object.entries(ev.extensions ?? {})) headers[`ce_${name}`] = extensionHeaderValue(name, value);
  setHeader(headers, CONTENT_TYPE_HEADER, ev.datacontenttype);
  const data = binaryModeData(ev);
  return {
    key: ev.partitionkey ?? null,
    value: data === undefined ? null : Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8'),
    headers,
    ...(ev.time === undefined ? {} : { timestamp: recordTimestamp(ev.time) }),
  };
}

/**
 * Reads a record in binary or structured content mode and checks it like validateEnvelope.
 * Batch mode is refused.
 * @throws {SsisError} SSIS_INVALID_EVENT naming every bad field (`id` for a missing `ce_id`, ...)
 */
export function fromKafkaRecord(record: IncomingKafkaRecord): SsisEvent<unknown> {
  // The `ssis` rules hold the event to the SSIS envelope (JSON data), which SsisEvent declares.
  return decodeRecord(record, 'ssis') as SsisEvent<unknown>;
}

/**
 * Reads any valid CloudEvent, as the broker carries it: like fromKafkaRecord, except that events
 * other than ssis.* may carry data in any media type, or without one; such a value comes back as
 * its exact bytes in `data_base64`.
 * @throws {SsisError} SSIS_INVALID_EVENT naming every bad attribute
 */
export function fromKafkaRecordAnyEvent(record: IncomingKafkaRecord): AnyCloudEvent {
  return decodeRecord(record, 'cloudevents');
}

function decodeRecord(record: IncomingKafkaRecord, rules: EnvelopeRules): AnyCloudEvent {
  const headers = kafkaHeadersToStrings(record.headers);
  const contentType = headers[CONTENT_TYPE_HEADER];
  if (contentType !== undefined && isBatchMode(contentType)) return refuseBatch(contentType);
  if (contentType !== undefined && isStructuredMode(contentType)) return decodeStructured(contentType, record.value?.toString() ?? '', rules);
  return decodeBinary(headers, 'ce_', record.value, [], rules);
}

/**
 * kafkajs delivers header values as Buffers, and a header repeated in one record as an array of
 * them. Every value becomes a UTF-8 string (binding §3.2.3); of repeated headers the last one
 * counts, as with Java's `Headers.lastHeader`; undefined values and empty arrays are dropped.
 */
export function kafkaHeadersToStrings(headers: IncomingKafkaRecord['headers']): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const last = value === undefined || typeof value === 'string' || Buffer.isBuffer(value) ? value : value.at(-1);
    if (last !== undefined) result[name] = last.toString();
  }
  return result;
}

function setHeader(headers: Record<string, string>, name: string, value: string | undefined): void {
  if (value !== undefined) headers[name] = value;
}

/** CloudEvents' canonical string forms: integers in decimal, booleans as true/false. */
function extensionHeaderValue(name: string, value: ExtensionValue): string {
  if (typeof value === 'number' && !Number.isInteger(value)) {
    throw validationError('SSIS_INVALID_EVENT', 'invalid CloudEvent', [{ field: `extensions.${name}`, message: 'must be a string, a boolean or a 32-bit integer' }]);
  }
  return String(value);
}

function recordTimestamp(time: string): string {
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) {
    throw validationError('SSIS_INVALID_EVENT', 'invalid CloudEvent', [{ field: 'time', message: 'must be an RFC 3339 date-time to stamp the Kafka record' }]);
  }
  return String(ms);
}
