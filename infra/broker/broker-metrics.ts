/**
 * The metrics every broker adapter exposes on its /metrics page (embedded and Kafka alike), so that
 * dashboards and alerts do not depend on which broker runs.
 *
 * Label values are bounded: a broker takes any CloudEvent, so an event's type is a label value only
 * when it is a name we know (the SSIS types, the PingSource's, and the types the Triggers filter
 * on); every other type counts as `other`. Otherwise each client-chosen type would add a series.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { EVENT_REGISTRY, PING_EVENT_TYPE } from '../../events/registry';
import type { FilterExpression } from '../knative/filters';
import type { KnativeManifests } from '../knative/types';

/** The label value of an event type: the type itself when known, else OTHER_EVENT_TYPE. */
export type EventTypeLabel = (type: string) => string;

export const OTHER_EVENT_TYPE = 'other';

export interface BrokerMetrics {
  readonly ingested: Counter<'type'>;
  /** What to put in `ingested`'s `type` label. */
  readonly typeLabel: EventTypeLabel;
  readonly deliveries: Counter<'trigger' | 'outcome'>;
  readonly deliveryLatency: Histogram<'trigger'>;
}

export function createBrokerMetrics(registry: Registry, manifests: Pick<KnativeManifests, 'broker' | 'triggers'>): BrokerMetrics {
  registry.setDefaultLabels({ broker: `${manifests.broker.namespace}/${manifests.broker.name}` });
  const registers = [registry];
  const known = knownEventTypes(manifests);
  return {
    ingested: new Counter({ name: 'ssis_broker_events_total', help: `Events stored by the broker, by type (types not known to SSIS or its Triggers count as "${OTHER_EVENT_TYPE}").`, labelNames: ['type'], registers }),
    typeLabel: (type) => (known.has(type) ? type : OTHER_EVENT_TYPE),
    deliveries: new Counter({ name: 'ssis_broker_deliveries_total', help: 'Trigger deliveries by outcome (ok, retry, dead_letter, dropped).', labelNames: ['trigger', 'outcome'], registers }),
    deliveryLatency: new Histogram({
      name: 'ssis_broker_delivery_duration_seconds', help: 'From storing an event to its successful delivery to one Trigger.', labelNames: ['trigger'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers,
    }),
  };
}

/** The SSIS event types, the PingSource's, and every type a Trigger filters on exactly. */
export function knownEventTypes(manifests: Pick<KnativeManifests, 'triggers'>): ReadonlySet<string> {
  const known = new Set<string>([...Object.keys(EVENT_REGISTRY), PING_EVENT_TYPE]);
  const visit = (e: FilterExpression): void => {
    if (e.dialect === 'exact') {
      if (Object.hasOwn(e.attributes, 'type')) known.add(e.attributes['type']!);
    } else if (e.dialect === 'all' || e.dialect === 'any') {
      e.filters.forEach(visit);
    } else if (e.dialect === 'not') {
      visit(e.filter);
    }
  };
  for (const t of manifests.triggers) t.filters.expressions.forEach(visit);
  return known;
}
