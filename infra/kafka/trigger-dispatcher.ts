/**
 * One Trigger's egress on the Kafka broker, as the Knative Kafka dispatcher does it
 * (notes/knative-kafka.md §1.5–§1.8): its own consumer group on the broker topic; each record's
 * attributes are matched against the Trigger's filters; a match is POSTed to the subscriber with
 * retries and back-off and, after the last attempt, produced to the dead-letter sink; a reply is
 * re-ingested through the broker.
 *
 * Ordering: an `ordered` Trigger handles one record at a time per partition key (the next waits
 * until the previous is acknowledged or dead-lettered), as the embedded broker does. Knative blocks
 * the whole partition; since all records of a key share a partition, per-key order is the same
 * guarantee, and keys that merely hash to one partition no longer wait for each other (a fetch
 * cycle of kafkajs waits for its slowest batch, so this is what keeps latency low under load).
 * An unordered Trigger delivers fetched records concurrently. Deliveries run in the background while
 * the fetch loop goes on (up to `maxInFlight` records); offsets are committed in order and only
 * for records that are done, every `commitIntervalMs`, so a crash redelivers at most the records
 * after the last commit: at least once, which the idempotent handlers absorb.
 *
 * A new group starts at the topic's end (Knative's InitOffsets, §1.8): its committed offsets are
 * set to the latest ones before it joins, so it sees exactly the events published after start().
 */
import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '../../core/common/ports';
import type { AnyCloudEvent } from '../../events/envelope';
import { backoffMs } from '../broker/embedded-broker';
import type { Destination, TriggerManifest } from '../knative/types';
import { postCloudEvent } from '../broker/http-delivery';
import type { EventSenderAuth } from '../auth/event-auth';
import { viewRecord, type RecordView } from './record-view';

export interface KafkaTuning {
  /** Longest a fetch waits at the broker for data (it returns at once when there is any: minBytes 1). */
  readonly maxWaitTimeInMs: number;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /** How often done offsets are committed (also on a clean stop). */
  readonly commitIntervalMs: number;
  /** Records fetched but not yet finished, at most (the fetch loop waits beyond it). */
  readonly maxInFlight: number;
}

export const DEFAULT_TUNING: KafkaTuning = { maxWaitTimeInMs: 100, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, commitIntervalMs: 50, maxInFlight: 1000 };

/** How long a clean stop waits for deliveries under way before its last commit. */
const STOP_DRAIN_MS = 10_000;

interface Tracked {
  readonly offset: string;
  finished: boolean;
  ok: boolean;
}

/** A record written to a dead-letter topic: the original, plus the knativeerror* extensions. */
export interface KafkaDeadLetter {
  readonly trigger: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly errorCode: number;
  readonly errorData: string;
  readonly destination: string;
  /** Delivery attempts made (0 when the record could not even be read). */
  readonly attempts: number;
}

export interface DispatcherDeps {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly topic: string;
  readonly groupId: string;
  readonly partitions: number;
  readonly trigger: TriggerManifest;
  readonly resolve: (destination: Destination) => string | undefined;
  /** KafkaSink name → its topic. */
  readonly sinkTopic: (name: string) => string | undefined;
  readonly produceRaw: (topic: string, record: { key: Buffer | null; value: Buffer | null; headers: Record<string, string> }) => Promise<void>;
  readonly reingest: (reply: AnyCloudEvent) => Promise<void>;
  readonly onOutcome: (trigger: string, outcome: 'ok' | 'retry' | 'dead_letter' | 'dropped', latencySec?: number) => void;
  readonly onDeadLetter: (letter: KafkaDeadLetter) => void;
  readonly logger: Logger;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  readonly tuning: KafkaTuning;
  /** The credential each delivery carries (the stack secret): the functions take no event without it. */
  readonly senderAuth?: EventSenderAuth;
}

export class TriggerDispatcher {
  private consumer: Consumer | null = null;
  /** partition → next offset to process (everything before it is done). */
  private readonly done = new Map<number, bigint>();
  private readonly committed = new Map<number, bigint>();
  private commitTimer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  /** Records fetched and not yet finished, and per partition in offset order. */
  private outstanding = 0;
  private readonly tracked = new Map<number, Tracked[]>();
  /** Last record of each key still under way (ordered Triggers). */
  private readonly tails = new Map<string, Promise<boolean>>();
  /** Fetch loops waiting for room under maxInFlight. */
  private readonly waiters: (() => void)[] = [];
  private stopping = false;

