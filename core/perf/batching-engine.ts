/**
 * A vLLM-V1-like continuous-batching engine as a pure state machine in explicit time. The
 * emulated inference server drives it with real timers; the simulator drives it in virtual time.
 *
 * Per step (notes/perf.md §2.8 item 1): running requests that finished their prefill decode one
 * token each; the rest of the step's token budget goes to prefill chunks, FCFS, first to running
 * requests still prefilling, then to newly admitted ones. A request is admitted when a batch slot
 * is free and the KV cache can hold its prompt plus its maximum output (reserved up front, so no
 * preemption is needed). A request's first token is emitted by the step that completes its
 * prefill. Step time comes from the Gen 2 iteration model (iteration-model.ts).
 */
import { type IterationParams, stepTimeMs } from './iteration-model';

export interface EngineConfig {
  readonly params: IterationParams;
  readonly maxBatchSize: number;
  /** Token budget of one step (vLLM max_num_batched_tokens; 8192 by default in V1). */
  readonly maxTokensPerStep: number;
  /** KV cache capacity in tokens (slice memory left after weights, per KV bytes per token). */
  readonly kvCapacityTokens: number;
}

export interface EngineRequest {
  readonly id: string;
  readonly inputTokens: number;
  readonly maxNewTokens: number;
  readonly arrivedMs: number;
}

export interface TokenEvent {
  readonly id: string;
  readonly atMs: number;
  /** Time since this request's previous token; null for the first token. */
  readonly interTokenMs: number | null;
}

export interface FinishedRequest {
  readonly id: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly arrivedMs: number;
  readonly scheduledMs: number;
  readonly firstTokenMs: number;
  readonly finishedMs: number;
}

export interface StepOutcome {
  readonly startedMs: number;
  readonly endedMs: number;
  readonly tokens: readonly TokenEvent[];
  readonly finished: readonly FinishedRequest[];
}

interface Running {
  readonly req: EngineRequest;
  readonly scheduledMs: number;
  prefilled: number;
  generated: number;
  firstTokenMs: number | null;
  lastTokenMs: number | null;
}

interface PlannedStep {
  readonly startedMs: number;
  readonly durationMs: number;
  readonly decoding: readonly Running[];
  readonly prefillChunks: ReadonlyMap<Running, number>;
}

export class BatchingEngine {
  private readonly waiting: EngineRequest[] = [];
  private readonly running: Running[] = [];
  private reservedKvTokens = 0;
  private current: PlannedStep | null = null;

  constructor(private readonly config: EngineConfig) {
    if (config.maxBatchSize < 1) throw new RangeError('maxBatchSize must be >= 1');
    if (config.maxTokensPerStep < 1) throw new RangeError('maxTokensPerStep must be >= 1');
  }

  /** Requests that can never fit the KV cache are refused instead of waiting forever. */
  fits(inputTokens: number, maxNewTokens: number): boolean {
    return inputTokens + maxNewTokens <= this.config.kvCapacityTokens;
  }

  submit(req: EngineRequest): void {
    if (!this.fits(req.inputTokens, req.maxNewTokens)) {
      throw new RangeError(`request ${req.id} needs ${req.inputTokens + req.maxNewTokens} KV tokens, capacity is ${this.config.kvCapacityTokens}`);
    }
    this.waiting.push(req);
  }

  get stepping(): boolean {
    return this.current !== null;
  }

  get idle(): boolean {
    return this.waiting.length === 0 && this.running.length === 0;
  }

