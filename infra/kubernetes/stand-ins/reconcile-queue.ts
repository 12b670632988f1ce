/**
 * The controllers' work queue: reconciles run one at a time per key (so two watch events about
 * one object never race each other's writes), an event arriving during a run makes the key run
 * again after it, and a failed run is retried after a pause. Reconciles are level-based: they
 * read the current state from the caches, so coalescing many events into one run loses nothing.
 */
import type { Logger } from '../../../core/common/ports';

export class ReconcileQueue {
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; dueMs: number }>();
  private stopped = false;

  constructor(
    private readonly reconcile: (key: string) => Promise<void>,
    private readonly logger: Logger,
    private readonly retryDelayMs = 500,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.again.add(key);
      return;
    }
    const run = this.run(key).finally(() => this.running.delete(key));
    this.running.set(key, run);
  }

  /** Runs `key` again after `delayMs` (a deadline to check, a retry); an earlier one already set stands. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    const dueMs = Date.now() + Math.max(0, delayMs);
    const set = this.timers.get(key);
    if (set && set.dueMs <= dueMs) return;
    if (set) clearTimeout(set.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, Math.max(0, delayMs));
    this.timers.set(key, { timer, dueMs });
  }

  /** Takes no more work and waits for the runs in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.all([...this.running.values()]);
  }

  private async run(key: string): Promise<void> {
    do {
      this.again.delete(key);
      try {
        await this.reconcile(key);
      } catch (err) {
        if (this.stopped) return;
        this.logger.warn({ key, err: err instanceof Error ? err.message : String(err) }, 'reconcile failed; retrying');
        this.addAfter(key, this.retryDelayMs);
      }
    } while (this.again.has(key) && !this.stopped);
  }
}
