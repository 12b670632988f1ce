/**
 * The optimizer over SSIS's own world (beyond Inferno): model catalog, GPUs of the cluster, services with
 * their measured load and service class. Every GPU model the cluster has becomes a set of accelerator types
 * — the whole GPU, its MIG profiles, optionally MPS shares (partitions.ts) — with the model's iteration
 * parameters scaled to the share and a batch size capped by the KV cache the share's memory holds. Then
 * Inferno's own machinery runs unchanged: allocation per (server, accelerator) with the transition penalty,
 * Unlimited or Greedy; in limited mode capacity is the GPUs of each model, packed by MIG geometry
 * (partition-capacity.ts).
 */
import { canServe } from '../catalog/engine-config';
import { kvCapacityTokens, minimumMemoryGiB, type ModelCatalog, type ModelSpec } from '../catalog/model-catalog';
import { findGpuModel, findProfile } from '../mig/geometry';
import type { GpuState } from '../mig/layout';
import { createAllocation, indexSystem, serverPriority, transitionPenalty, allocationFromData, type Allocation, type SystemIndex } from './allocation';
import type { AcceleratorSpec, AllocationData, InfernoSystem, ModelPerfSpec, SaturationPolicy, ServerSpec, ServiceClassSpec } from './data';
import { partitionLedger } from './partition-capacity';
import { gpuPartitions, mpsClientsOf, partitionAcceleratorName, type PartitionOptions, type PartitionSpec } from './partitions';
import type { Candidate } from './capacity-ledger';
import { solveGreedy, solveUnlimited, type ServerCandidates } from './solver';

const f32 = Math.fround;

/**
 * cents/hour per whole GPU. A100 and H100 are Inferno's sample-data costs (large/accelerator-data.json);
 * H200 and A30 are not in Inferno's data: SSIS's estimates, override them in ssis.yaml.
 */
export const DEFAULT_GPU_COST_CENTS_PER_HOUR: Readonly<Record<string, number>> = {
  'A100-SXM4-40GB': 40,
  'A100-SXM4-80GB': 40,
  'H100-80GB': 75,
  'H200-141GB': 90,
  'A30-24GB': 20,
};

export interface ServiceSlo {
  /** ms; 0 = not considered. */
  readonly ttftMs: number;
  /** ms; 0 = not considered. */
  readonly itlMs: number;
}

export interface ClusterServiceClass {
  readonly name: string;
  /** 1 (highest) … 100. */
  readonly priority: number;
  /** SLO of a model in this class. */
  readonly sloFor: (modelId: string) => ServiceSlo;
}

export interface ClusterAllocationRef {
  readonly gpuModel: string;
  readonly profile: string;
  readonly replicas: number;
}

export interface ClusterService {
  readonly service: string;
  readonly modelId: string;
  readonly serviceClass: string;
  /** Measured load. */
  readonly arrivalRatePerSec: number;
  readonly avgInputTokens: number;
  readonly avgOutputTokens: number;
  /** What the service runs now; null at zero replicas. */
  readonly current: ClusterAllocationRef | null;
  readonly minReplicas: number;
  /** Candidates needing more replicas are dropped. */
  readonly maxReplicas: number;
  /** Partitions the service must not get (e.g. a placement just failed there). */
  readonly excluded?: readonly { readonly gpuModel: string; readonly profile: string }[];
}

export interface ClusterOptimizerInput {
  readonly catalog: ModelCatalog;
  /** GPUs per GPU model name (canonical or alias); unknown models are refused. */
  readonly gpus: ReadonlyMap<string, number>;
  readonly services: readonly ClusterService[];
  readonly classes: readonly ClusterServiceClass[];
  readonly partitions?: PartitionOptions;
  /** cents/hour per whole GPU; default {@link DEFAULT_GPU_COST_CENTS_PER_HOUR}. */
  readonly gpuCostCentsPerHour?: Readonly<Record<string, number>>;
  /** Ignore capacity (Inferno's Unlimited). Default false: limited by `gpus`. */
  readonly unlimited?: boolean;
  readonly saturationPolicy?: SaturationPolicy;
  /** Allocations holding GPUs outside the optimization (services under another policy). */
  readonly reserved?: readonly ClusterAllocationRef[];
}

