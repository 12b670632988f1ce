/**
 * An event's data as binary content mode carries it, the same for the HTTP body and the Kafka
 * record value (both bindings, §3.1 / §3.2): the data is the message body, in its media type.
 */
import type { AnyCloudEvent } from '../envelope.js';
import { isJsonMediaType } from '../media-type.js';

/**
 * `data_base64` as its original bytes; a string as it is when the media type is not JSON
 * (text/plain, XML: what the cloudevents SDK writes too); anything else as JSON text. Undefined
 * for an event without data.
 */
export function binaryModeData(ev: AnyCloudEvent): string | Buffer | undefined {
  if (ev.data_base64 !== undefined) return Buffer.from(ev.data_base64, 'base64');
  if (ev.data === undefined) return undefined;
  const declaredNotJson = ev.datacontenttype !== undefined && !isJsonMediaType(ev.datacontenttype);
  if (typeof ev.data === 'string' && declaredNotJson) return ev.data;
  return JSON.stringify(ev.data);
}
