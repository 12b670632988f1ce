/**
 * Inferno's LLM queue analyzer, generations 2 and 3 (queue-analysis v0.3.0 and v0.7.0+; notes inferno.md §3.3,
 * §3.4, §3.6). A replica with max batch N and queue bound Kmax = N + maxQueueSize is a state-dependent
 * birth–death queue (./queue) whose service rate at batch b is b / S(b); the LLM metrics are read at the mean
 * in-service batch B = L_serv. Rates are req/s at this boundary and req/ms inside. Arithmetic is float64 (Go uses
 * float32: expect ~1e-5 relative differences against Inferno's published numbers).
 */
import { validationError, type FieldIssue } from '../errors';
import { binarySearch } from './bisection';
import { solveQueueMetrics } from './queue';

/** Iteration-time model parameters (ms): T = α + β·computed tokens + γ·KV tokens touched. */
export interface PerfParams { readonly alpha: number; readonly beta: number; readonly gamma: number }

export interface AnalyzerConfig {
  readonly generation: 2 | 3;
  /** N. */
  readonly maxBatchSize: number;
  /** Kmax = N + maxQueueSize. */
  readonly maxQueueSize: number;
  readonly params: PerfParams;
  readonly avgInputTokens: number;
  readonly avgOutputTokens: number;
  /** Gen 3 chunked-prefill token budget per iteration; default 8192. */
  readonly maxNumTokens?: number;
}

export interface AnalysisMetrics {
  readonly throughputPerSec: number;
  readonly avgRespTimeMs: number;
  readonly avgWaitTimeMs: number;
  readonly avgNumInServ: number;
  readonly avgTTFTMs: number;
  readonly avgITLMs: number;
  /** λmax = 0.999·servRate[N−1], req/s. */
  readonly maxRatePerSec: number;
  /** ρ = clamp(L_serv/N, 0, 1). */
  readonly utilization: number;
}

export interface SloTargets { readonly ttftMs?: number; readonly itlMs?: number; readonly tps?: number }

export interface SizeResult {
  /** rateStar = throughput at λ*, req/s. */
  readonly ratePerSec: number;
  readonly lambdaStarPerSec: number;
  readonly metrics: AnalysisMetrics;
  readonly rateTargetTTFTPerSec?: number;
  readonly rateTargetITLPerSec?: number;
}

export interface LlmAnalyzer {
  /** Gen 2 (v0.3.0) throws a RangeError above λmax; Gen 3 (v0.7.0+) accepts any rate ≥ 0 (the finite queue drops the excess). */
  analyze(ratePerSec: number): AnalysisMetrics;
  /** Max rate per replica meeting the SLOs; null when a target lies below the attainable region (infeasible). */
  size(targets: SloTargets): SizeResult | null;
  rateRangePerSec(): { readonly min: number; readonly max: number };
}

export const DEFAULT_MAX_NUM_TOKENS = 8192;
/** λmin = EPSILON·servRate[0], λmax = (1 − EPSILON)·servRate[N−1]. */
export const RATE_EPSILON = 0.001;
/** slo-tps sizing: λ = (1 − 0.1)·λmax. */
export const STABILITY_SAFETY_FRACTION = 0.1;

// ---------------------------------------------------------------------------------------------------------------
// Gen 2 primitives (queue-analysis v0.3.0). in, out are average tokens (floats).

export interface TokenWorkload { readonly params: PerfParams; readonly inTokens: number; readonly outTokens: number }

/** T(b) = α + b·(β·c + γ·m), c = (in + out)/(out + 1), m = in + out/2. */
export function gen2IterTimeMs(w: TokenWorkload, batch: number): number {
  const { alpha, beta, gamma } = w.params;
  const c = (w.inTokens + w.outTokens) / (w.outTokens + 1);
  const m = w.inTokens + w.outTokens / 2;
  return alpha + batch * (beta * c + gamma * m);
}

/** prefill(b) = T(b) + (β + γ)·in; 0 when in = 0. */
export function gen2PrefillMs(w: TokenWorkload, batch: number): number {
  if (w.inTokens === 0) return 0;
  return gen2IterTimeMs(w, batch) + (w.params.beta + w.params.gamma) * w.inTokens;
}

