/**
 * Inferno's generation-2 iteration-time model (notes/inferno.md §3.3):
 *   iterationTime = alpha + beta·(computed tokens) + gamma·(KV tokens read)   [ms]
 * alpha is the per-iteration overhead, beta the compute time per processed token, gamma the
 * memory-access time per KV-cache token touched. The engine applies it per step with the actual
 * tokens of the step instead of Inferno's averages c and m; in expectation the two agree.
 *
 * Slice scaling (notes/perf.md §2.8 item 2): on a MIG slice with compute fraction f_c and memory
 * bandwidth fraction f_m, beta/f_c (prefill and per-token compute are compute-bound) and gamma/f_m
 * (KV reads are bandwidth-bound); alpha (host-side scheduling and launch) stays as it is.
 */
export interface IterationParams {
  readonly alphaMs: number;
  readonly betaMsPerToken: number;
  readonly gammaMsPerKvToken: number;
}

export interface SliceShare {
  /** Fraction of the GPU's compute (k/7 on A100/H100/H200, 1 for a whole GPU). */
  readonly computeFraction: number;
  /** Fraction of the GPU's memory bandwidth (memory slots/8, 1 for a whole GPU). */
  readonly memoryBandwidthFraction: number;
}

export function scaleToSlice(full: IterationParams, share: SliceShare): IterationParams {
  if (!(share.computeFraction > 0 && share.computeFraction <= 1)) throw new RangeError(`computeFraction must be in (0,1], got ${share.computeFraction}`);
  if (!(share.memoryBandwidthFraction > 0 && share.memoryBandwidthFraction <= 1)) {
    throw new RangeError(`memoryBandwidthFraction must be in (0,1], got ${share.memoryBandwidthFraction}`);
  }
  return {
    alphaMs: full.alphaMs,
    betaMsPerToken: full.betaMsPerToken / share.computeFraction,
    gammaMsPerKvToken: full.gammaMsPerKvToken / share.memoryBandwidthFraction,
  };
}

/** Cost of one engine step: prefill chunks and decode tokens processed together. */
export interface StepWork {
  /** Prompt tokens prefilled in this step (sum over requests). */
  readonly prefillTokens: number;
  /** KV tokens attended by the prefill work (≈ the prefilled tokens themselves). */
  readonly prefillKvTokens: number;
  /** Requests that each decode one token in this step. */
  readonly decodeRequests: number;
  /** Sum of the context lengths the decoding requests attend to. */
  readonly decodeKvTokens: number;
}

export function stepTimeMs(p: IterationParams, w: StepWork): number {
  if (w.prefillTokens === 0 && w.decodeRequests === 0) return 0;
  const computed = w.prefillTokens + w.decodeRequests;
  const kvRead = w.prefillKvTokens + w.decodeKvTokens;
  return p.alphaMs + p.betaMsPerToken * computed + p.gammaMsPerKvToken * kvRead;
}

/**
 * Inferno Gen 2 closed forms at a mean batch size b (used by tests to tie the engine to the
 * queueing model, and by the optimizer): T(b) = α + b·(β·c + γ·m) with c = (in+out)/(out+1) and
 * m = in + out/2; prefill(b) = T(b) + (β+γ)·in; decode(b) = T(b) + β + γ·(in + out/2).
 */
export function gen2IterationMs(p: IterationParams, batch: number, inTokens: number, outTokens: number): number {
  const c = (inTokens + outTokens) / (outTokens + 1);
  const m = inTokens + outTokens / 2;
  return p.alphaMs + batch * (p.betaMsPerToken * c + p.gammaMsPerKvToken * m);
}
