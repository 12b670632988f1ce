/**
 * Saves at most once per `delayMs`, however many changes come: the first change after a save arms
 * a timer, later ones ride on it, and the save takes the state as it is when the timer fires. A
 * burst of thousands of changes is one write, and a saved state is never older than `delayMs`
 * (plus the write) while the process runs. flush() saves at once what is pending (shutdown).
 */
export interface CoalescingSaverOptions {
  /** Writes the current state; called synchronously, never twice at once. */
  readonly save: () => void;
  readonly delayMs: number;
  /** A failed save (disk full, folder gone): reported; the next change, or flush(), tries again. */
  readonly onError: (err: unknown) => void;
}

export class CoalescingSaver {
  private timer: NodeJS.Timeout | null = null;
  private dirty = false;
  private stopped = false;
  private saves = 0;

  constructor(private readonly opts: CoalescingSaverOptions) {}

  /** Notes a change: a save follows within delayMs. */
  changed(): void {
    if (this.stopped) return;
    this.dirty = true;
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.saveNow();
    }, this.opts.delayMs);
    // A pending save never keeps the process alive; an orderly stop flushes it.
    this.timer.unref();
  }

  /** Saves now if anything changed since the last save. */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.saveNow();
  }

  /** Flushes, then ignores every later change (what happens during a shutdown is not state to keep). */
  stop(): void {
    this.flush();
    this.stopped = true;
  }

  /** How many saves were written (tests). */
  get saveCount(): number {
    return this.saves;
  }

  private saveNow(): void {
    if (!this.dirty) return;
    this.dirty = false;
    try {
      this.opts.save();
      this.saves += 1;
    } catch (err) {
      // Still to save: the next change (or the flush at stop) tries again; no retry loop meanwhile.
      this.dirty = true;
      this.opts.onError(err);
    }
  }
}
