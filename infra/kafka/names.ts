/**
 * Where the Knative Kafka Broker keeps things (notes/knative-kafka.md §1.2): the broker topic
 * `knative-broker-<namespace>-<broker>` and one consumer group `knative-trigger-<namespace>-<trigger>`
 * per Trigger (the default templates of config-kafka-features). The dead-letter topic is the
 * KafkaSink's `spec.topic` (knative/dead-letter.yaml).
 *
 * `suffix` keeps runs that share one Kafka apart (tests); the cluster never uses it.
 */
import { SsisError } from '../../core/errors';
import type { KnativeManifests, TriggerManifest } from '../knative/types';

export interface KafkaNames {
  readonly topic: string;
  readonly group: (trigger: TriggerManifest) => string;
  /** The topic of a KafkaSink by name, or undefined when the manifests declare no such sink. */
  readonly sinkTopic: (sink: string) => string | undefined;
}

export function brokerTopic(namespace: string, broker: string): string {
  return `knative-broker-${namespace}-${broker}`;
}

export function triggerGroup(namespace: string, trigger: string): string {
  return `knative-trigger-${namespace}-${trigger}`;
}

export function knativeNames(manifests: KnativeManifests, suffix = ''): KafkaNames {
  const { broker } = manifests;
  return {
    topic: `${brokerTopic(broker.namespace, broker.name)}${suffix}`,
    group: (t) => `${triggerGroup(t.namespace, t.name)}${suffix}`,
    sinkTopic: (name) => {
      const sink = manifests.kafkaSinks.find((s) => s.name === name);
      return sink ? `${sink.topic}${suffix}` : undefined;
    },
  };
}

/** `kafka://host:port[,host:port]` (SSIS_BROKER, --broker) → kafkajs `brokers`. */
export function parseKafkaUrl(url: string, field = 'SSIS_BROKER'): string[] {
  const m = /^kafka:\/\/([^/?#]+)\/?$/.exec(url.trim());
  const hosts = m?.[1]?.split(',').map((h) => h.trim()).filter((h) => h !== '') ?? [];
  if (hosts.length === 0 || hosts.some((h) => !/^[A-Za-z0-9.[\]:-]+:\d{1,5}$/.test(h))) {
    throw new SsisError('SSIS_INVALID_CONFIG', `${field} must be kafka://host:port[,host:port…], got "${url}"`, { issues: [{ field, message: 'not a kafka:// URL with host:port' }] });
  }
  return hosts;
}

export function isKafkaUrl(url: string | undefined): url is string {
  return url !== undefined && url.trim().startsWith('kafka://');
}

/** The broker's topic sizing from its config ConfigMap (default.topic.partitions, replication factor). */
export function topicSizing(manifests: KnativeManifests): { partitions: number; replicationFactor: number } {
  const name = manifests.broker.config?.name;
  const data = name ? manifests.configMaps.get(name) : undefined;
  const int = (v: string | undefined, dflt: number): number => {
    const n = Number(v);
    return Number.isInteger(n) && n > 0 ? n : dflt;
  };
  // Knative's shipped defaults: 10 partitions, replication factor 3.
  return { partitions: int(data?.['default.topic.partitions'], 10), replicationFactor: int(data?.['default.topic.replication.factor'], 3) };
}