  constructor(private readonly deps: DispatcherDeps) {}

  get name(): string {
    return this.deps.trigger.name;
  }

  /** Resolves once the consumer has joined its group and been given its partitions. */
  async start(): Promise<void> {
    const { kafka, topic, groupId, tuning, trigger } = this.deps;
    await this.initOffsets();
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: tuning.sessionTimeoutMs,
      heartbeatInterval: tuning.heartbeatIntervalMs,
      maxWaitTimeInMs: tuning.maxWaitTimeInMs,
      minBytes: 1,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    const joined = new Promise<void>((resolve) => {
      const off = consumer.on(consumer.events.GROUP_JOIN, () => {
        off();
        resolve();
      });
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.deps.partitions,
      // The batch is handed over and the fetch loop goes on at once: deliveries complete in the
      // background (a fetch cycle of kafkajs would otherwise wait for the slowest delivery of the
      // batch, replies included). Commits follow completion, in offset order, in markFinished.
      eachBatch: async (payload) => {
        const { batch } = payload;
        const heartbeat = (): Promise<void> => payload.heartbeat();
        for (const message of batch.messages) {
          if (this.stopping) return;
          const entry = this.track(batch.partition, message.offset);
          const run = trigger.ordered ? this.chainByKey(message, heartbeat) : this.handle(message, heartbeat);
          void run.then((ok) => this.markFinished(batch.partition, entry, ok));
          payload.resolveOffset(message.offset); // kafkajs' fetch position; commits are ours
          // Back-pressure: no more than maxInFlight records between fetch and completion. kafkajs heartbeats
          // only between batches, so a long wait heartbeats itself or the group would evict this member.
          while (this.outstanding >= tuning.maxInFlight && !this.stopping) {
            await new Promise<void>((r) => {
              this.waiters.push(r);
              setTimeout(r, tuning.heartbeatIntervalMs).unref();
            });
            await heartbeat().catch(() => undefined);
          }
        }
      },
    });
    this.commitTimer = setInterval(() => void this.commit(), tuning.commitIntervalMs);
    this.commitTimer.unref();
    await joined;
  }

  /** True when every record before `ends` (partition → end offset) has been handled. */
  caughtUp(ends: ReadonlyMap<number, bigint>): boolean {
    if (this.outstanding > 0) return false;
    for (const [partition, end] of ends) {
      if (end > (this.done.get(partition) ?? this.startOffsets.get(partition) ?? end)) return false;
    }
    return true;
  }

  /** Stops consuming. Clean: done offsets are committed. Abort (a crash): nothing more is committed. */
  async stop(opts: { abort?: boolean } = {}): Promise<void> {
    this.stopping = true;
    if (this.commitTimer) clearInterval(this.commitTimer);
    this.commitTimer = null;
    const consumer = this.consumer;
    this.consumer = null;
    if (!consumer) return;
    if (opts.abort) {
      await consumer.disconnect().catch(() => undefined);
      return;
    }
    await consumer.stop().catch(() => undefined);
    // Deliveries under way finish (or give up at their next attempt: stopping) before the last commit.
    const deadline = Date.now() + STOP_DRAIN_MS;
    while (this.outstanding > 0 && Date.now() < deadline) await new Promise<void>((r) => setTimeout(r, 20));
    await this.commit(consumer);
    await consumer.disconnect().catch(() => undefined);
  }

  private readonly startOffsets = new Map<number, bigint>();

