/**
 * Inferno's state-dependent birth–death queue of one batching replica (pkg/queue; notes inferno.md §3.1).
 *
 * State n = requests in the replica (in service + waiting), n = 0…kMax. Arrivals Poisson λ; service rate in
 * state n is μ(n) = servRate[min(n, N) − 1] with N = servRate.length (the max batch size). All rates per ms.
 */

export interface QueueSolution {
  /** Mean number in the system, Σ n·p(n). */
  readonly L: number;
  /** Mean number in service, Σ_{n≤N} n·p(n) + N·(1 − Σ_{n≤N} p(n)). */
  readonly Lserv: number;
  /** Throughput λ·(1 − p(kMax)), per ms. */
  readonly X: number;
  /** Mean response time L/X, ms. */
  readonly T: number;
  /** Mean time in service Lserv/X, ms. */
  readonly Sbar: number;
  /** Mean queueing time max(0, T − Sbar), ms. */
  readonly W: number;
  /** Utilisation clamp(Lserv/N, 0, 1). */
  readonly rho: number;
  /** Blocking probability p(kMax). */
  readonly pFull: number;
  /** Stationary distribution p(0…kMax). */
  readonly p: readonly number[];
}

/** Unnormalised probabilities above this are rescaled (Inferno rescales to avoid float overflow). */
const RESCALE_THRESHOLD = 1e100;

export function solveStateDependentQueue(lambdaPerMs: number, servRatePerMs: readonly number[], kMax: number): QueueSolution {
  const N = servRatePerMs.length;
  if (N < 1) throw new RangeError('solveStateDependentQueue: servRatePerMs is empty');
  if (!Number.isInteger(kMax) || kMax < N) throw new RangeError(`solveStateDependentQueue: kMax ${kMax} must be an integer ≥ ${N}`);
  if (!Number.isFinite(lambdaPerMs) || lambdaPerMs < 0) throw new RangeError(`solveStateDependentQueue: arrival rate ${lambdaPerMs} per ms is not a finite rate ≥ 0`);
  for (let i = 0; i < N; i++) {
    const mu = servRatePerMs[i]!;
    if (!Number.isFinite(mu) || mu <= 0) throw new RangeError(`solveStateDependentQueue: servRatePerMs[${i}] = ${mu} is not a positive rate`);
  }
  const summary = queueSummary(lambdaPerMs, servRatePerMs, kMax);
  const p = Array.from(scratch.subarray(0, kMax + 1), (v) => v / summary.normalizer);
  return { ...summary.solution, p };
}

/** Reused between calls: the optimizer solves the queue millions of times (sizing by bisection). */
let scratch = new Float64Array(1024);

/**
 * The queue's metrics without the distribution, for callers that validated their rates once (the analyzer).
 * Above N every state has the same service rate μ(N), so the tail p(N+k) = p(N)·r^k, r = λ/μ(N), is geometric:
 * when r < 1 its sums have closed forms and the solve costs O(N) instead of O(kMax) (kMax = 11·N in Inferno's
 * sizing, where r ≤ 0.999 by construction). Near r = 1 and above, the state-by-state recurrence is used.
 * The two agree to ~1e-11 relative.
 */
