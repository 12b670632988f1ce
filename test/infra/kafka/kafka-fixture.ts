/**
 * The real Apache Kafka the Kafka suite runs against: fetched from Maven Central and started by
 * the project's own code (infra/kafka/local-kafka.ts) on free loopback ports, once per mocha run,
 * on first use. A root-level `after` hook stops it and deletes its folder; a process 'exit' hook
 * kills the JVM should mocha end any other way (a failure, --bail, Ctrl-C), and the next start
 * reaps brokers whose test run was killed outright.
 */
import { randomUUID } from 'node:crypto';
import { startLocalKafka, type LocalKafka } from '../../../infra/kafka/local-kafka';
import { knativeNames, type KafkaNames } from '../../../infra/kafka/names';
import type { KnativeManifests } from '../../../infra/knative/types';

let running: Promise<LocalKafka> | undefined;
let started: LocalKafka | undefined;

export function sharedKafka(): Promise<LocalKafka> {
  running ??= startLocalKafka({ heapMb: 384 }).then((k) => {
    started = k;
    process.once('exit', () => k.killNow());
    return k;
  });
  return running;
}

/** Names no other test uses, so tests sharing the broker never see each other's events. */
export function isolatedNames(manifests: KnativeManifests): KafkaNames {
  return knativeNames(manifests, `-${randomUUID().slice(0, 8)}`);
}

after(async function () {
  this.timeout(30_000);
  await started?.destroy();
  started = undefined;
  running = undefined;
});