export interface ClusterTarget {
  readonly service: string;
  readonly gpuModel: string;
  readonly profile: string;
  readonly kind: PartitionSpec['kind'];
  readonly replicas: number;
  /** Replicas the SLOs need; more than `replicas` when capacity only allowed a best effort. */
  readonly requiredReplicas: number;
  readonly maxBatchSize: number;
  /** Predicted at `requiredReplicas` (Inferno's ttftAverage/itlAverage). */
  readonly predictedTtftMs: number;
  readonly predictedItlMs: number;
  readonly costCentsPerHour: number;
  /** The SLOs are predicted met (false for a best-effort allocation short of replicas). */
  readonly sloMet: boolean;
}

/** cents/hour of an allocation in the solved system's cost model; undefined when its partition is not offered. */
export function allocationCost(solution: Pick<ClusterSolution, 'system'>, ref: ClusterAllocationRef): number | undefined {
  const name = partitionAcceleratorName(findGpuModel(ref.gpuModel)?.name ?? ref.gpuModel, ref.profile);
  const acc = solution.system.accelerators.find((a) => a.name === name);
  return acc === undefined ? undefined : f32(acc.cost * ref.replicas);
}

export interface ClusterSolution {
  readonly targets: ReadonlyMap<string, ClusterTarget>;
  /** Services without an allocation (no partition meets the SLOs, or no capacity left), sorted. */
  readonly unallocated: readonly string[];
  readonly totalCostCentsPerHour: number;
  /** The Inferno system that was solved (for `ssis optimize`-style output and debugging). */
  readonly system: InfernoSystem;
  /** GPUs left per model after the allocation (limited mode). */
  readonly gpusLeft: ReadonlyMap<string, number>;
}

/** The part of the optimizer's input that `ssis-config`'s `optimizer` block sets. */
export function optimizerSettings(o: { readonly mig: boolean; readonly mpsClients: readonly number[]; readonly gpuCostCentsPerHour: Readonly<Record<string, number>>; readonly saturationPolicy: SaturationPolicy }): Pick<ClusterOptimizerInput, 'partitions' | 'gpuCostCentsPerHour' | 'saturationPolicy'> {
  return { partitions: { mig: o.mig, mpsClients: o.mpsClients }, gpuCostCentsPerHour: o.gpuCostCentsPerHour, saturationPolicy: o.saturationPolicy };
}

/** GPUs per canonical GPU model, the optimizer's inventory, from the cluster's GPU states. */
export function gpuInventory(gpus: readonly Pick<GpuState, 'model'>[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const g of gpus) {
    const model = findGpuModel(g.model)?.name ?? g.model;
    out.set(model, (out.get(model) ?? 0) + 1);
  }
  return out;
}

/**
 * The load as the optimizer reads it: tokens as whole numbers (Inferno's data carries integers) and the
 * rate to three significant digits (req/min). Finer differences are measurement noise; rounding them
 * away lets a long-lived optimizer reuse its allocations from one sample to the next.
 */
export function quantizedLoad(s: Pick<ClusterService, 'arrivalRatePerSec' | 'avgInputTokens' | 'avgOutputTokens'>): { arrivalRate: number; avgInTokens: number; avgOutTokens: number } {
  const perMin = s.arrivalRatePerSec * 60;
  return { arrivalRate: perMin > 0 ? Number(perMin.toPrecision(3)) : 0, avgInTokens: Math.round(s.avgInputTokens), avgOutTokens: Math.round(s.avgOutputTokens) };
}

const ZERO_POWER = { idle: 0, full: 0, midPower: 0, midUtil: 0 };

/** Largest batch whose requests' KV caches (input + output tokens each) fit the partition's memory. */
export function kvBatchCap(spec: ModelSpec, memoryGiB: number, inTokens: number, outTokens: number): number {
  const perRequest = Math.max(1, Math.ceil(inTokens + outTokens));
  return Math.min(spec.maxBatchSize, Math.floor(kvCapacityTokens(spec, memoryGiB) / perRequest));
}

function servable(spec: ModelSpec, p: PartitionSpec): boolean {
  if (spec.perf[p.gpuModel] === undefined) return false;
  return p.kind === 'mig' || p.kind === 'gpu' ? canServe(spec, p.gpuModel, p.profile) : p.memoryGiB >= minimumMemoryGiB(spec);
}

