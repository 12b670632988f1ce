/**
 * Inferno's `CreateAllocation` (notes/inferno.md §4; optimizer-light pkg/core/allocation.go and server.go): the
 * allocation of one accelerator to one server — replicas, batch size, cost, predicted ITL/TTFT — and the
 * transition-penalty value that ranks candidates.
 *
 * Cost and value follow Go's float32 arithmetic (Math.fround at each step) so that ties between candidates
 * (e.g. MI300X×2 vs 2xMI300X×1, both 130) and the greedy ordering compare exactly as in Inferno; the queue
 * model runs in float64 (~1e-5 relative to Inferno's float32 ITL/TTFT).
 */
import { SsisError } from '../errors';
import { createAnalyzer, type AnalyzerConfig, type LlmAnalyzer } from './analyzer';
import {
  numInstances,
  type AcceleratorSpec,
  type AllocationData,
  type InfernoSystem,
  type ModelPerfSpec,
  type ModelTarget,
  type ServerSpec,
  type ServiceClassSpec,
} from './data';

const f32 = Math.fround;

/** `AccelPenaltyFactor`: share of (old + new) cost charged when the accelerator changes. */
export const ACCEL_PENALTY_FACTOR = f32(0.1);
/** `MaxQueueToBatchRatio` of optimizer <= v0.6 and optimizer-light <= v0.7.4 (the published Gen 2 solutions). */
export const MAX_QUEUE_TO_BATCH_RATIO = 10;

export interface Allocation {
  /** Accelerator name; "" for the zero-load allocation without replicas. */
  readonly accelerator: string;
  readonly numReplicas: number;
  /** N, max batch size per replica. */
  readonly batchSize: number;
  /** cents/hour = cost_g · accCount · numReplicas (float32). */
  readonly cost: number;
  /** Ranking value: the transition penalty from the current allocation (§4 step 10). */
  readonly value: number;
  /** ms. */
  readonly itl: number;
  /** ms. */
  readonly ttft: number;
  readonly rho: number;
  /** req/ms; rateStar / 1000. */
  readonly maxArrvRatePerReplica: number;
}

/** How the queue bound per replica is set: 10·N (the published Gen 2 data) or `server.maxQueueSize` (>= v0.7.5). */
export type MaxQueuePolicy = { readonly kind: 'ratio'; readonly ratio: number } | { readonly kind: 'server' };

export interface AllocationOptions {
  /** Performance-model generation of the data; default 2 (all published solutions). */
  readonly generation?: 2 | 3;
  /** Default {kind: 'ratio', ratio: 10}. */
  readonly maxQueue?: MaxQueuePolicy;
  /** Gen 3 token budget; analyzer default 8192 (`DefaultMaxNumTokens`). */
  readonly maxNumTokens?: number;
  /** Analyzer factory (tests); default {@link createAnalyzer}. */
  readonly analyzerFactory?: (config: AnalyzerConfig) => LlmAnalyzer;
}

/** Name-indexed view of an {@link InfernoSystem}; later duplicates win, as with Inferno's maps. */
export interface SystemIndex {
  readonly system: InfernoSystem;
  readonly accelerators: ReadonlyMap<string, AcceleratorSpec>;
  /** model → accelerator → perf. */
  readonly perf: ReadonlyMap<string, ReadonlyMap<string, ModelPerfSpec>>;
  readonly serviceClasses: ReadonlyMap<string, ServiceClassSpec>;
  /** Cards available per accelerator type. */
  readonly capacity: ReadonlyMap<string, number>;
}

export function indexSystem(system: InfernoSystem): SystemIndex {
  const accelerators = new Map(system.accelerators.map((a) => [a.name, a] as const));
  const perf = new Map<string, Map<string, ModelPerfSpec>>();
  for (const m of system.models) {
    let byAcc = perf.get(m.name);
    if (byAcc === undefined) perf.set(m.name, (byAcc = new Map<string, ModelPerfSpec>()));
    byAcc.set(m.acc, m);
  }
  const serviceClasses = new Map(system.serviceClasses.map((c) => [c.name, c] as const));
  const capacity = new Map(system.capacity.map((c) => [c.type, c.count] as const));
  return { system, accelerators, perf, serviceClasses, capacity };
}

