/**
 * The CloudEvent envelope every SSIS event travels in. Plain data: no I/O, no SDK objects.
 * `partitionkey` (CloudEvents partitioning extension) is the model service, so every event about
 * one model lands in one Kafka partition and is delivered in order (ARCHITECTURE.md).
 */
export type ExtensionValue = string | number | boolean;

export interface SsisEvent<T = unknown> {
  readonly specversion: '1.0';
  readonly id: string;
  readonly type: string;
  /** URI-reference of the producer, e.g. `/ssis/functions/evaluate`. */
  readonly source: string;
  readonly subject?: string;
  /** RFC 3339 timestamp. */
  readonly time: string;
  readonly datacontenttype: 'application/json';
  /**
   * The model service this event is about (Kafka record key). Always set on ssis.* events;
   * events from Knative sources (PingSource) come without it.
   */
  readonly partitionkey?: string;
  readonly data: T;
  /** Other extension attributes (e.g. knativeerrorcode on dead letters); names match ^[a-z0-9]+$. */
  readonly extensions?: Readonly<Record<string, ExtensionValue>>;
}

/**
 * Any valid CloudEvent 1.0, as the brokers carry it: an SsisEvent is one, and so is an event of
 * another producer with data in any media type. Data follows the CloudEvents JSON event format:
 * JSON data (datacontenttype application/json) is the parsed value in `data`; any other data is
 * the exact bytes, base64-encoded, in `data_base64`, so that it survives the event log and reaches
 * subscribers byte for byte. An event has at most one of the two.
 */
export interface AnyCloudEvent {
  readonly specversion: '1.0';
  readonly id: string;
  readonly type: string;
  readonly source: string;
  readonly subject?: string;
  /** RFC 3339 timestamp; optional for CloudEvents, always set on ssis.* events. */
  readonly time?: string;
  /** Absent when the producer sent none (then the data is opaque bytes, or absent too). */
  readonly datacontenttype?: string;
  readonly partitionkey?: string;
  readonly data?: unknown;
  readonly data_base64?: string;
  readonly extensions?: Readonly<Record<string, ExtensionValue>>;
}
