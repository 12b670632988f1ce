/**
 * Hand-made Knative manifests for broker tests: Triggers on one event type each, on the broker
 * `ssis/default`, dead-lettering to the KafkaSink ssis-dead-letter unless told otherwise.
 */
import { compileTriggerFilter } from '../../infra/knative/filters';
import type { Delivery, KnativeManifests, TriggerManifest } from '../../infra/knative/types';

export function deliveryWith(over: Partial<Delivery> = {}): Delivery {
  return {
    retry: 2, backoffPolicy: 'linear', backoffDelayMs: 10, timeoutMs: 2000,
    deadLetterSink: { apiVersion: 'eventing.knative.dev/v1alpha1', kind: 'KafkaSink', name: 'ssis-dead-letter', namespace: 'ssis' }, ...over,
  };
}

/** A Trigger named `name` for events of `type`, delivering to the Knative Service `name`. */
export function triggerFor(name: string, type: string, over: Partial<TriggerManifest> = {}): TriggerManifest {
  return {
    name, namespace: 'ssis', broker: 'default', ordered: true,
    filters: compileTriggerFilter({ filters: [{ exact: { type } }] }, name),
    subscriber: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name, namespace: 'ssis' },
    delivery: deliveryWith(), ...over,
  };
}

export function manifestsWith(triggers: TriggerManifest[]): KnativeManifests {
  return {
    files: [], triggers, pingSources: [], configMaps: new Map(), services: [], kafkaSinks: [],
    broker: { name: 'default', namespace: 'ssis', class: 'Kafka', delivery: deliveryWith() },
  };
}