  get runningCount(): number {
    return this.running.length;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  get kvCacheUsage(): number {
    return this.config.kvCapacityTokens > 0 ? this.reservedKvTokens / this.config.kvCapacityTokens : 0;
  }

  /** Admits what fits and plans the next step; returns its duration, or null when there is no work. */
  startStep(nowMs: number): number | null {
    if (this.current) throw new Error('a step is already in progress');
    this.admit(nowMs);
    if (this.running.length === 0) return null;

    let budget = this.config.maxTokensPerStep;
    const decoding = this.running.filter((r) => r.prefilled >= r.req.inputTokens);
    budget -= decoding.length;
    const prefillChunks = new Map<Running, number>();
    for (const r of this.running) {
      if (budget <= 0) break;
      const left = r.req.inputTokens - r.prefilled;
      if (left <= 0) continue;
      const chunk = Math.min(left, budget);
      prefillChunks.set(r, chunk);
      budget -= chunk;
    }
    let prefillTokens = 0;
    let prefillKv = 0;
    for (const [r, chunk] of prefillChunks) {
      prefillTokens += chunk;
      // A chunk attends to the already prefilled prefix plus itself.
      prefillKv += r.prefilled + chunk;
    }
    const decodeKv = decoding.reduce((sum, r) => sum + r.req.inputTokens + r.generated, 0);
    const durationMs = stepTimeMs(this.config.params, {
      prefillTokens,
      prefillKvTokens: prefillKv,
      decodeRequests: decoding.length,
      decodeKvTokens: decodeKv,
    });
    this.current = { startedMs: nowMs, durationMs, decoding, prefillChunks };
    return durationMs;
  }

  /** Applies the planned step at its end time and reports the tokens and completions it produced. */
  finishStep(): StepOutcome {
    const step = this.current;
    if (!step) throw new Error('no step in progress');
    this.current = null;
    const endedMs = step.startedMs + step.durationMs;
    const tokens: TokenEvent[] = [];
    const emit = (r: Running): void => {
      tokens.push({ id: r.req.id, atMs: endedMs, interTokenMs: r.lastTokenMs === null ? null : endedMs - r.lastTokenMs });
      if (r.firstTokenMs === null) r.firstTokenMs = endedMs;
      r.lastTokenMs = endedMs;
      r.generated += 1;
    };
    for (const r of step.decoding) emit(r);
    for (const [r, chunk] of step.prefillChunks) {
      r.prefilled += chunk;
      // The step that completes the prompt also samples the first output token.
      if (r.prefilled >= r.req.inputTokens) emit(r);
    }
    const finished: FinishedRequest[] = [];
    for (let i = this.running.length - 1; i >= 0; i--) {
      const r = this.running[i]!;
      if (r.generated < r.req.maxNewTokens) continue;
      this.running.splice(i, 1);
      this.reservedKvTokens -= r.req.inputTokens + r.req.maxNewTokens;
      finished.push({
        id: r.req.id,
        inputTokens: r.req.inputTokens,
        outputTokens: r.generated,
        arrivedMs: r.req.arrivedMs,
        scheduledMs: r.scheduledMs,
        firstTokenMs: r.firstTokenMs ?? endedMs,
        finishedMs: endedMs,
      });
    }
    finished.reverse();
    return { startedMs: step.startedMs, endedMs, tokens, finished };
  }

  /** Removes a request that has not finished (client gone); frees its KV reservation. */
  cancel(id: string): boolean {
    const w = this.waiting.findIndex((r) => r.id === id);
    if (w >= 0) {
      this.waiting.splice(w, 1);
      return true;
    }
    if (this.current) return false; // in the middle of a step: let it finish, the caller ignores the result
    const i = this.running.findIndex((r) => r.req.id === id);
    if (i < 0) return false;
    const [r] = this.running.splice(i, 1);
    this.reservedKvTokens -= r!.req.inputTokens + r!.req.maxNewTokens;
    return true;
  }

  private admit(nowMs: number): void {
    while (this.waiting.length > 0 && this.running.length < this.config.maxBatchSize) {
      const next = this.waiting[0]!;
      const need = next.inputTokens + next.maxNewTokens;
      if (this.reservedKvTokens + need > this.config.kvCapacityTokens) break; // FCFS: no overtaking
      this.waiting.shift();
      this.reservedKvTokens += need;
      this.running.push({ req: next, scheduledMs: nowMs, prefilled: 0, generated: 0, firstTokenMs: null, lastTokenMs: null });
    }
  }
}
