/**
 * Admission of inference requests to one service: at most `slots` run at once (the replicas' batch
 * slots, so the engines' batches stay full and nothing queues invisibly inside them), at most
 * `maxQueued` wait, higher priorities first (1 = highest, as the service classes number them), FIFO
 * within a priority. A full queue sheds the newcomer at once, unless it outranks the lowest-priority
 * waiter: then that waiter is shed instead, so overload falls on the lowest class first. Every
 * request admitted or queued gets exactly one outcome: a grant, or a shed with its reason.
 *
 * Pure: no timers. The owner calls `pump()` when capacity may have grown (replicas became ready).
 */

export interface AdmissionLimits {
  /** Requests that may run at once; 0 while the service has no ready replica. */
  readonly slots: number;
  /** Requests that may wait for a slot. */
  readonly maxQueued: number;
}

export type ShedReason = 'queue-full' | 'outranked' | 'timeout' | 'closed';

export interface Grant {
  /** Gives the slot back (idempotent): the next waiter, if any, is granted. */
  release(): void;
}

export type Admission =
  | { readonly kind: 'granted'; readonly grant: Grant }
  | { readonly kind: 'queued'; readonly granted: Promise<Grant | ShedReason>; cancel(): void }
  | { readonly kind: 'shed'; readonly reason: ShedReason };

interface Waiter {
  readonly priority: number;
  readonly seq: number;
  readonly settle: (outcome: Grant | ShedReason) => void;
}

export class AdmissionQueue {
  private running = 0;
  private seq = 0;
  /** Sorted: best priority (lowest number) first, then arrival order. */
  private readonly waiting: Waiter[] = [];

  constructor(private readonly limits: () => AdmissionLimits) {}

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  admit(priority: number): Admission {
    const { slots, maxQueued } = this.limits();
    if (this.waiting.length === 0 && this.running < slots) return { kind: 'granted', grant: this.grant() };
    if (this.waiting.length >= maxQueued) {
      const lowest = this.waiting[this.waiting.length - 1];
      if (lowest === undefined || lowest.priority <= priority) return { kind: 'shed', reason: 'queue-full' };
      this.waiting.pop();
      lowest.settle('outranked');
    }
    let settle!: (outcome: Grant | ShedReason) => void;
    const granted = new Promise<Grant | ShedReason>((resolve) => (settle = resolve));
    const waiter: Waiter = { priority, seq: this.seq++, settle };
    this.insert(waiter);
    this.pump();
    return {
      kind: 'queued',
      granted,
      cancel: () => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) {
          this.waiting.splice(at, 1);
          waiter.settle('timeout');
        }
      },
    };
  }

  /** Grants waiters while slots are free; call when the slot count may have grown. */
  pump(): void {
    const { slots } = this.limits();
    while (this.waiting.length > 0 && this.running < slots) this.waiting.shift()!.settle(this.grant());
  }

  /** Sheds every waiter (the ingress is stopping). */
  close(): void {
    for (const w of this.waiting.splice(0)) w.settle('closed');
  }

  private insert(w: Waiter): void {
    // Waiters of equal priority keep arrival order: insert after the last one not worse than w.
    let at = this.waiting.length;
    while (at > 0 && this.waiting[at - 1]!.priority > w.priority) at--;
    this.waiting.splice(at, 0, w);
  }

  private grant(): Grant {
    this.running++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.running--;
        this.pump();
      },
    };
  }
}

/**
 * How many requests may wait: as many as the slots clear within the wait budget (a request at
 * position k waits about k × serviceMs / slots, slots freeing as requests finish); while there are
 * no slots (a cold start), `coldHold`. No more: a longer queue only turns a shed request now into
 * an SLO miss later.
 */
export function queueBound(slots: number, waitBudgetMs: number, serviceMs: number, coldHold: number): number {
  if (slots <= 0) return coldHold;
  return Math.floor((slots * waitBudgetMs) / Math.max(1, serviceMs));
}
