/**
 * Every in-flight request of a run, as columns of typed arrays indexed by a request slot. Slots
 * are recycled through a free list once a request completes, so memory follows the number of
 * requests in flight, not the length of the run, and the hot path allocates nothing per request.
 */
export class RequestTable {
  service = new Int32Array(0);
  inputTokens = new Int32Array(0);
  outputTokens = new Int32Array(0);
  prefilled = new Int32Array(0);
  generated = new Int32Array(0);
  /** Prompt tokens planned for the step in progress (0 when none). */
  chunk = new Int32Array(0);
  arrivedMs = new Float64Array(0);
  scheduledMs = new Float64Array(0);
  firstTokenMs = new Float64Array(0);
  private free: number[] = [];
  private capacity = 0;
  /** Requests admitted into some engine's batch since the start of the run. */
  admitted = 0;

  constructor(initialCapacity = 4096) {
    this.resize(initialCapacity);
  }

  allocate(service: number, inputTokens: number, outputTokens: number, arrivedMs: number): number {
    if (this.free.length === 0) this.resize(this.capacity * 2);
    const slot = this.free.pop()!;
    this.service[slot] = service;
    this.inputTokens[slot] = inputTokens;
    this.outputTokens[slot] = outputTokens;
    this.prefilled[slot] = 0;
    this.generated[slot] = 0;
    this.chunk[slot] = 0;
    this.arrivedMs[slot] = arrivedMs;
    this.scheduledMs[slot] = -1;
    this.firstTokenMs[slot] = -1;
    return slot;
  }

  release(slot: number): void {
    this.free.push(slot);
  }

  get inFlight(): number {
    return this.capacity - this.free.length;
  }

  private resize(n: number): void {
    const old = this.capacity;
    const i32 = (a: Int32Array): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    const f64 = (a: Float64Array): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    this.service = i32(this.service);
    this.inputTokens = i32(this.inputTokens);
    this.outputTokens = i32(this.outputTokens);
    this.prefilled = i32(this.prefilled);
    this.generated = i32(this.generated);
    this.chunk = i32(this.chunk);
    this.arrivedMs = f64(this.arrivedMs);
    this.scheduledMs = f64(this.scheduledMs);
    this.firstTokenMs = f64(this.firstTokenMs);
    // Hand out low slots first (popped from the end).
    for (let s = n - 1; s >= old; s--) this.free.push(s);
    this.capacity = n;
  }
}
