/**
 * Content types that decide how an event travels (CloudEvents HTTP and Kafka bindings: a
 * content type starting with `application/cloudevents` means structured mode, anything else
 * binary mode). Parameters such as `; charset=utf-8` are ignored, case too (RFC 9110 §8.3.1).
 */

export const JSON_MEDIA_TYPE = 'application/json';
export const STRUCTURED_JSON_MEDIA_TYPE = 'application/cloudevents+json';
export const BATCH_JSON_MEDIA_TYPE = 'application/cloudevents-batch+json';

/** `Application/JSON; charset=utf-8` → `application/json`. */
export function essence(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

export function isJsonMediaType(contentType: string): boolean {
  return essence(contentType) === JSON_MEDIA_TYPE;
}

export function isBatchMode(contentType: string | undefined): boolean {
  return contentType !== undefined && essence(contentType).startsWith('application/cloudevents-batch');
}

/** Structured mode (any event format); only its JSON format is supported by the codecs. */
export function isStructuredMode(contentType: string | undefined): boolean {
  return contentType !== undefined && !isBatchMode(contentType) && essence(contentType).startsWith('application/cloudevents');
}
