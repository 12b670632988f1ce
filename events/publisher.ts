/**
 * The publisher port: how a handler hands an event to the broker. In a Knative function that is an
 * HTTP POST to K_SINK (infra/http/event-publisher.ts); tests record what would have been sent.
 * Resolves once the broker has stored the event; rejects with an SsisError whose `retriable`
 * says whether sending again may succeed.
 */
import type { SsisEvent } from './envelope';

export interface EventPublisher {
  publish(event: SsisEvent): Promise<void>;
}