/** decode(b) = T(b) + β + γ·(in + out/2) (the v0.3.0 form; v0.4.0+ uses (out+1)/2). */
export function gen2DecodeMs(w: TokenWorkload, batch: number): number {
  return gen2IterTimeMs(w, batch) + w.params.beta + w.params.gamma * (w.inTokens + w.outTokens / 2);
}

/** S(b) = prefill(b) + out·decode(b): one request's time in service at batch b. */
export function gen2ServiceTimeMs(w: TokenWorkload, batch: number): number {
  return gen2PrefillMs(w, batch) + w.outTokens * gen2DecodeMs(w, batch);
}

// ---------------------------------------------------------------------------------------------------------------
// Gen 3 primitives (queue-analysis v0.7.0+, chunked prefill with a token budget M per iteration).

/**
 * Chunk table: b_k = floor(max(0, (k + out)·(M − in/k)/(in + out))) for k = 1, 2, …, stopping once b_k ≥ maxBatch.
 * Entry k−1 is b_k, the largest batch at which a prefill split into k chunks fits the budget.
 */
export function gen3ChunkTable(inTokens: number, outTokens: number, maxNumTokens: number, maxBatch: number): number[] {
  const table: number[] = [];
  const limit = 10_000_000;
  for (let k = 1; k <= limit; k++) {
    const b = Math.floor(Math.max(0, ((k + outTokens) * (maxNumTokens - inTokens / k)) / (inTokens + outTokens)));
    table.push(b);
    if (b >= maxBatch) return table;
  }
  throw new RangeError(`gen3ChunkTable: no chunk count up to ${limit} fits batch ${maxBatch}`);
}

/** nc(B) = smallest k with b_k ≥ B, else the table length. */
export function gen3NumChunks(table: readonly number[], batch: number): number {
  for (let i = 0; i < table.length; i++) if (table[i]! >= batch) return i + 1;
  return table.length;
}

/** w_pre(nc) = (β + γ·(nc+1)/2)·in. */
export function gen3PrefillWorkMs(w: TokenWorkload, nc: number): number {
  return (w.params.beta + (w.params.gamma * (nc + 1)) / 2) * w.inTokens;
}

/** w_dec = β·out + γ·out·(in + (out+1)/2). */
export function gen3DecodeWorkMs(w: TokenWorkload): number {
  const { beta, gamma } = w.params;
  return beta * w.outTokens + gamma * w.outTokens * (w.inTokens + (w.outTokens + 1) / 2);
}

/** δ(nc) = (w_pre + w_dec)/(nc + out): per-request work added to each iteration. */
export function gen3DeltaMs(w: TokenWorkload, nc: number): number {
  return (gen3PrefillWorkMs(w, nc) + gen3DecodeWorkMs(w)) / (nc + w.outTokens);
}

/** T_iter(B) = α + B·δ(nc). */
export function gen3IterTimeMs(w: TokenWorkload, nc: number, batch: number): number {
  return w.params.alpha + batch * gen3DeltaMs(w, nc);
}

/** τ(B) = (nc + out)·T_iter(B): a request's time in service. */
export function gen3TauMs(w: TokenWorkload, nc: number, batch: number): number {
  return (nc + w.outTokens) * gen3IterTimeMs(w, nc, batch);
}

/** prefill(B) = nc·max(0, α + (B−1)·δ) + w_pre. */
export function gen3PrefillMs(w: TokenWorkload, nc: number, batch: number): number {
  return nc * Math.max(0, w.params.alpha + (batch - 1) * gen3DeltaMs(w, nc)) + gen3PrefillWorkMs(w, nc);
}

/** itl(B) = max(0, α + (B−1)·δ) + β + γ·(in + (out+1)/2). */
export function gen3ItlMs(w: TokenWorkload, nc: number, batch: number): number {
  const { alpha, beta, gamma } = w.params;
  return Math.max(0, alpha + (batch - 1) * gen3DeltaMs(w, nc)) + beta + gamma * (w.inTokens + (w.outTokens + 1) / 2);
}

