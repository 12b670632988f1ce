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

/** Why a request got no slot; `gone`: its client hung up while it waited. */
export type ShedReason = 'queue-full' | 'outranked' | 'timeout' | 'gone' | 'closed';

export interface Grant {
  /** Gives the slot back (idempotent): the next waiter, if any, is granted. */
  release(): void;
}

export type Admission =
  | { readonly kind: 'granted'; readonly grant: Grant }
  | { readonly kind: 'queued'; readonly granted: Promise<Grant | ShedReason>; cancel(reason?: ShedReason): void }
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
      cancel: (reason: ShedReason = 'timeout') => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) {
          this.waiting.splice(at, 1);
          waiter.settle(reason);
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

/**
 * How many may wait so that each is predicted to get a slot within the wait budget, from when the
 * running requests started: slots free as those finish (start + serviceMs, oldest first), and a
 * waiter beyond them needs a further round of serviceMs per `slots` ahead of it. Unlike the
 * average-rate bound above this sees a batch that started all at once: nobody waits behind it
 * for less than what is left of its service time.
 */
export function predictedQueueRoom(runningStartsMs: readonly number[], slots: number, serviceMs: number, waitBudgetMs: number, nowMs: number, cap: number): number {
  if (slots <= 0) return cap;
  const starts = [...runningStartsMs].sort((a, b) => a - b);
  // Slots free in this order: idle ones at once, then busy ones oldest first. With more running
  // than slots (capacity just shrank), the oldest `running - slots` completions free nothing usable.
  const offset = starts.length - slots;
  let room = 0;
  for (let k = 0; k < cap; k++) {
    const round = Math.floor(k / slots);
    const at = (k % slots) + offset;
    const freesInMs = at >= 0 && at < starts.length ? Math.max(0, starts[at]! + serviceMs - nowMs) : 0;
    if (freesInMs + round * serviceMs > waitBudgetMs) break;
    room++;
  }
  return room;
}
