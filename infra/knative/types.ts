/**
 * The validated view of the knative/ manifests that the embedded and local-Kafka brokers run on
 * (see manifests.ts). Plain readonly data: names, routing, delivery and configuration, nothing of
 * the Kubernetes object model that routing does not need.
 */
import type { TriggerFilter } from './filters';

/** A reference to a Kubernetes object, e.g. a Knative Service or a KafkaSink. */
export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  /** Defaults to the namespace of the object holding the reference. */
  readonly namespace: string;
}

/** A Knative Destination resolved from `ref` (plus an optional relative `uri` path). */
export interface RefDestination extends ObjectRef {
  readonly uri?: string;
}

/** A Knative Destination given as an absolute URL only. */
export interface UriDestination {
  readonly uri: string;
}

export type Destination = RefDestination | UriDestination;

export type BackoffPolicy = 'linear' | 'exponential';

/** A delivery spec as written on a Broker or Trigger: only what the manifest sets. */
export interface DeliverySpec {
  readonly retry?: number;
  readonly backoffPolicy?: BackoffPolicy;
  readonly backoffDelayMs?: number;
  readonly timeoutMs?: number;
  readonly deadLetterSink?: Destination;
}

/** The delivery an egress actually gets, every default applied. */
export interface Delivery {
  /** Retries after the first attempt; attempts = retry + 1. */
  readonly retry: number;
  readonly backoffPolicy: BackoffPolicy;
  /** Linear: delay × n; exponential: delay × 2^n, for the n-th retry. */
  readonly backoffDelayMs: number;
  /** Bound on one delivery attempt. */
  readonly timeoutMs: number;
  /** Where an event goes after the last failed attempt; absent means it is dropped. */
  readonly deadLetterSink?: Destination;
}

export interface BrokerManifest {
  readonly name: string;
  readonly namespace: string;
  /** `eventing.knative.dev/broker.class`, e.g. `Kafka`. */
  readonly class: string;
  /** `spec.config`, e.g. the ConfigMap holding bootstrap.servers. */
  readonly config?: ObjectRef;
  /** What a Trigger with no delivery of its own gets. */
  readonly delivery: Delivery;
  /** The Broker's delivery as written, which Trigger deliveries are merged onto. */
  readonly deliverySpec?: DeliverySpec;
}

export interface TriggerManifest {
  readonly name: string;
  readonly namespace: string;
  readonly broker: string;
  /** `kafka.eventing.knative.dev/delivery.order: ordered`: one event in flight per partition. */
  readonly ordered: boolean;
  readonly filters: TriggerFilter;
  readonly subscriber: RefDestination;
  /** The Trigger's delivery merged onto the Broker's, field by field (MergeEgressConfig). */
  readonly delivery: Delivery;
}

export interface PingSourceManifest {
  readonly name: string;
  readonly namespace: string;
  /** Cron, 5 fields or 6 with leading seconds, or a descriptor such as `@hourly`. */
  readonly schedule: string;
  readonly timezone?: string;
  readonly contentType?: string;
  readonly data?: string;
  readonly sink: Destination;
}

export interface ServiceManifest {
  readonly name: string;
  readonly namespace: string;
  /** Literal `value` environment variables of the first container (valueFrom is left out). */
  readonly env: Readonly<Record<string, string>>;
  /** ConfigMaps mounted as volumes, by name. */
  readonly mountedConfigMaps: readonly string[];
}

export interface KafkaSinkManifest {
  readonly name: string;
  readonly namespace: string;
  readonly topic: string;
}

export interface KnativeManifests {
  /** The resource files read, relative to the manifest folder, in kustomization order. */
  readonly files: readonly string[];
  readonly broker: BrokerManifest;
  readonly triggers: readonly TriggerManifest[];
  readonly pingSources: readonly PingSourceManifest[];
  readonly configMaps: ReadonlyMap<string, Readonly<Record<string, string>>>;
  readonly services: readonly ServiceManifest[];
  readonly kafkaSinks: readonly KafkaSinkManifest[];
}