/** Builds the Inferno system of the cluster plus the partition behind each accelerator name. */
export function buildClusterSystem(input: ClusterOptimizerInput): { system: InfernoSystem; partitions: ReadonlyMap<string, PartitionSpec> } {
  const costs = { ...DEFAULT_GPU_COST_CENTS_PER_HOUR, ...input.gpuCostCentsPerHour };
  const partitions = new Map<string, PartitionSpec>();
  const accelerators: AcceleratorSpec[] = [];
  for (const gpuModelName of input.gpus.keys()) {
    const gpuModel = findGpuModel(gpuModelName)?.name;
    if (gpuModel === undefined) throw new RangeError(`unknown GPU model ${gpuModelName}`);
    const gpuCost = costs[gpuModel] ?? costs[gpuModelName];
    if (gpuCost === undefined) throw new RangeError(`no cost for GPU model ${gpuModel}: set it in gpuCostCentsPerHour`);
    for (const p of gpuPartitions(gpuModel, input.partitions)) {
      if (partitions.has(p.accelerator)) continue;
      partitions.set(p.accelerator, p);
      accelerators.push({ name: p.accelerator, type: gpuModel, multiplicity: 1, memSize: p.memoryGiB, memBW: 0, power: ZERO_POWER, cost: f32(gpuCost * p.costShare) });
    }
  }

  // One perf entry per (model, partition that holds it). Inferno sizes the batch as
  // maxBatchSize·atTokens/avgOut; with atTokens = avgOut that is the KV-capped batch itself.
  const models: ModelPerfSpec[] = [];
  const loadByModel = new Map<string, { inTokens: number; outTokens: number }>();
  for (const s of input.services) {
    const cur = loadByModel.get(s.modelId);
    const q = quantizedLoad(s);
    loadByModel.set(s.modelId, { inTokens: Math.max(cur?.inTokens ?? 0, q.avgInTokens), outTokens: Math.max(cur?.outTokens ?? 0, q.avgOutTokens) });
  }
  for (const [modelId, load] of loadByModel) {
    const spec = input.catalog.get(modelId);
    if (spec === undefined) continue;
    for (const p of partitions.values()) {
      const full = spec.perf[p.gpuModel];
      if (full === undefined || !servable(spec, p)) continue;
      const batch = kvBatchCap(spec, p.memoryGiB, load.inTokens, load.outTokens);
      if (batch < 1) continue;
      models.push({
        name: modelId,
        acc: p.accelerator,
        accCount: 1,
        maxBatchSize: batch,
        atTokens: load.outTokens > 0 ? load.outTokens : 1,
        perfParms: { alpha: full.alphaMs, beta: full.betaMsPerToken / p.computeFraction, gamma: full.gammaMsPerKvToken / p.bandwidthFraction },
      });
    }
  }

  const classNames = new Set(input.services.map((s) => s.serviceClass));
  const serviceClasses: ServiceClassSpec[] = input.classes
    .filter((c) => classNames.has(c.name))
    .map((c) => ({
      name: c.name,
      priority: c.priority,
      modelTargets: [...new Set(input.services.filter((s) => s.serviceClass === c.name).map((s) => s.modelId))].map((model) => {
        const slo = c.sloFor(model);
        return { model, sloTtft: slo.ttftMs, sloItl: slo.itlMs, sloTps: 0 };
      }),
    }));

  const servers: ServerSpec[] = input.services.map((s) => {
    const load = quantizedLoad(s);
    const currentName = s.current ? partitionAcceleratorName(findGpuModel(s.current.gpuModel)?.name ?? s.current.gpuModel, s.current.profile) : '';
    const currentAcc = accelerators.find((a) => a.name === currentName);
    const currentAlloc: AllocationData = {
      accelerator: currentAcc ? currentName : '',
      numReplicas: currentAcc ? (s.current?.replicas ?? 0) : 0,
      maxBatch: 0,
      cost: currentAcc ? f32(currentAcc.cost * (s.current?.replicas ?? 0)) : 0,
      itlAverage: 0,
      ttftAverage: 0,
      load,
    };
    return { name: s.service, class: s.serviceClass, model: s.modelId, keepAccelerator: false, minNumReplicas: s.minReplicas, maxBatchSize: 0, currentAlloc, desiredAlloc: currentAlloc };
  });

  const capacity = [...input.gpus].map(([type, count]) => ({ type: findGpuModel(type)?.name ?? type, count }));
  const system: InfernoSystem = {
    accelerators,
    capacity,
    models,
    serviceClasses,
    servers,
    optimizer: { unlimited: input.unlimited ?? false, heterogeneous: false, milpSolver: false, useCplex: false, delayedBestEffort: false, saturationPolicy: input.saturationPolicy ?? 'None' },
  };
  return { system, partitions };
}

