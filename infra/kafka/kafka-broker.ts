/**
 * The Kafka broker mode (`SSIS_BROKER=kafka://host:port`): the Knative Kafka Broker's data plane
 * on a real Apache Kafka, driven by the same knative/ manifests as the embedded broker.
 * - ingress: `POST /<namespace>/<broker>`, the embedded broker's (infra/broker/ingress.ts: any
 *   valid CloudEvent; 202 stored, 400 not a valid CloudEvent, 503 not stored), and publish() for
 *   in-process callers;
 * - storage: topic `knative-broker-<ns>-<broker>`, binary content mode (ce_* headers,
 *   content-type, key = partitionkey, value = the data as received; events/codec/kafka.ts),
 *   created with the broker config's partition count;
 * - egress: one TriggerDispatcher (consumer group `knative-trigger-<ns>-<trigger>`) per Trigger.
 *
 * kafkajs stays inside infra/kafka; the rest of the code sees BrokerPublish.
 */
import { Kafka, logLevel, Partitioners, type Admin, type Message, type Producer } from 'kafkajs';
import { Registry, type Counter, type Histogram } from 'prom-client';
import { createBrokerMetrics, type EventTypeLabel } from '../broker/broker-metrics';
import type { Logger } from '../../core/common/ports';
import { silentLogger } from '../../core/common/ports';
import { asSsisError, SsisError } from '../../core/errors';
import { toKafkaRecord } from '../../events/codec/kafka';
import type { AnyCloudEvent } from '../../events/envelope';
import type { BrokerPublish } from '../broker/embedded-broker';
import type { EventLogWriter, LoggedEvent } from '../broker/event-log';
import { startIngress, type RunningIngress } from '../broker/ingress';
import type { IncomingMessage } from 'node:http';
import type { EventIntakeAuth, EventSenderAuth } from '../auth/event-auth';
import type { Destination, KnativeManifests, TriggerManifest } from '../knative/types';
import { knativeNames, topicSizing, type KafkaNames } from './names';
import { DEFAULT_TUNING, TriggerDispatcher, type KafkaDeadLetter, type KafkaTuning } from './trigger-dispatcher';

export interface KafkaBrokerOptions {
  readonly brokers: readonly string[];
  readonly manifests: KnativeManifests;
  readonly resolve: (destination: Destination) => string | undefined;
  readonly logger?: Logger;
  /** Also append every event this broker stores to a JSON-lines log (the embedded mode's format). */
  readonly eventLog?: EventLogWriter;
  /** Topic and group names; Knative's templates by default. */
  readonly names?: KafkaNames;
  /** Which Triggers this process dispatches (all of the broker's by default). */
  readonly dispatch?: (trigger: TriggerManifest) => boolean;
  /** Serve the HTTP ingress (default true). */
  readonly ingress?: boolean;
  readonly tuning?: Partial<KafkaTuning>;
  readonly clientId?: string;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Who may post events to the ingress (the stack's secret); absent: anyone who reaches it. */
  readonly intakeAuth?: EventIntakeAuth;
  /** The credential the broker's deliveries carry to the subscribers. */
  readonly senderAuth?: EventSenderAuth;
}

interface PendingRecord {
  readonly topic: string;
  readonly message: Message;
  readonly done: (err?: unknown) => void;
}

export class KafkaBroker implements BrokerPublish {
  readonly registry = new Registry();
  readonly names: KafkaNames;
  url = '';
  private readonly kafka: Kafka;
  private admin: Admin | null = null;
  private producer: Producer | null = null;
  private dispatchers: TriggerDispatcher[] = [];
  private readonly stored: LoggedEvent[] = [];
  private readonly letters: KafkaDeadLetter[] = [];
  private readonly queue: PendingRecord[] = [];
  private sending = false;
  private ingress: RunningIngress | null = null;
  private stopping = false;
  private partitions = 1;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly ingested: Counter<'type'>;
  private readonly typeLabel: EventTypeLabel;
  /**
   * The local log's sequence (not a Kafka offset: the topic has one offset per partition). It
   * continues the log file's, so an offset there names one event across restarts.
   */
  private nextOffset: number;
  private readonly deliveries: Counter<'trigger' | 'outcome'>;
  private readonly deliveryLatency: Histogram<'trigger'>;

