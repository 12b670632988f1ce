/**
 * The embedded broker: Knative Kafka Broker semantics in memory, driven by the Trigger manifests
 * of knative/ so that local runs route exactly as the cluster does (ARCHITECTURE.md).
 * - ingress: `POST /<namespace>/<broker>`, any valid CloudEvent in binary or structured mode; 202
 *   when stored, 400 when not a valid CloudEvent, 503 when stopping (ingress.ts, shared with the
 *   Kafka broker; notes/knative-kafka.md §1.1);
 * - every stored event gets an offset in one log (replayable; also written to a JSONL file, whose
 *   offsets a restarted broker continues); in memory only a bounded window of recent events is
 *   kept (events()), the file holds them all;
 * - each Trigger gets the events its filters match; `delivery.order: ordered` delivers one event
 *   at a time per partition key, in order; unordered ones run concurrently;
 * - delivery: POST in binary mode with `Prefer: reply`, the event's data and content type as they
 *   came in; retried on network errors, timeouts and
 *   status ≥500, 404, 408, 409, 429 (§1.5) after linear/exponential back-off; after the last
 *   attempt (or at once for other 4xx) the event goes to the dead-letter sink with
 *   knativeerrordest/knativeerrorcode/knativeerrordata extensions;
 * - a reply event in a 2xx response is stored like any other event (§1.7); a non-empty 2xx body
 *   that is not a CloudEvent fails the delivery, as in Knative.
 */
import { Registry, type Counter, type Histogram } from 'prom-client';
import { createBrokerMetrics, type EventTypeLabel } from './broker-metrics';
import type { Logger } from '../../core/common/ports';
import { silentLogger } from '../../core/common/ports';
import { toHttpBinary } from '../../events/codec/http';
import type { AnyCloudEvent, ExtensionValue } from '../../events/envelope';
import type { EventAttributes } from '../knative/filters';
import type { Delivery, Destination, KnativeManifests, TriggerManifest } from '../knative/types';
import { DEFAULT_RECENT_LIMITS, loggedEventBytes, RecentWindow, type EventLogWriter, type LoggedEvent, type RecentLimits } from './event-log';
import { rateLimitedLogger, type RateLimitedLogger, type RateLimitOptions } from '../logging/rate-limited';
import { postCloudEvent, type AttemptOutcome } from './http-delivery';
import { startIngress, type RunningIngress } from './ingress';
import type { IncomingMessage } from 'node:http';
import type { EventIntakeAuth, EventSenderAuth } from '../auth/event-auth';
import { postHttp } from '../http/post';

/** How events reach a broker in-process: any valid CloudEvent (an SsisEvent is one). */
export interface BrokerPublish {
  publish(event: AnyCloudEvent): Promise<void>;
}

export interface DeadLetter {
  readonly trigger: string;
  readonly event: AnyCloudEvent;
  readonly errorCode: number;
  readonly errorData: string;
  readonly destination: string;
}

export interface EmbeddedBrokerOptions {
  readonly manifests: KnativeManifests;
  /** Resolves a Trigger subscriber or sink to a URL; KafkaSink refs go to the dead-letter log instead. */
  readonly resolve: (destination: Destination) => string | undefined;
  readonly logger?: Logger;
  readonly eventLog?: EventLogWriter;
  /** Where dead-lettered events go when the sink is a KafkaSink (the default). */
  readonly deadLetterLog?: EventLogWriter;
  readonly now?: () => number;
  /** Hook for tests: how long to wait before a retry (defaults to a real timer). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Who may post events to the ingress (the stack's secret); absent: anyone who reaches it. */
  readonly intakeAuth?: EventIntakeAuth;
  /** The credential the broker's deliveries carry to the subscribers. */
  readonly senderAuth?: EventSenderAuth;
  /** How much of the log (and of the dead letters) stays in memory; the files keep everything. */
  readonly recent?: Partial<RecentLimits>;
  /** The bound on per-event warnings (failed deliveries, dead letters), per Trigger and message. */
  readonly eventWarnings?: RateLimitOptions;
}

export function eventAttributes(e: AnyCloudEvent): EventAttributes {
  const attrs: Record<string, ExtensionValue | undefined> = {
    specversion: e.specversion, id: e.id, type: e.type, source: e.source, subject: e.subject, time: e.time, datacontenttype: e.datacontenttype, partitionkey: e.partitionkey,
  };
  for (const [k, v] of Object.entries(e.extensions ?? {})) attrs[k] = v;
  return attrs;
}