  /** Knative's InitOffsets: a group that never committed starts at the current end of each partition. */
  private async initOffsets(): Promise<void> {
    const { admin, topic, groupId } = this.deps;
    // Right after the topic was created the client's metadata may still name no leader: retry.
    const [committed] = await withRetries(() => admin.fetchOffsets({ groupId, topics: [topic] }));
    const ends = await withRetries(() => admin.fetchTopicOffsets(topic));
    for (const p of committed?.partitions ?? []) {
      if (p.offset !== '-1') this.startOffsets.set(p.partition, BigInt(p.offset));
    }
    const fresh = ends.filter((e) => !this.startOffsets.has(e.partition));
    if (fresh.length === 0) return;
    try {
      await admin.setOffsets({ groupId, topic, partitions: fresh.map((e) => ({ partition: e.partition, offset: e.high })) });
      for (const e of fresh) this.startOffsets.set(e.partition, BigInt(e.high));
    } catch (err) {
      // Kafka refuses while the group has live members; one of them already owns the offsets.
      this.deps.logger.debug({ trigger: this.name, error: String(err) }, 'offsets not initialised: group is active');
    }
  }

  /**
   * One chain per record key, across batches: a record starts when the previous one of its key is done.
   * A record whose predecessor was not finished (stopping) is not started either.
   */
  private chainByKey(message: KafkaMessage, heartbeat: () => Promise<void>): Promise<boolean> {
    const key = message.key?.toString() ?? '';
    const next = (this.tails.get(key) ?? Promise.resolve(true)).then((ok) => (ok ? this.handle(message, heartbeat) : false));
    this.tails.set(key, next);
    void next.then(() => {
      if (this.tails.get(key) === next) this.tails.delete(key);
    });
    return next;
  }

  /** Registers a fetched record of `partition`, in fetch (= offset) order. */
  private track(partition: number, offset: string): Tracked {
    const entry: Tracked = { offset, finished: false, ok: false };
    let queue = this.tracked.get(partition);
    if (queue === undefined) this.tracked.set(partition, (queue = []));
    queue.push(entry);
    this.outstanding++;
    return entry;
  }

  /** A record is through: the partition's done offset advances over every finished record before it. */
  private markFinished(partition: number, entry: Tracked, ok: boolean): void {
    entry.finished = true;
    entry.ok = ok;
    this.outstanding--;
    const queue = this.tracked.get(partition) ?? [];
    // A record stopped before it was done (ok = false) blocks the offset: it is redelivered after a restart.
    while (queue.length > 0 && queue[0]!.finished && queue[0]!.ok) this.markDone(partition, queue.shift()!.offset);
    for (const wake of this.waiters.splice(0)) wake();
  }

  private markDone(partition: number, offset: string): void {
    const next = BigInt(offset) + 1n;
    if (next > (this.done.get(partition) ?? -1n)) this.done.set(partition, next);
  }

  private async commit(consumer = this.consumer): Promise<void> {
    if (!consumer) return;
    const pending = [...this.done].filter(([p, next]) => this.committed.get(p) !== next);
    if (pending.length === 0) return;
    try {
      await consumer.commitOffsets(pending.map(([partition, next]) => ({ topic: this.deps.topic, partition, offset: next.toString() })));
      for (const [p, next] of pending) this.committed.set(p, next);
    } catch (err) {
      // A rebalance or a broker restart: retried on the next tick; the worst case is a redelivery.
      this.deps.logger.debug({ trigger: this.name, error: String(err) }, 'offset commit failed; will retry');
    }
  }

  /**
   * One record to this Trigger: filter, attempts with back-off, dead letter. Never throws.
   * @returns false when stopped before the record was done (its offset must not be committed)
   */
  private async handle(message: KafkaMessage, heartbeat: () => Promise<void>): Promise<boolean> {
    this.inFlight++;
    try {
      let view: RecordView;
      try {
        view = viewRecord(message);
      } catch (err) {
        await this.deadLetterRecord(message, {}, '', 0, `record is not a CloudEvent: ${String(err)}`, 0);
        return true;
      }
      if (!this.deps.trigger.filters.matches(view.attributes)) return true;
      return await this.deliver(message, view, heartbeat);
    } catch (err) {
      this.deps.logger.error({ trigger: this.name, error: String(err) }, 'dispatch failed unexpectedly');
      return true;
    } finally {
      this.inFlight--;
    }
  }