  constructor(private readonly opts: KafkaBrokerOptions) {
    this.logger = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
    this.names = opts.names ?? knativeNames(opts.manifests);
    this.kafka = new Kafka({
      clientId: opts.clientId ?? 'ssis-kafka-broker',
      brokers: [...opts.brokers],
      logLevel: logLevel.NOTHING,
      // A broker restart takes a few seconds: keep retrying for about half a minute.
      retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 20 },
    });
    this.nextOffset = opts.eventLog?.nextOffset ?? 0;
    ({ ingested: this.ingested, typeLabel: this.typeLabel, deliveries: this.deliveries, deliveryLatency: this.deliveryLatency } = createBrokerMetrics(this.registry, opts.manifests));
  }

  get path(): string {
    return `/${this.opts.manifests.broker.namespace}/${this.opts.manifests.broker.name}`;
  }

  /** The latest events (up to 50,000) stored through this broker instance, in the order Kafka acknowledged them. */
  events(): readonly LoggedEvent[] {
    return this.stored;
  }

  deadLetters(): readonly KafkaDeadLetter[] {
    return this.letters;
  }

  /**
   * Creates the topics, connects, starts the dispatchers (each joined to its group) and the ingress.
   * @throws {SsisError} SSIS_BROKER_UNAVAILABLE when Kafka cannot be reached
   */
  async start(port = 0): Promise<string> {
    try {
      const admin = this.kafka.admin();
      this.admin = admin;
      await admin.connect();
      await this.createTopics(admin);
      const producer = this.kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
      this.producer = producer;
      await producer.connect();
      const triggers = this.opts.manifests.triggers.filter((t) => t.broker === this.opts.manifests.broker.name && (this.opts.dispatch?.(t) ?? true));
      this.dispatchers = triggers.map((trigger) => this.dispatcherFor(admin, trigger));
      await Promise.all(this.dispatchers.map((d) => d.start()));
    } catch (err) {
      await this.stop();
      throw new SsisError('SSIS_BROKER_UNAVAILABLE', `Kafka at ${this.opts.brokers.join(',')} unusable: ${asSsisError(err).message}`, { cause: err });
    }
    if (this.opts.ingress === false) return '';
    const auth = this.opts.intakeAuth;
    this.ingress = await startIngress({
      path: this.path, registry: this.registry, accepting: () => !this.stopping, publish: (event) => this.publish(event),
      ...(auth ? { authenticate: (req: IncomingMessage) => auth.verify(req.headers.authorization) } : {}),
    }, port);
    this.url = this.ingress.url;
    return this.url;
  }

  /**
   * Stores an event in the broker topic; resolves once Kafka acknowledged it (acks=all, as the
   * Knative receiver produces).
   * @throws {SsisError} SSIS_INVALID_EVENT for an event that cannot be encoded; SSIS_BROKER_UNAVAILABLE when not stored
   */
  async publish(event: AnyCloudEvent): Promise<void> {
    const record = toKafkaRecord(event);
    await this.produce(this.names.topic, { key: record.key, value: record.value, headers: record.headers, timestamp: record.timestamp });
    const entry: LoggedEvent = { offset: this.nextOffset++, storedAtMs: this.now(), event };
    this.stored.push(entry);
    // Kafka is the store; this is a window for the stack's own views (tests, ssis start), bounded for long runs.
    if (this.stored.length > RECENT_EVENTS) this.stored.splice(0, this.stored.length - RECENT_EVENTS);
    this.opts.eventLog?.append(entry);
    this.ingested.inc({ type: this.typeLabel(event.type) });
  }

