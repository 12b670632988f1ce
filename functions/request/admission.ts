/**
 * The ingress's admission control, one bounded queue per service (core/admission): slots are the
 * batch slots of the service's ready replicas in its traffic split; a request may wait only while
 * it is predicted to get a slot within the class's TTFT SLO, from the service time measured here
 * and when the running requests started (capped by ingress.maxQueuedPerService, which alone bounds
 * the wait of a cold start). Waiters are granted as
 * requests finish, and by a short poll while any wait, which catches replicas that became ready.
 */
import type { ModelCatalog } from '../../core/catalog/model-catalog';
import type { SsisConfig } from '../../core/config/ssis-config';
import { serviceClassOf, sloOf } from '../../core/config/ssis-config';
import { AdmissionQueue, predictedQueueRoom, queueBound, type Admission, type Grant } from '../../core/admission/admission-queue';
import type { ClusterPort } from '../../core/ports/cluster';

interface ServiceQueue {
  readonly queue: AdmissionQueue;
  /** Moving average of the time a granted request holds its slot. */
  serviceMs: number;
  poll: ReturnType<typeof setInterval> | null;
  /** When each request holding a slot got it: when slots will free. */
  readonly running: Set<{ readonly atMs: number }>;
}

const POLL_MS = 50;
/** Weight of the newest observation in the service-time average. */
const EWMA_WEIGHT = 0.1;

export class IngressAdmission {
  private readonly services = new Map<string, ServiceQueue>();

  private readonly now: () => number;

  constructor(private readonly deps: { readonly cluster: ClusterPort; readonly catalog: ModelCatalog; readonly config: SsisConfig; readonly now?: () => number }) {
    this.now = deps.now ?? Date.now;
  }

  /** Batch slots of the ready replicas that receive traffic. */
  slots(service: string): number {
    const view = this.deps.cluster.getService(service);
    if (!view) return 0;
    const spec = this.deps.catalog.get(view.modelId);
    let slots = 0;
    for (const r of view.revisions) {
      if (!view.traffic.some((t) => t.revision === r.name && t.percent > 0)) continue;
      const ready = r.replicas.filter((x) => x.phase === 'ready').length;
      slots += ready * (r.maxBatchSize ?? spec?.maxBatchSize ?? 1);
    }
    return slots;
  }

  admit(service: string, modelId: string, priority: number): Admission {
    const sq = this.queueOf(service, modelId);
    const admission = sq.queue.admit(priority);
    if (admission.kind === 'granted') return { kind: 'granted', grant: this.tracked(sq, admission.grant) };
    if (admission.kind === 'shed') return admission;
    this.startPolling(sq);
    return { ...admission, granted: admission.granted.then((g) => (typeof g === 'string' ? g : this.tracked(sq, g))) };
  }

  /** A granted request finished after holding its slot for `ms`. */
  observe(service: string, ms: number): void {
    const sq = this.services.get(service);
    if (sq) sq.serviceMs += EWMA_WEIGHT * (ms - sq.serviceMs);
  }

  /** Grants what the service's slots allow now (its replicas just became ready). */
  pump(service: string): void {
    this.services.get(service)?.queue.pump();
  }

  depth(service: string): { inFlight: number; queued: number } {
    const q = this.services.get(service)?.queue;
    return { inFlight: q?.inFlight ?? 0, queued: q?.queued ?? 0 };
  }

  /** The grant, remembered while it holds its slot. */
  private tracked(sq: ServiceQueue, grant: Grant): Grant {
    const entry = { atMs: this.now() };
    sq.running.add(entry);
    return {
      release: () => {
        sq.running.delete(entry);
        grant.release();
      },
    };
  }

  close(): void {
    for (const sq of this.services.values()) {
      if (sq.poll) clearInterval(sq.poll);
      sq.queue.close();
    }
  }

  private queueOf(service: string, modelId: string): ServiceQueue {
    const existing = this.services.get(service);
    if (existing) return existing;
    const { config, catalog } = this.deps;
    const slo = sloOf(serviceClassOf(config, modelId), modelId);
    const waitBudgetMs = slo.ttftMs > 0 ? slo.ttftMs : 1000;
    // Until a request has finished, assume one takes its SLO: the first token, then the default answer.
    const initialMs = waitBudgetMs + (catalog.get(modelId)?.defaultMaxNewTokens ?? 20) * (slo.itlMs > 0 ? slo.itlMs : 50);
    const created: ServiceQueue = {
      queue: new AdmissionQueue(() => {
        const slots = this.slots(service);
        const cap = config.ingress.maxQueuedPerService;
        const room = predictedQueueRoom([...created.running].map((r) => r.atMs), slots, created.serviceMs, waitBudgetMs, this.now(), cap);
        return { slots, maxQueued: Math.min(cap, queueBound(slots, waitBudgetMs, created.serviceMs, cap), room) };
      }),
      serviceMs: initialMs,
      poll: null,
      running: new Set(),
    };
    this.services.set(service, created);
    return created;
  }

  private startPolling(sq: ServiceQueue): void {
    if (sq.poll) return;
    sq.poll = setInterval(() => {
      sq.queue.pump();
      if (sq.queue.queued === 0 && sq.poll) {
        clearInterval(sq.poll);
        sq.poll = null;
      }
    }, POLL_MS);
    sq.poll.unref();
  }
}