export function solveQueueMetrics(lambdaPerMs: number, servRatePerMs: readonly number[], kMax: number): Omit<QueueSolution, 'p'> {
  const N = servRatePerMs.length;
  const r = lambdaPerMs / servRatePerMs[N - 1]!;
  if (!(lambdaPerMs > 0) || kMax <= N || !(r < GEOMETRIC_TAIL_MAX_RATIO)) return queueSummary(lambdaPerMs, servRatePerMs, kMax).solution;

  if (scratch.length < N + 1) scratch = new Float64Array(Math.max(N + 1, 2 * scratch.length));
  const p = scratch;
  p[0] = 1;
  for (let n = 1; n <= N; n++) {
    let v = (p[n - 1]! * lambdaPerMs) / servRatePerMs[n - 1]!;
    if (v > RESCALE_THRESHOLD) {
      for (let j = 0; j < n; j++) p[j] = p[j]! / v;
      v = 1;
    }
    p[n] = v;
  }
  let headSum = 0;
  let headL = 0;
  for (let n = 0; n <= N; n++) {
    headSum += p[n]!;
    headL += n * p[n]!;
  }
  // Tail k = 1…K (states N+1…kMax): S0 = Σ r^k, S1 = Σ k·r^k.
  const K = kMax - N;
  const rK = r ** K;
  const oneMinusR = 1 - r;
  const S0 = (r * (1 - rK)) / oneMinusR;
  const S1 = (r * (1 - (K + 1) * rK + K * rK * r)) / (oneMinusR * oneMinusR);
  const pN = p[N]!;
  const sum = headSum + pN * S0;
  const L = (headL + pN * (N * S0 + S1)) / sum;
  const probUpToN = headSum / sum;
  const inServ = headL / sum;
  const Lserv = inServ + N * Math.max(0, 1 - probUpToN);
  const pFull = (pN * rK) / sum;
  const X = lambdaPerMs * (1 - pFull);
  const T = L / X;
  const Sbar = Lserv / X;
  const W = Math.max(0, T - Sbar);
  const rho = Math.min(1, Math.max(0, Lserv / N));
  return { L, Lserv, X, T, Sbar, W, rho, pFull };
}

/** Above this λ/μ(N) the closed-form tail loses precision (1 − r cancels): solve state by state. */
const GEOMETRIC_TAIL_MAX_RATIO = 0.9995;

function queueSummary(lambdaPerMs: number, servRatePerMs: readonly number[], kMax: number): { solution: Omit<QueueSolution, 'p'>; normalizer: number } {
  const N = servRatePerMs.length;
  if (scratch.length < kMax + 1) scratch = new Float64Array(Math.max(kMax + 1, 2 * scratch.length));
  const p = scratch;
  // p(n+1) = p(n)·λ/μ(n+1), unnormalised, rescaling everything so far whenever it grows too large.
  // The sum runs along; after a rescale (rare: heavy load, long queues) it is redone over the final values so
  // that the additions happen in the same order as a separate pass would do them.
  p[0] = 1;
  let sum = 1;
  let rescaled = false;
  for (let n = 1; n <= kMax; n++) {
    const mu = servRatePerMs[Math.min(n, N) - 1]!;
    let v = (p[n - 1]! * lambdaPerMs) / mu;
    if (v > RESCALE_THRESHOLD) {
      for (let j = 0; j < n; j++) p[j] = p[j]! / v;
      v = 1;
      rescaled = true;
    }
    p[n] = v;
    sum += v;
  }
  if (rescaled) {
    sum = 0;
    for (let n = 0; n <= kMax; n++) sum += p[n]!;
  }

  let L = 0;
  let inServ = 0;
  let probUpToN = 0;
  for (let n = 0; n <= kMax; n++) {
    const pn = p[n]! / sum;
    L += n * pn;
    if (n <= N) {
      inServ += n * pn;
      probUpToN += pn;
    }
  }
  const Lserv = inServ + N * Math.max(0, 1 - probUpToN);
  const pFull = p[kMax]! / sum;
  const X = lambdaPerMs * (1 - pFull);
  let T: number;
  let Sbar: number;
  if (X > 0) {
    T = L / X;
    Sbar = Lserv / X;
  } else {
    // λ = 0: Go would divide 0/0; report the zero-load limit (one request alone in service, no queueing).
    T = 1 / servRatePerMs[0]!;
    Sbar = T;
  }
  const W = Math.max(0, T - Sbar);
  const rho = Math.min(1, Math.max(0, Lserv / N));
  return { solution: { L, Lserv, X, T, Sbar, W, rho, pFull }, normalizer: sum };
}