export function backoffMs(delivery: Delivery, retry: number): number {
  return delivery.backoffPolicy === 'linear' ? delivery.backoffDelayMs * retry : delivery.backoffDelayMs * 2 ** retry;
}

export class EmbeddedBroker implements BrokerPublish {
  readonly registry = new Registry();
  private readonly log: RecentWindow<LoggedEvent>;
  private readonly deadLetterLog: RecentWindow<DeadLetter>;
  private nextOffset: number;
  private nextDeadLetterOffset: number;
  /** trigger name → partition key → tail of its delivery chain. */
  private readonly chains = new Map<string, Map<string, Promise<void>>>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly logger: Logger;
  /** For what any client can cause once per event: bounded, so no client can flood the log. */
  private readonly eventLogger: RateLimitedLogger;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private ingress: RunningIngress | null = null;
  private stopping = false;
  private readonly ingested: Counter<'type'>;
  private readonly typeLabel: EventTypeLabel;
  private readonly deliveries: Counter<'trigger' | 'outcome'>;
  private readonly deliveryLatency: Histogram<'trigger'>;
  url = '';

  constructor(private readonly opts: EmbeddedBrokerOptions) {
    this.logger = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.eventLogger = rateLimitedLogger(this.logger, {
      keyOf: (level, fields, msg) => `${level} ${msg} ${typeof fields['trigger'] === 'string' ? fields['trigger'] : ''}`,
      ...opts.eventWarnings,
    });
    const limits = { ...DEFAULT_RECENT_LIMITS, ...opts.recent };
    this.log = new RecentWindow<LoggedEvent>(limits, loggedEventBytes);
    this.deadLetterLog = new RecentWindow<DeadLetter>(limits, loggedEventBytes);
    this.nextOffset = opts.eventLog?.nextOffset ?? 0;
    this.nextDeadLetterOffset = opts.deadLetterLog?.nextOffset ?? 0;
    ({ ingested: this.ingested, typeLabel: this.typeLabel, deliveries: this.deliveries, deliveryLatency: this.deliveryLatency } = createBrokerMetrics(this.registry, opts.manifests));
  }

  get path(): string {
    return `/${this.opts.manifests.broker.namespace}/${this.opts.manifests.broker.name}`;
  }

  /**
   * The recent stored events in offset order: the last `recent.maxItems`, as far as they fit in
   * `recent.maxBytes` (the event log file has every one).
   */
  events(): readonly LoggedEvent[] {
    return this.log.list();
  }

  /** The recent dead letters, bounded like events(). */
  deadLetters(): readonly DeadLetter[] {
    return this.deadLetterLog.list();
  }

  async start(port = 0): Promise<string> {
    const auth = this.opts.intakeAuth;
    this.ingress = await startIngress({
      path: this.path, registry: this.registry, accepting: () => !this.stopping, publish: (event) => this.publish(event),
      ...(auth ? { authenticate: (req: IncomingMessage) => auth.verify(req.headers.authorization) } : {}),
    }, port);
    this.url = this.ingress.url;
    return this.url;
  }

  /** Stores an event and starts its deliveries; resolves once stored (like the receiver's 202). */
  publish(event: AnyCloudEvent): Promise<void> {
    const entry: LoggedEvent = { offset: this.nextOffset++, storedAtMs: this.now(), event };
    this.log.push(entry);
    this.opts.eventLog?.append(entry);
    this.ingested.inc({ type: this.typeLabel(event.type) });
    for (const trigger of this.opts.manifests.triggers) {
      if (trigger.broker !== this.opts.manifests.broker.name || !trigger.filters.matches(eventAttributes(event))) continue;
      this.enqueue(trigger, entry);
    }
    return Promise.resolve();
  }