/**
 * Allocations already computed, by everything `createAllocation` reads: model, partition (its cost and perf
 * entry), quantized load, SLOs, replica floor. Bounded (oldest dropped first).
 */
export class AllocationCache {
  private readonly entries = new Map<string, Allocation | null>();
  hits = 0;
  misses = 0;
  constructor(private readonly maxEntries = 4096) {}
  get(key: string, compute: () => Allocation | null): Allocation | null {
    if (this.entries.has(key)) {
      this.hits++;
      return this.entries.get(key)!;
    }
    this.misses++;
    const value = compute();
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, value);
    return value;
  }
}

/**
 * When the SLOs need more than `maxReplicas` of every partition, the service still gets the most it may have:
 * the partition that serves the highest rate at `maxReplicas` (rate per replica at the SLOs × replicas), capped
 * there. Dropping the service instead would leave it on its current, smaller allocation while its queue grows.
 * Cost and value are scaled like Inferno's best effort; `required` keeps the uncapped count (sloMet = false).
 */
function mostCapacityAt(candidates: readonly Candidate[], maxReplicas: number): Candidate[] {
  let best: Candidate | undefined;
  for (const c of candidates) {
    const served = c.alloc.maxArrvRatePerReplica * maxReplicas;
    const bestServed = best === undefined ? -1 : best.alloc.maxArrvRatePerReplica * maxReplicas;
    if (served > bestServed || (served === bestServed && best !== undefined && c.alloc.cost / c.alloc.numReplicas < best.alloc.cost / best.alloc.numReplicas)) best = c;
  }
  if (best === undefined || maxReplicas < 1) return [];
  const factor = f32(maxReplicas / best.alloc.numReplicas);
  return [{ ...best, alloc: { ...best.alloc, numReplicas: maxReplicas, cost: f32(best.alloc.cost * factor), value: f32(best.alloc.value * factor) } }];
}

/** The partition an instance held outside the optimization occupies (see optimizeCluster). */
function heldPartition(gpuModelName: string, profileName: string): PartitionSpec {
  const gpuModel = findGpuModel(gpuModelName)?.name;
  const whole: PartitionSpec = { accelerator: gpuModel ?? gpuModelName, gpuModel: gpuModel ?? gpuModelName, kind: 'gpu', profile: 'gpu', computeFraction: 1, bandwidthFraction: 1, memoryGiB: 0, costShare: 1 };
  if (gpuModel === undefined) return whole;
  const mps = mpsClientsOf(profileName);
  if (mps !== undefined) return gpuPartitions(gpuModel, { mig: false, mpsClients: [mps] })[1] ?? whole;
  const all = gpuPartitions(gpuModel, { mig: true });
  const exact = all.find((p) => p.profile === profileName);
  if (exact !== undefined) return exact;
  // An alias or a `+me` variant: the plain MIG profile of the same shape.
  const shape = findProfile(gpuModel, profileName)?.shape;
  const sameShape = shape && all.find((p) => {
    const other = p.kind === 'mig' ? findProfile(gpuModel, p.profile)?.shape : undefined;
    return other?.memorySlots === shape.memorySlots && other.computeSlices === shape.computeSlices;
  });
  return sameShape || whole;
}