// ---------------------------------------------------------------------------------------------------------------
// Config validation

function validateConfig(config: AnalyzerConfig): void {
  const issues: FieldIssue[] = [];
  const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (config.generation !== 2 && config.generation !== 3) issues.push({ field: 'generation', message: 'must be 2 or 3' });
  if (!num(config.maxBatchSize) || !Number.isInteger(config.maxBatchSize) || config.maxBatchSize < 1) {
    issues.push({ field: 'maxBatchSize', message: 'must be an integer ≥ 1' });
  }
  if (!num(config.maxQueueSize) || !Number.isInteger(config.maxQueueSize) || config.maxQueueSize < 0) {
    issues.push({ field: 'maxQueueSize', message: 'must be an integer ≥ 0' });
  }
  const params = config.params as PerfParams | undefined;
  if (params === undefined || params === null || typeof params !== 'object') {
    issues.push({ field: 'params', message: 'must be an object {alpha, beta, gamma}' });
  } else {
    if (!num(params.alpha) || params.alpha <= 0) issues.push({ field: 'params.alpha', message: 'must be a finite number > 0 (ms)' });
    if (!num(params.beta) || params.beta < 0) issues.push({ field: 'params.beta', message: 'must be a finite number ≥ 0 (ms)' });
    if (!num(params.gamma) || params.gamma < 0) issues.push({ field: 'params.gamma', message: 'must be a finite number ≥ 0 (ms)' });
  }
  if (!num(config.avgInputTokens) || config.avgInputTokens < 0) issues.push({ field: 'avgInputTokens', message: 'must be a finite number ≥ 0' });
  if (!num(config.avgOutputTokens) || config.avgOutputTokens <= 0) issues.push({ field: 'avgOutputTokens', message: 'must be a finite number > 0' });
  if (config.maxNumTokens !== undefined && (!num(config.maxNumTokens) || !Number.isInteger(config.maxNumTokens) || config.maxNumTokens < 1)) {
    issues.push({ field: 'maxNumTokens', message: 'must be an integer ≥ 1' });
  }
  if (issues.length > 0) throw validationError('SSIS_INVALID_CONFIG', 'invalid analyzer config', issues);
}

// ---------------------------------------------------------------------------------------------------------------
// Analyzer

interface Model {
  /** servRate[b−1], per ms. */
  readonly servRatePerMs: readonly number[];
  /** prefill time (ms) at mean in-service batch B (float). */
  prefillAt(batch: number): number;
}

function gen2Model(w: TokenWorkload, N: number): Model {
  const servRatePerMs: number[] = [];
  for (let b = 1; b <= N; b++) servRatePerMs.push(b / gen2ServiceTimeMs(w, b));
  return { servRatePerMs, prefillAt: (batch) => gen2PrefillMs(w, batch) };
}

function gen3Model(w: TokenWorkload, N: number, maxNumTokens: number): Model {
  const table = gen3ChunkTable(w.inTokens, w.outTokens, maxNumTokens, N);
  const servRatePerMs: number[] = [];
  for (let b = 1; b <= N; b++) servRatePerMs.push(b / gen3TauMs(w, gen3NumChunks(table, b), b));
  const prefillAt = (batch: number): number => {
    const nc = gen3NumChunks(table, Math.min(N, Math.max(1, Math.round(batch))));
    return gen3PrefillMs(w, nc, batch);
  };
  return { servRatePerMs, prefillAt };
}

