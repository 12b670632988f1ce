/**
 * Reads a broker topic back, for `ssis replay` and `ssis events`: every partition from a start
 * (offset, time or the beginning) to the end the topic had when reading began (or forever with
 * `follow`). It uses a throw-away consumer group that commits nothing and is deleted afterwards,
 * so the Triggers' groups (and their offsets) are never touched (notes/knative-kafka.md §1.8,
 * replay procedure 3).
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { asSsisError, SsisError } from '../../core/errors';
import { fromKafkaRecordAnyEvent } from '../../events/codec/kafka';
import type { AnyCloudEvent } from '../../events/envelope';

/** Where to start or stop: a time (ms since the epoch) or offsets per partition. */
export type TopicPosition = { readonly timeMs: number } | { readonly offsets: ReadonlyMap<number, bigint> };

export interface ReadOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  /** Inclusive; the beginning of each partition when absent. */
  readonly from?: TopicPosition;
  /** Exclusive: records at or after it are left out; the end at start of reading when absent. */
  readonly to?: TopicPosition;
  /** Keep reading new records until the signal aborts. */
  readonly follow?: AbortSignal;
  readonly timeoutMs?: number;
}

export interface ReadRecord {
  readonly partition: number;
  readonly offset: string;
  readonly timestampMs: number;
  /** The event, or undefined when the record is not a valid CloudEvent (see `error`); its data as stored. */
  readonly event?: AnyCloudEvent;
  readonly error?: string;
  readonly raw: KafkaMessage;
}

/**
 * Parses `--from/--to`: an RFC 3339 time, `<ms since epoch>`, a relative `-5m` / `-30s` / `-2h`,
 * or offsets `p:offset[,p:offset…]` (`3:120` = partition 3 from offset 120).
 * @throws {SsisError} SSIS_INVALID_CONFIG naming the option
 */
export function parsePosition(text: string, field: string, nowMs = Date.now()): TopicPosition {
  const t = text.trim();
  if (/^\d+:\d+(,\d+:\d+)*$/.test(t)) {
    return { offsets: new Map(t.split(',').map((pair) => { const [p, o] = pair.split(':') as [string, string]; return [Number(p), BigInt(o)] as const; })) };
  }
  const relative = /^-(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(t);
  if (relative) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
    return { timeMs: nowMs - Number(relative[1]) * unit };
  }
  if (/^\d{10,}$/.test(t)) return { timeMs: Number(t) };
  const ms = Date.parse(t);
  if (!Number.isNaN(ms) && /^\d{4}-\d{2}-\d{2}/.test(t)) return { timeMs: ms };
  throw new SsisError('SSIS_INVALID_CONFIG', `${field}: "${text}" is not a time (RFC 3339, ms since epoch, -5m) nor offsets (p:offset,…)`, { issues: [{ field, message: 'unrecognised position' }] });
}

/** Reads the records in range, in offset order per partition (partitions interleaved by time). */
export async function readTopic(opts: ReadOptions, onRecord?: (r: ReadRecord) => void): Promise<ReadRecord[]> {
  const kafka = new Kafka({ clientId: 'ssis-topic-reader', brokers: [...opts.brokers], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  const admin = kafka.admin();
  const groupId = `ssis-reader-${randomUUID()}`;
  const out: ReadRecord[] = [];
  try {
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(opts.topic).catch((err: unknown) => {
      throw new SsisError('SSIS_NOT_FOUND', `topic ${opts.topic} not readable at ${opts.brokers.join(',')}: ${asSsisError(err).message}`);
    });
    const lows = new Map(ends.map((e) => [e.partition, BigInt(e.low)] as const));
    const highs = new Map(ends.map((e) => [e.partition, BigInt(e.high)] as const));
    const start = await positions(admin, opts.topic, opts.from, lows, highs);
    const stop = opts.follow ? undefined : await positions(admin, opts.topic, opts.to, highs, highs);
    // Record timestamps are the events' times, not always increasing: the time bounds are also
    // checked record by record.
    const fromMs = opts.from && 'timeMs' in opts.from ? opts.from.timeMs : -Infinity;
    const toMs = opts.to && 'timeMs' in opts.to ? opts.to.timeMs : Infinity;
    const pending = new Set(ends.map((e) => e.partition).filter((p) => stop === undefined || (start.get(p) ?? 0n) < (stop.get(p) ?? 0n)));
    if (pending.size === 0 && !opts.follow) return out;

    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
    await consumer.connect();
    await consumer.subscribe({ topics: [opts.topic], fromBeginning: true });
    let finish: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    opts.follow?.addEventListener('abort', () => finish());
    await consumer.run({
      autoCommit: false,
      eachMessage: ({ partition, message }) => {
        const offset = BigInt(message.offset);
        const end = stop?.get(partition);
        if (offset < (start.get(partition) ?? 0n) || (end !== undefined && offset >= end)) return Promise.resolve();
        const timestampMs = Number(message.timestamp);
        if (timestampMs >= fromMs && timestampMs < toMs) {
          const record = decode(partition, message);
          // Following streams for as long as it runs: records go to onRecord only, not into memory.
          if (!opts.follow) out.push(record);
          onRecord?.(record);
        }
        if (end !== undefined && offset + 1n >= end) {
          pending.delete(partition);
          if (pending.size === 0) finish();
        }
        return Promise.resolve();
      },
    });
    for (const [partition, offset] of start) consumer.seek({ topic: opts.topic, partition, offset: offset.toString() });
    const timeout = setTimeout(() => finish(), opts.follow ? 2 ** 31 - 1 : (opts.timeoutMs ?? 30_000));
    await finished;
    clearTimeout(timeout);
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    if (!opts.follow && pending.size > 0) throw new SsisError('SSIS_BROKER_UNAVAILABLE', `reading ${opts.topic} timed out with partitions ${[...pending].join(', ')} unfinished`);
    return out.sort((a, b) => a.timestampMs - b.timestampMs || a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function positions(admin: ReturnType<Kafka['admin']>, topic: string, at: TopicPosition | undefined, dflt: ReadonlyMap<number, bigint>, highs: ReadonlyMap<number, bigint>): Promise<Map<number, bigint>> {
  const result = new Map(dflt);
  if (at === undefined) return result;
  if ('offsets' in at) {
    // Partitions not named keep the default (their beginning or end).
    for (const [p, o] of at.offsets) if (result.has(p)) result.set(p, o);
    return result;
  }
  // The first offset whose timestamp is at or after the time; the end when there is none (-1).
  for (const { partition, offset } of await admin.fetchTopicOffsetsByTimestamp(topic, at.timeMs)) {
    result.set(partition, offset === '-1' ? (highs.get(partition) ?? 0n) : BigInt(offset));
  }
  return result;
}

function decode(partition: number, message: KafkaMessage): ReadRecord {
  const base = { partition, offset: message.offset, timestampMs: Number(message.timestamp), raw: message };
  try {
    return { ...base, event: fromKafkaRecordAnyEvent(message) };
  } catch (err) {
    return { ...base, error: asSsisError(err).message };
  }
}