function modelTarget(index: SystemIndex, server: ServerSpec): ModelTarget | undefined {
  const svc = index.serviceClasses.get(server.class);
  // Go's ServiceClass keeps targets in a map by model: the last one wins.
  return svc?.modelTargets.filter((t) => t.model === server.model).at(-1);
}

/** Server priority: its class's priority, 100 if the class is unknown. */
export function serverPriority(index: SystemIndex, server: ServerSpec): number {
  return index.serviceClasses.get(server.class)?.priority ?? 100;
}

/** Batch size N (§4 step 3): server override, else max(floor(maxBatchSize·atTokens/K), 1) in integer arithmetic. */
export function batchSizeFor(server: ServerSpec, perf: ModelPerfSpec, avgOutTokens: number): number {
  if (server.maxBatchSize > 0) return server.maxBatchSize;
  return Math.max(Math.trunc((perf.maxBatchSize * perf.atTokens) / avgOutTokens), 1);
}

/**
 * Whether `err` is the queue analyzer refusing to be built for this accelerator, which Inferno's
 * CreateAllocation answers with nil (no candidate on it): perf data it rejects (SSIS_INVALID_CONFIG,
 * e.g. α = 0 with β > 0) or the RangeError thrown when no Gen 3 chunk count fits the batch.
 * Anything else is a bug and propagates.
 */
function isAnalyzerRefusal(err: unknown): boolean {
  return err instanceof RangeError || (err instanceof SsisError && err.code === 'SSIS_INVALID_CONFIG');
}

/** Zero-load allocation (arrivalRate = 0 or avgOutTokens = 0), Gen 2/3 form. */
function zeroLoadAllocation(server: ServerSpec, acc: AcceleratorSpec, perf: ModelPerfSpec): Allocation {
  const numReplicas = server.minNumReplicas;
  if (numReplicas === 0) {
    return { accelerator: '', numReplicas: 0, batchSize: 0, cost: 0, value: 0, itl: 0, ttft: 0, rho: 0, maxArrvRatePerReplica: 0 };
  }
  const batch = server.maxBatchSize > 0 ? server.maxBatchSize : perf.maxBatchSize;
  const cost = f32(f32(acc.cost) * (numInstances(perf) * numReplicas));
  const { alpha, beta, gamma } = perf.perfParms;
  const decodeTime = f32(alpha + beta);
  const maxDecodeTime = f32(alpha + f32(beta * batch));
  const prefillTime = f32(decodeTime + f32(gamma * batch));
  const maxServTime = f32(prefillTime + maxDecodeTime);
  const maxArrvRatePerReplica = maxServTime > 0 ? f32(batch / maxServTime) : 0;
  return { accelerator: acc.name, numReplicas, batchSize: batch, cost, value: cost, itl: decodeTime, ttft: prefillTime, rho: 0, maxArrvRatePerReplica };
}

/**
 * CreateAllocation (§4 steps 1–9) of accelerator `acceleratorName` to `server`; null when infeasible: unknown
 * accelerator / model perf / class / target, negative load, all-zero perf params (tuner not converged), an
 * analyzer that cannot be built, or SLOs below the attainable region. `value` = cost (no transition penalty;
 * see {@link calculateCandidates}).
 */