  /** Resolves when no delivery is pending (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const ingress = this.ingress;
    this.ingress = null;
    await ingress?.close();
    this.eventLogger.flush();
    await this.opts.eventLog?.close();
    await this.opts.deadLetterLog?.close();
  }

  private enqueue(trigger: TriggerManifest, entry: LoggedEvent): void {
    let job: Promise<void>;
    if (trigger.ordered) {
      const perKey = this.chains.get(trigger.name) ?? new Map<string, Promise<void>>();
      this.chains.set(trigger.name, perKey);
      const key = entry.event.partitionkey ?? '';
      const previous = perKey.get(key) ?? Promise.resolve();
      job = previous.then(() => this.deliver(trigger, entry));
      perKey.set(key, job);
      void job.then(() => {
        if (perKey.get(key) === job) perKey.delete(key);
      });
    } else {
      job = this.deliver(trigger, entry);
    }
    this.inFlight.add(job);
    void job.finally(() => this.inFlight.delete(job));
  }

  /** One event to one Trigger: attempts, back-off, dead letter. Never rejects. */
  private async deliver(trigger: TriggerManifest, entry: LoggedEvent): Promise<void> {
    const { delivery } = trigger;
    const url = this.opts.resolve(trigger.subscriber);
    let last = { status: 0, data: `no address for subscriber ${trigger.subscriber.kind}/${trigger.subscriber.name}` };
    if (url) {
      for (let attempt = 0; attempt <= delivery.retry && !this.stopping; attempt++) {
        if (attempt > 0) await this.sleep(backoffMs(delivery, attempt));
        const outcome = await this.attempt(url, trigger, entry.event);
        if (outcome.ok) {
          this.deliveries.inc({ trigger: trigger.name, outcome: 'ok' });
          this.deliveryLatency.observe({ trigger: trigger.name }, (this.now() - entry.storedAtMs) / 1000);
          if (outcome.reply) await this.publish(outcome.reply);
          return;
        }
        last = outcome;
        this.eventLogger.warn({ trigger: trigger.name, event: entry.event.id, type: entry.event.type, attempt: attempt + 1, status: outcome.status, error: outcome.data.slice(0, 300) }, 'delivery failed');
        if (!outcome.retriable) break;
        this.deliveries.inc({ trigger: trigger.name, outcome: 'retry' });
      }
    }
    await this.deadLetter(trigger, entry.event, url ?? '', last.status, last.data);
  }

  private async attempt(url: string, trigger: TriggerManifest, event: AnyCloudEvent): Promise<AttemptOutcome> {
    const authorization = await this.opts.senderAuth?.authorization();
    return postCloudEvent(url, toHttpBinary(event), { timeoutMs: trigger.delivery.timeoutMs, namespace: trigger.namespace, ...(authorization ? { authorization } : {}) });
  }

  private async deadLetter(trigger: TriggerManifest, event: AnyCloudEvent, destination: string, status: number, data: string): Promise<void> {
    const sink = trigger.delivery.deadLetterSink;
    if (!sink) {
      this.deliveries.inc({ trigger: trigger.name, outcome: 'dropped' });
      this.eventLogger.error({ trigger: trigger.name, event: event.id, type: event.type, status }, 'delivery failed and no dead-letter sink is set: event dropped');
      return;
    }
    const lettered: AnyCloudEvent = {
      ...event,
      extensions: { ...event.extensions, knativeerrordest: destination, knativeerrorcode: status, knativeerrordata: data.slice(0, 1024) },
    };
    this.deliveries.inc({ trigger: trigger.name, outcome: 'dead_letter' });
    const target = 'kind' in sink && sink.kind === 'KafkaSink' ? undefined : this.opts.resolve(sink);
    if (target) {
      const { headers, body } = toHttpBinary(lettered);
      try {
        const authorization = await this.opts.senderAuth?.authorization();
        await postHttp(target, { headers: authorization ? { ...headers, authorization } : headers, body, timeoutMs: trigger.delivery.timeoutMs });
      } catch (err) {
        this.eventLogger.error({ trigger: trigger.name, event: event.id, error: String(err) }, 'dead-letter sink unreachable');
      }
    }
    // KafkaSink (the default): kept in the dead-letter log, replayable like the broker topic.
    this.deadLetterLog.push({ trigger: trigger.name, event: lettered, errorCode: status, errorData: data.slice(0, 1024), destination });
    this.opts.deadLetterLog?.append({ offset: this.nextDeadLetterOffset++, storedAtMs: this.now(), event: lettered });
    this.eventLogger.warn({ trigger: trigger.name, event: event.id, type: event.type, status }, 'event dead-lettered');
  }
}
