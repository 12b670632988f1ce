/**
 * The metrics every broker adapter exposes on its /metrics page (embedded and Kafka alike), so that
 * dashboards and alerts do not depend on which broker runs.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { KnativeManifests } from '../knative/types';

export interface BrokerMetrics {
  readonly ingested: Counter<'type'>;
  readonly deliveries: Counter<'trigger' | 'outcome'>;
  readonly deliveryLatency: Histogram<'trigger'>;
}

export function createBrokerMetrics(registry: Registry, manifests: Pick<KnativeManifests, 'broker'>): BrokerMetrics {
  registry.setDefaultLabels({ broker: `${manifests.broker.namespace}/${manifests.broker.name}` });
  const registers = [registry];
  return {
    ingested: new Counter({ name: 'ssis_broker_events_total', help: 'Events stored by the broker, by type.', labelNames: ['type'], registers }),
    deliveries: new Counter({ name: 'ssis_broker_deliveries_total', help: 'Trigger deliveries by outcome (ok, retry, dead_letter, dropped).', labelNames: ['trigger', 'outcome'], registers }),
    deliveryLatency: new Histogram({
      name: 'ssis_broker_delivery_duration_seconds', help: 'From storing an event to its successful delivery to one Trigger.', labelNames: ['trigger'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers,
    }),
  };
}