/** Inferno's `Server.Calculate` for every server, through the cache. */
function candidatesOf(index: SystemIndex, cache: AllocationCache | undefined): ServerCandidates[] {
  return index.system.servers.map((server) => {
    const current = allocationFromData(server.currentAlloc);
    const target = index.serviceClasses.get(server.class)?.modelTargets.filter((t) => t.model === server.model).at(-1);
    const load = server.currentAlloc.load;
    const candidates: Candidate[] = [];
    for (const acc of index.accelerators.values()) {
      const perf = index.perf.get(server.model)?.get(acc.name);
      const key = perf === undefined || target === undefined ? undefined
        : [server.model, acc.name, acc.cost, perf.maxBatchSize, perf.atTokens, load.arrivalRate, load.avgInTokens, load.avgOutTokens, target.sloTtft, target.sloItl, target.sloTps, server.minNumReplicas].join('|');
      const alloc = key === undefined || cache === undefined ? createAllocation(index, server, acc.name) : cache.get(key, () => createAllocation(index, server, acc.name));
      if (alloc !== null) candidates.push({ alloc: { ...alloc, value: transitionPenalty(current, alloc) }, accType: acc.type, unitsPerReplica: acc.multiplicity });
    }
    return { server, priority: serverPriority(index, server), candidates };
  });
}

/**
 * Solves the cluster: a target partition, replicas and batch size per service at least cost under its SLOs.
 * A long-lived caller (the evaluate function, the simulator) passes one {@link AllocationCache} to reuse
 * allocations between solves; the answer is the same with or without it.
 */
export function optimizeCluster(input: ClusterOptimizerInput, cache?: AllocationCache): ClusterSolution {
  const { system, partitions } = buildClusterSystem(input);
  const index = indexSystem(system);
  const byService = new Map(input.services.map((s) => [s.service, s]));
  const required = new Map<string, number>();
  const entries: ServerCandidates[] = candidatesOf(index, cache).map((e) => {
    const s = byService.get(e.server.name)!;
    const excluded = new Set((s.excluded ?? []).map((x) => partitionAcceleratorName(findGpuModel(x.gpuModel)?.name ?? x.gpuModel, x.profile)));
    const allowed = e.candidates.filter((c) => !excluded.has(c.alloc.accelerator));
    for (const c of allowed) required.set(`${e.server.name}\u0000${c.alloc.accelerator}`, c.alloc.numReplicas);
    const within = allowed.filter((c) => c.alloc.numReplicas <= s.maxReplicas);
    return { ...e, candidates: within.length > 0 ? within : mostCapacityAt(allowed, s.maxReplicas) };
  });

  let allocations: Map<string, Allocation>;
  let gpusLeft: ReadonlyMap<string, number>;
  if (system.optimizer.unlimited) {
    allocations = solveUnlimited(entries);
    gpusLeft = new Map();
  } else {
    // Held instances count whatever the optimizer offers: a MIG slice while MIG is not offered, an alias or
    // `+me` name (same shape as the plain profile), and as a last resort a whole GPU — never as free room.
    const held = new Map<string, PartitionSpec>();
    const reserved = (input.reserved ?? []).map((r) => {
      const spec = heldPartition(r.gpuModel, r.profile);
      held.set(spec.accelerator, spec);
      return [spec.accelerator, r.replicas] as const;
    });
    const ledger = partitionLedger(new Map(system.capacity.map((c) => [c.type, c.count])), (name) => partitions.get(name) ?? held.get(name), reserved);
    const solved = solveGreedy(entries, ledger, { delayedBestEffort: system.optimizer.delayedBestEffort, saturationPolicy: system.optimizer.saturationPolicy });
    allocations = solved.allocations;
    gpusLeft = solved.available;
  }

  const targets = new Map<string, ClusterTarget>();
  const unallocated: string[] = [];
  let totalCostCentsPerHour = 0;
  for (const s of input.services) {
    const a = allocations.get(s.service);
    const p = a ? partitions.get(a.accelerator) : undefined;
    if (a === undefined || p === undefined || a.numReplicas === 0) {
      unallocated.push(s.service);
      continue;
    }
    const requiredReplicas = required.get(`${s.service}\u0000${a.accelerator}`) ?? a.numReplicas;
    totalCostCentsPerHour += a.cost;
    targets.set(s.service, {
      service: s.service,
      gpuModel: p.gpuModel,
      profile: p.profile,
      kind: p.kind,
      replicas: a.numReplicas,
      requiredReplicas,
      maxBatchSize: a.batchSize,
      predictedTtftMs: a.ttft,
      predictedItlMs: a.itl,
      costCentsPerHour: a.cost,
      sloMet: a.numReplicas >= requiredReplicas,
    });
  }
  unallocated.sort();
  return { targets, unallocated, totalCostCentsPerHour, system, gpusLeft };
}