export function createAllocation(index: SystemIndex, server: ServerSpec, acceleratorName: string, options: AllocationOptions = {}): Allocation | null {
  const acc = index.accelerators.get(acceleratorName);
  if (acc === undefined) return null;
  const load = server.currentAlloc.load;
  if (load.arrivalRate < 0 || load.avgInTokens < 0 || load.avgOutTokens < 0) return null;
  const perf = index.perf.get(server.model)?.get(acceleratorName);
  if (perf === undefined) return null;
  const target = modelTarget(index, server);
  if (target === undefined) return null;

  if (load.arrivalRate === 0 || load.avgOutTokens === 0) return zeroLoadAllocation(server, acc, perf);

  const { alpha, beta, gamma } = perf.perfParms;
  if (alpha === 0 && beta === 0 && gamma === 0) return null;

  const K = load.avgOutTokens;
  const N = batchSizeFor(server, perf, K);
  const policy = options.maxQueue ?? { kind: 'ratio', ratio: MAX_QUEUE_TO_BATCH_RATIO };
  const maxQueue = policy.kind === 'ratio' ? policy.ratio * N : (server.maxQueueSize ?? 0);

  let analyzer: LlmAnalyzer;
  try {
    analyzer = (options.analyzerFactory ?? createAnalyzer)({
      generation: options.generation ?? 2,
      maxBatchSize: N,
      maxQueueSize: maxQueue,
      params: perf.perfParms,
      avgInputTokens: load.avgInTokens,
      avgOutputTokens: K,
      ...(options.maxNumTokens === undefined ? {} : { maxNumTokens: options.maxNumTokens }),
    });
  } catch (err) {
    if (isAnalyzerRefusal(err)) return null;
    throw err;
  }

  const sized = analyzer.size({ ttftMs: target.sloTtft, itlMs: target.sloItl, tps: target.sloTps });
  if (sized === null) return null;
  const rateStar = sized.ratePerSec;
  if (!(rateStar > 0) || !Number.isFinite(rateStar)) return null;

  const totalRate = target.sloTps === 0 ? load.arrivalRate / 60 : target.sloTps / K;
  const numReplicas = Math.max(Math.ceil(totalRate / rateStar), server.minNumReplicas);
  if (!Number.isFinite(numReplicas) || numReplicas < 1) return null;
  const cost = f32(f32(acc.cost) * (numInstances(perf) * numReplicas));

  let metrics;
  try {
    metrics = analyzer.analyze(totalRate / numReplicas);
  } catch (err) {
    // Gen 2 throws a RangeError for a rate above λmax (Inferno: Analyze's error → nil). The rate per
    // replica is at most rateStar ≤ λmax, so only float rounding is expected to get here.
    if (err instanceof RangeError) return null;
    throw err;
  }
  return {
    accelerator: acceleratorName,
    numReplicas,
    batchSize: N,
    cost,
    value: cost,
    itl: metrics.avgITLMs,
    ttft: metrics.avgTTFTMs,
    rho: metrics.utilization,
    maxArrvRatePerReplica: rateStar / 1000,
  };
}

/** The minimal view of an allocation the transition penalty needs. */
export interface AllocationKey { readonly accelerator: string; readonly numReplicas: number; readonly cost: number }

/**
 * Penalty of moving from allocation `a` (current) to `b` (§4 step 10): same accelerator and replicas → 0; same
 * accelerator → cost_b − cost_a; otherwise 0.1·(cost_a + cost_b) + (cost_b − cost_a). float32 like Inferno.
 */
export function transitionPenalty(a: AllocationKey, b: AllocationKey): number {
  if (a.accelerator === b.accelerator) return a.numReplicas === b.numReplicas ? 0 : f32(b.cost - a.cost);
  return f32(f32(ACCEL_PENALTY_FACTOR * f32(a.cost + b.cost)) + f32(b.cost - a.cost));
}

/** The current allocation of a server as Inferno reads it (`AllocationFromData`). */
export function allocationFromData(data: AllocationData): AllocationKey {
  return { accelerator: data.accelerator, numReplicas: data.numReplicas, cost: f32(data.cost) };
}

/** Candidate accelerators of a server (§4 step 11), in accelerator-data order. */
export function candidateAccelerators(index: SystemIndex, server: ServerSpec): AcceleratorSpec[] {
  const cur = server.currentAlloc.accelerator;
  if (server.keepAccelerator && cur !== '') {
    const acc = index.accelerators.get(cur);
    return acc === undefined ? [] : [acc];
  }
  return [...index.accelerators.values()];
}

/**
 * `Server.Calculate`: every feasible allocation of the server's candidate accelerators, valued by the transition
 * penalty from its current allocation; in accelerator-data order (Inferno: Go map order, i.e. random).
 */
export function calculateCandidates(index: SystemIndex, server: ServerSpec, options: AllocationOptions = {}): Allocation[] {
  const current = allocationFromData(server.currentAlloc);
  const out: Allocation[] = [];
  for (const acc of candidateAccelerators(index, server)) {
    const alloc = createAllocation(index, server, acc.name, options);
    if (alloc !== null) out.push({ ...alloc, value: transitionPenalty(current, alloc) });
  }
  return out;
}