  private async deliver(message: KafkaMessage, view: RecordView, heartbeat: () => Promise<void>): Promise<boolean> {
    const { trigger, resolve, logger } = this.deps;
    const { delivery } = trigger;
    const url = resolve(trigger.subscriber);
    let last = { status: 0, data: `no address for subscriber ${trigger.subscriber.kind}/${trigger.subscriber.name}` };
    let attempts = 0;
    if (url) {
      const http = view.toHttp();
      for (let attempt = 0; attempt <= delivery.retry && !this.stopping; attempt++) {
        if (attempt > 0) {
          await heartbeat().catch(() => undefined);
          await this.deps.sleep(backoffMs(delivery, attempt));
        }
        attempts++;
        const authorization = await this.deps.senderAuth?.authorization();
        let outcome = await postCloudEvent(url, http, { timeoutMs: delivery.timeoutMs, namespace: trigger.namespace, ...(authorization ? { authorization } : {}) });
        if (outcome.ok && outcome.reply) {
          // A reply that cannot be stored fails the attempt, so the record is delivered again
          // (the handlers are idempotent) instead of the reply being lost.
          try {
            await this.deps.reingest(outcome.reply);
          } catch (err) {
            outcome = { ok: false, retriable: true, status: 0, data: `reply ${outcome.reply.id} not stored: ${String(err)}` };
          }
        }
        if (outcome.ok) {
          const storedAt = Number(message.timestamp);
          this.deps.onOutcome(trigger.name, 'ok', Number.isFinite(storedAt) ? Math.max(0, this.deps.now() - storedAt) / 1000 : undefined);
          return true;
        }
        last = outcome;
        logger.warn({ trigger: trigger.name, event: view.attributes['id'], type: view.attributes['type'], attempt: attempt + 1, status: outcome.status, error: outcome.data.slice(0, 300) }, 'delivery failed');
        if (!outcome.retriable) break;
        this.deps.onOutcome(trigger.name, 'retry');
      }
      if (this.stopping) return false; // not done: left uncommitted, redelivered after the restart
    }
    await this.deadLetterRecord(message, view.attributes, url ?? '', last.status, last.data, attempts);
    return true;
  }

  private async deadLetterRecord(message: KafkaMessage, attributes: Readonly<Record<string, unknown>>, destination: string, status: number, data: string, attempts: number): Promise<void> {
    const { trigger, logger } = this.deps;
    const sink = trigger.delivery.deadLetterSink;
    if (!sink) {
      this.deps.onOutcome(trigger.name, 'dropped');
      logger.error({ trigger: trigger.name, event: attributes['id'], type: attributes['type'], status }, 'delivery failed and no dead-letter sink is set: event dropped');
      return;
    }
    const errorData = data.slice(0, 1024);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(message.headers ?? {})) {
      const last = Array.isArray(value) ? value.at(-1) : value;
      if (last !== undefined) headers[name] = last.toString();
    }
    headers['ce_knativeerrordest'] = destination;
    headers['ce_knativeerrorcode'] = String(status);
    headers['ce_knativeerrordata'] = errorData;
    const record = { key: message.key ?? null, value: message.value ?? null, headers };
    const kafkaSink = 'kind' in sink && sink.kind === 'KafkaSink' ? this.deps.sinkTopic(sink.name) : undefined;
    try {
      if (kafkaSink) {
        await this.deps.produceRaw(kafkaSink, record);
      } else {
        const target = this.deps.resolve(sink);
        if (!target) throw new Error(`dead-letter sink ${'kind' in sink ? `${sink.kind}/${sink.name}` : sink.uri} has no address`);
        const view = viewRecord({ ...record });
        const authorization = await this.deps.senderAuth?.authorization();
        const outcome = await postCloudEvent(target, view.toHttp(), { timeoutMs: trigger.delivery.timeoutMs, ...(authorization ? { authorization } : {}) });
        if (!outcome.ok) throw new Error(`dead-letter sink answered ${outcome.status}`);
      }
    } catch (err) {
      logger.error({ trigger: trigger.name, event: attributes['id'], error: String(err) }, 'dead-letter sink unreachable');
    }
    this.deps.onOutcome(trigger.name, 'dead_letter');
    this.deps.onDeadLetter({ trigger: trigger.name, attributes, errorCode: status, errorData, destination, attempts });
    logger.warn({ trigger: trigger.name, event: attributes['id'], type: attributes['type'], status, attempts }, 'event dead-lettered');
  }
}

async function withRetries<T>(op: () => Promise<T>, attempts = 20, delayMs = 250): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await op();
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}