export function createAnalyzer(config: AnalyzerConfig): LlmAnalyzer {
  validateConfig(config);
  const N = config.maxBatchSize;
  const kMax = N + config.maxQueueSize;
  const w: TokenWorkload = { params: config.params, inTokens: config.avgInputTokens, outTokens: config.avgOutputTokens };
  const model = config.generation === 2 ? gen2Model(w, N) : gen3Model(w, N, config.maxNumTokens ?? DEFAULT_MAX_NUM_TOKENS);
  const lambdaMinPerMs = RATE_EPSILON * model.servRatePerMs[0]!;
  const lambdaMaxPerMs = (1 - RATE_EPSILON) * model.servRatePerMs[N - 1]!;

  // Sizing evaluates the same rates more than once (both searches start at λmin and λmax, the result is
  // re-evaluated): the queue is solved once per distinct rate.
  const solved = new Map<number, AnalysisMetrics>();
  const metricsAt = (lambdaPerMs: number): AnalysisMetrics => {
    const known = solved.get(lambdaPerMs);
    if (known !== undefined) return known;
    const metrics = solveMetricsAt(lambdaPerMs);
    solved.set(lambdaPerMs, metrics);
    return metrics;
  };
  const solveMetricsAt = (lambdaPerMs: number): AnalysisMetrics => {
    const q = solveQueueMetrics(lambdaPerMs, model.servRatePerMs, kMax);
    const prefill = model.prefillAt(q.Lserv);
    const itl = (q.Sbar - prefill) / w.outTokens;
    return {
      throughputPerSec: q.X * 1000,
      avgRespTimeMs: q.T,
      avgWaitTimeMs: q.W,
      avgNumInServ: q.Lserv,
      avgTTFTMs: q.W + prefill + itl,
      avgITLMs: itl,
      maxRatePerSec: lambdaMaxPerMs * 1000,
      utilization: q.rho,
    };
  };

  const analyze = (ratePerSec: number): AnalysisMetrics => {
    if (typeof ratePerSec !== 'number' || !Number.isFinite(ratePerSec) || ratePerSec < 0) {
      throw new RangeError(`analyze: rate ${ratePerSec} req/s is not a finite rate ≥ 0`);
    }
    if (config.generation === 2 && ratePerSec > lambdaMaxPerMs * 1000) {
      throw new RangeError(`analyze: rate ${ratePerSec} req/s exceeds the max rate ${lambdaMaxPerMs * 1000} req/s`);
    }
    return metricsAt(ratePerSec / 1000);
  };

  const size = (targets: SloTargets): SizeResult | null => {
    for (const key of ['ttftMs', 'itlMs', 'tps'] as const) {
      const v = targets[key];
      if (v !== undefined && (typeof v !== 'number' || Number.isNaN(v))) throw new RangeError(`size: target ${key} = ${String(v)} is not a number`);
    }
    let lambdaStar = lambdaMaxPerMs;
    let rateTargetTTFTPerSec: number | undefined;
    let rateTargetITLPerSec: number | undefined;
    const ttft = targets.ttftMs ?? 0;
    if (ttft > 0) {
      const r = binarySearch(lambdaMinPerMs, lambdaMaxPerMs, ttft, (l) => metricsAt(l).avgTTFTMs);
      if (r.indicator < 0) return null;
      rateTargetTTFTPerSec = r.x * 1000;
      lambdaStar = Math.min(lambdaStar, r.x);
    }
    const itlTarget = targets.itlMs ?? 0;
    if (itlTarget > 0) {
      const r = binarySearch(lambdaMinPerMs, lambdaMaxPerMs, itlTarget, (l) => metricsAt(l).avgITLMs);
      if (r.indicator < 0) return null;
      rateTargetITLPerSec = r.x * 1000;
      lambdaStar = Math.min(lambdaStar, r.x);
    }
    if ((targets.tps ?? 0) > 0) lambdaStar = Math.min(lambdaStar, (1 - STABILITY_SAFETY_FRACTION) * lambdaMaxPerMs);
    const metrics = metricsAt(lambdaStar);
    return {
      ratePerSec: metrics.throughputPerSec,
      lambdaStarPerSec: lambdaStar * 1000,
      metrics,
      ...(rateTargetTTFTPerSec === undefined ? {} : { rateTargetTTFTPerSec }),
      ...(rateTargetITLPerSec === undefined ? {} : { rateTargetITLPerSec }),
    };
  };

  return {
    analyze,
    size,
    rateRangePerSec: () => ({ min: lambdaMinPerMs * 1000, max: lambdaMaxPerMs * 1000 }),
  };
}
