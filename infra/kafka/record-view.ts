/**
 * What a Trigger dispatcher needs from a broker record, without decoding or validating its data:
 * like Knative's dispatcher, routing reads the attributes only (filters never look at `data`,
 * notes/knative-kafka.md §1.4) and the subscriber gets the record as it is, in HTTP binary mode:
 * the value byte for byte as the body, the content-type header as it was stored.
 * Checking the data is the subscriber's job, so a schema-invalid event reaches the function,
 * which refuses it (400) and the event is dead-lettered instead of blocking its partition.
 */
import { encodeHeaderValue } from '../../events/codec/http-header-value';
import { fromKafkaRecordAnyEvent, kafkaHeadersToStrings, type IncomingKafkaRecord } from '../../events/codec/kafka';
import { toHttpBinary, type HttpMessage } from '../../events/codec/http';
import { isBatchMode, isStructuredMode } from '../../events/media-type';
import type { EventAttributes } from '../knative/filters';

export interface RecordView {
  /** Attribute name → value, as filters see them (`content-type` as datacontenttype). */
  readonly attributes: EventAttributes;
  /** The same event as a binary-mode HTTP request (headers lower-case, body = record value, unchanged). */
  toHttp(): HttpMessage;
}

const KAFKA_PREFIX = 'ce_';

/**
 * @throws {SsisError} SSIS_INVALID_EVENT only for a structured or batch record that cannot be read
 */
export function viewRecord(record: IncomingKafkaRecord): RecordView {
  const headers = kafkaHeadersToStrings(record.headers);
  const contentType = headers['content-type'];
  if (isStructuredMode(contentType) || isBatchMode(contentType)) {
    // Rare in a broker topic (the receiver writes binary mode): decode fully and re-encode.
    const event = fromKafkaRecordAnyEvent(record);
    const attributes: Record<string, string | number | boolean | undefined> = {
      specversion: event.specversion, id: event.id, type: event.type, source: event.source, subject: event.subject, time: event.time, datacontenttype: event.datacontenttype, partitionkey: event.partitionkey,
      ...event.extensions,
    };
    return { attributes, toHttp: () => toHttpBinary(event) };
  }
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(KAFKA_PREFIX)) attributes[name.slice(KAFKA_PREFIX.length)] = value;
  }
  if (contentType !== undefined) attributes['datacontenttype'] = contentType;
  return {
    attributes,
    toHttp() {
      const http: Record<string, string> = {};
      for (const [name, value] of Object.entries(attributes)) {
        if (name !== 'datacontenttype') http[`ce-${name}`] = encodeHeaderValue(value);
      }
      if (contentType !== undefined) http['content-type'] = contentType;
      // A string value (a test's record) is text; kafkajs hands over a Buffer, passed on as it is.
      return { headers: http, body: record.value ?? '' };
    },
  };
}
