/**
 * The shape of an SSIS function: the CloudEvent types it handles and a handler that may answer
 * with one reply event (re-ingested by the broker, as the Knative Kafka Broker does) and publish
 * more through its context. Handlers are built from their dependencies by a factory (buildX(deps))
 * and never touch the network or the environment themselves.
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../../core/common/ports';
import type { SsisEvent } from '../../events/envelope';
import type { EventPublisher } from '../../events/publisher';

export interface FunctionContext {
  readonly logger: Logger;
  readonly publisher: EventPublisher;
  /** The function's own metrics registry (served on /metrics). */
  readonly registry: Registry;
}

export type EventHandler = (event: SsisEvent, ctx: FunctionContext) => Promise<SsisEvent | undefined>;

export interface SsisFunction {
  readonly name: string;
  /** CloudEvent types this function accepts; anything else is refused with 400. */
  readonly handles: readonly string[];
  readonly onEvent: EventHandler;
  /** Readiness beyond "process is up" (e.g. configuration loaded). */
  readonly ready?: () => boolean;
  readonly close?: () => Promise<void>;
}
