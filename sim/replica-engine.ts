/**
 * The simulator's continuous-batching engine: the same step rules and the same Gen 2 iteration
 * time as core/perf/batching-engine.ts (the engine behind the emulated inference servers), laid
 * out for speed. Requests live in the shared RequestTable; the engine holds slot numbers in
 * typed arrays and reports tokens in aggregate, so a step costs O(batch) and allocates nothing
 * per token. test/sim/replica-engine.test.ts checks step-for-step agreement with the core engine.
 *
 * Rules (core engine): FCFS admission while a batch slot is free and the KV cache can reserve the
 * prompt plus the full output; per step every request past its prefill decodes one token, the rest
 * of the token budget goes to prefill chunks in batch order; the step that completes a prompt also
 * emits its first token.
 */
import type { EngineConfig } from '../core/perf/batching-engine';
import { stepTimeMs, type IterationParams } from '../core/perf/iteration-model';
import type { RequestTable } from './request-table';

/** What the engine tells the simulator about the requests it serves. */
export interface EngineListener {
  onFirstToken(slot: number, atMs: number): void;
  onFinished(slot: number, atMs: number): void;
}

export class ReplicaEngine {
  private readonly params: IterationParams;
  private readonly maxBatch: number;
  private readonly maxTokensPerStep: number;
  readonly kvCapacityTokens: number;
  private waiting = new Int32Array(64);
  private waitHead = 0;
  private waitLen = 0;
  private readonly running: Int32Array;
  private runCount = 0;
  private reservedKv = 0;
  stepping = false;
  private stepStartMs = 0;
  private stepMs = 0;
  /** Requests decoding in the step in progress (each emits one non-first token). */
  private stepDecoding = 0;
  /** Σ over steps of (decoding requests × step time) and Σ decoding requests: the ITL sums. */
  itlSumMs = 0;
  itlCount = 0;
  /** Busy time (steps), for utilisation. */
  busyMs = 0;

  constructor(config: EngineConfig, private readonly table: RequestTable) {
    if (config.maxBatchSize < 1) throw new RangeError('maxBatchSize must be >= 1');
    if (config.maxTokensPerStep < 1) throw new RangeError('maxTokensPerStep must be >= 1');
    this.params = config.params;
    this.maxBatch = config.maxBatchSize;
    this.maxTokensPerStep = config.maxTokensPerStep;
    this.kvCapacityTokens = config.kvCapacityTokens;
    this.running = new Int32Array(config.maxBatchSize);
  }

  get runningCount(): number {
    return this.runCount;
  }

  get waitingCount(): number {
    return this.waitLen;
  }

  get outstanding(): number {
    return this.runCount + this.waitLen;
  }

  get idle(): boolean {
    return this.runCount === 0 && this.waitLen === 0;
  }

  get kvCacheUsage(): number {
    return this.kvCapacityTokens > 0 ? this.reservedKv / this.kvCapacityTokens : 0;
  }

  fits(inputTokens: number, outputTokens: number): boolean {
    return inputTokens + outputTokens <= this.kvCapacityTokens;
  }

  submit(slot: number): void {
    if (this.waitLen === this.waiting.length) {
      const bigger = new Int32Array(this.waiting.length * 2);
      for (let i = 0; i < this.waitLen; i++) bigger[i] = this.waiting[(this.waitHead + i) % this.waiting.length]!;
      this.waiting = bigger;
      this.waitHead = 0;
    }
    this.waiting[(this.waitHead + this.waitLen) % this.waiting.length] = slot;
    this.waitLen++;
  }

  /** Admits what fits and plans the next step; returns its duration in ms, or -1 when there is no work. */
  startStep(nowMs: number): number {
    const t = this.table;
    this.admit(nowMs);
    if (this.runCount === 0) return -1;
    let budget = this.maxTokensPerStep;
    let decoding = 0;
    let decodeKv = 0;
    for (let i = 0; i < this.runCount; i++) {
      const r = this.running[i]!;
      if (t.prefilled[r]! >= t.inputTokens[r]!) {
        decoding++;
        decodeKv += t.inputTokens[r]! + t.generated[r]!;
      }
    }
    budget -= decoding;
    let prefillTokens = 0;
    let prefillKv = 0;
    for (let i = 0; i < this.runCount && budget > 0; i++) {
      const r = this.running[i]!;
      const left = t.inputTokens[r]! - t.prefilled[r]!;
      if (left <= 0) continue;
      const chunk = left < budget ? left : budget;
      t.chunk[r] = chunk;
      budget -= chunk;
      prefillTokens += chunk;
      // A chunk attends to the already prefilled prefix plus itself.
      prefillKv += t.prefilled[r]! + chunk;
    }
    const ms = stepTimeMs(this.params, { prefillTokens, prefillKvTokens: prefillKv, decodeRequests: decoding, decodeKvTokens: decodeKv });
    this.stepping = true;
    this.stepStartMs = nowMs;
    this.stepMs = ms;
    this.stepDecoding = decoding;
    return ms;
  }

  /** Applies the step in progress at its end; completions and first tokens go to the listener. */
  finishStep(listener: EngineListener): void {
    const t = this.table;
    const end = this.stepStartMs + this.stepMs;
    this.stepping = false;
    this.busyMs += this.stepMs;
    this.itlSumMs += this.stepDecoding * this.stepMs;
    this.itlCount += this.stepDecoding;
    let kept = 0;
    for (let i = 0; i < this.runCount; i++) {
      const r = this.running[i]!;
      const input = t.inputTokens[r]!;
      const chunk = t.chunk[r]!;
      if (chunk > 0) {
        // Prefilling at the start of the step: the chunk that completes the prompt emits the first token.
        t.chunk[r] = 0;
        const done = t.prefilled[r]! + chunk;
        t.prefilled[r] = done;
        if (done >= input) {
          t.generated[r] = t.generated[r]! + 1;
          t.firstTokenMs[r] = end;
          listener.onFirstToken(r, end);
        }
      } else if (t.prefilled[r]! >= input) {
        // Decoding since an earlier step: one more token.
        t.generated[r] = t.generated[r]! + 1;
      }
      if (t.generated[r]! >= t.outputTokens[r]!) {
        this.reservedKv -= input + t.outputTokens[r]!;
        listener.onFinished(r, end);
      } else {
        this.running[kept++] = r;
      }
    }
    this.runCount = kept;
  }

  private admit(nowMs: number): void {
    const t = this.table;
    while (this.waitLen > 0 && this.runCount < this.maxBatch) {
      const next = this.waiting[this.waitHead]!;
      const need = t.inputTokens[next]! + t.outputTokens[next]!;
      if (this.reservedKv + need > this.kvCapacityTokens) break; // FCFS: no overtaking
      this.waitHead = (this.waitHead + 1) % this.waiting.length;
      this.waitLen--;
      this.reservedKv += need;
      t.scheduledMs[next] = nowMs;
      this.running[this.runCount++] = next;
      t.admitted++;
    }
  }
}