  /**
   * Resolves when every Trigger has handled everything in the topic, replies included (tests,
   * benchmarks). Only meaningful while this process dispatches all Triggers.
   */
  async idle(timeoutMs = 60_000): Promise<void> {
    const admin = this.admin;
    if (!admin) return;
    const deadline = Date.now() + timeoutMs;
    let stableRounds = 0;
    while (stableRounds < 2) {
      if (Date.now() > deadline) throw new SsisError('SSIS_BROKER_UNAVAILABLE', `broker not idle after ${timeoutMs} ms`);
      const ends = new Map((await admin.fetchTopicOffsets(this.names.topic)).map((p) => [p.partition, BigInt(p.high)] as const));
      const caughtUp = this.queue.length === 0 && !this.sending && this.dispatchers.every((d) => d.caughtUp(ends));
      stableRounds = caughtUp ? stableRounds + 1 : 0;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Clean stop: in-flight deliveries finish and their offsets are committed. */
  async stop(): Promise<void> {
    await this.shutdown(false);
  }

  /** A crash: consumers leave without committing what they did since the last commit. */
  async abort(): Promise<void> {
    await this.shutdown(true);
  }

  private async shutdown(abort: boolean): Promise<void> {
    this.stopping = true;
    const ingress = this.ingress;
    this.ingress = null;
    await ingress?.close();
    await Promise.all(this.dispatchers.map((d) => d.stop({ abort })));
    this.dispatchers = [];
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = null;
    await this.admin?.disconnect().catch(() => undefined);
    this.admin = null;
    await this.opts.eventLog?.close();
  }

  private async createTopics(admin: Admin): Promise<void> {
    const sizing = topicSizing(this.opts.manifests);
    const { brokers } = await admin.describeCluster();
    // The ConfigMap says 3 replicas for a production cluster; a local single node can hold one.
    const replicationFactor = Math.min(sizing.replicationFactor, brokers.length);
    const sinkTopics = [...new Set(this.opts.manifests.kafkaSinks.map((s) => this.names.sinkTopic(s.name)).filter((t): t is string => t !== undefined))];
    await admin.createTopics({
      waitForLeaders: true,
      topics: [this.names.topic, ...sinkTopics].map((topic) => ({ topic, numPartitions: sizing.partitions, replicationFactor })),
    });
    const [meta] = (await admin.fetchTopicMetadata({ topics: [this.names.topic] })).topics;
    this.partitions = meta?.partitions.length ?? sizing.partitions;
  }

  private dispatcherFor(admin: Admin, trigger: TriggerManifest): TriggerDispatcher {
    return new TriggerDispatcher({
      kafka: this.kafka,
      admin,
      topic: this.names.topic,
      groupId: this.names.group(trigger),
      partitions: this.partitions,
      trigger,
      resolve: this.opts.resolve,
      sinkTopic: (name) => this.names.sinkTopic(name),
      produceRaw: (topic, record) => this.produce(topic, record),
      reingest: (reply) => this.publish(reply),
      onOutcome: (name, outcome, latencySec) => {
        this.deliveries.inc({ trigger: name, outcome });
        if (latencySec !== undefined) this.deliveryLatency.observe({ trigger: name }, latencySec);
      },
      onDeadLetter: (letter) => {
        this.letters.push(letter);
        if (this.letters.length > RECENT_EVENTS) this.letters.splice(0, this.letters.length - RECENT_EVENTS);
      },
      logger: this.logger.child({ trigger: trigger.name }),
      sleep: this.opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      now: this.now,
      tuning: { ...DEFAULT_TUNING, ...this.opts.tuning },
      ...(this.opts.senderAuth ? { senderAuth: this.opts.senderAuth } : {}),
    });
  }

  /**
   * Queues a record and sends the queue as one request whenever no send is in flight: natural
   * batching (no linger delay when idle, one request per burst under load) that also keeps
   * records in publish order.
   */
  private produce(topic: string, message: Message): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, message, done: (err) => (err === undefined ? resolve() : reject(asBrokerError(err))) });
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.queue.length);
        const producer = this.producer;
        try {
          if (!producer) throw new SsisError('SSIS_BROKER_UNAVAILABLE', 'broker stopped');
          const byTopic = new Map<string, Message[]>();
          for (const p of batch) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.message]);
          await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
          for (const p of batch) p.done();
        } catch (err) {
          for (const p of batch) p.done(err);
        }
      }
    } finally {
      this.sending = false;
    }
  }
}

/** Events (and dead letters) this instance keeps in memory for its own views; Kafka keeps them all. */
const RECENT_EVENTS = 50_000;

function asBrokerError(err: unknown): SsisError {
  if (err instanceof SsisError) return err;
  return new SsisError('SSIS_BROKER_UNAVAILABLE', `Kafka did not store the event: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
