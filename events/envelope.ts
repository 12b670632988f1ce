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
