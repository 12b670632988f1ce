/**
 * Limited-mode capacity for partitioned GPUs, counted in GPUs and memory slots as the MIG geometry allows
 * (notes/mig.md §1): a multiset of partitions of one GPU model fits iff it can be packed onto the GPUs of
 * that model — whole GPUs one each, MPS shares N to a GPU (a GPU runs one MPS configuration), MIG
 * instances at allowed start slots without overlap.
 *
 * MIG packing is first-fit decreasing on slot masks: profiles by memory slots then compute slices,
 * largest first; each instance goes to the first GPU with a free allowed start, taking the highest such
 * start. Highest-start keeps the low slots together, where every profile may start, and leaves slot 7 —
 * usable only by a 3g at 4, a two-slot 1g at 6 or the whole GPU — to the profiles that can use it.
 * Where first-fit is above the lower bound, a pattern greedy over the feasible layouts (§1.7) gets a second
 * try. Either may use more GPUs than the optimum in general, never fewer (both build real layouts), so an
 * accepted plan is always placeable on an empty cluster; the tests pin one GPU for every feasible layout
 * and two for every pair of them.
 */
import type { CapacityLedger, Candidate } from './capacity-ledger';
import { getGpuModel, type GpuModelSpec, type MigProfileSpec } from '../mig/geometry';
import { slotMask } from '../mig/layout';
import type { PartitionSpec } from './partitions';

/** Partitions of one GPU model in use: profile → instances. */
export type PartitionCounts = ReadonlyMap<string, number>;

interface PackItem { readonly profile: MigProfileSpec; readonly masks: readonly number[] }

const packOrderCache = new Map<string, readonly PackItem[]>();

function packOrder(spec: GpuModelSpec): readonly PackItem[] {
  const cached = packOrderCache.get(spec.name);
  if (cached !== undefined) return cached;
  const items = spec.profiles
    .filter((p) => !p.mediaExtensions)
    .sort((a, b) => b.shape.memorySlots - a.shape.memorySlots || b.shape.computeSlices - a.shape.computeSlices)
    .map((p) => ({ profile: p, masks: [...p.starts].sort((x, y) => y - x).map((s) => slotMask(s, p.shape.memorySlots)) }));
  packOrderCache.set(spec.name, items);
  return items;
}

/** First-fit decreasing on slot masks (see the header). */
function firstFitDecreasing(spec: GpuModelSpec, counts: PartitionCounts): number {
  const gpus: number[] = [];
  for (const item of packOrder(spec)) {
    let left = counts.get(item.profile.name) ?? 0;
    // Once a GPU cannot take this profile it never will again in this pass: scan each GPU once.
    let g = 0;
    while (left > 0) {
      if (g === gpus.length) gpus.push(0);
      const used = gpus[g]!;
      const mask = item.masks.find((m) => (used & m) === 0);
      if (mask === undefined) {
        g++;
        continue;
      }
      gpus[g] = used | mask;
      left--;
    }
  }
  return gpus.length;
}

/** No packing can use fewer GPUs: memory slots, compute slices, and profiles that only start at slot 0. */
function lowerBound(spec: GpuModelSpec, counts: PartitionCounts): number {
  let slots = 0;
  let compute = 0;
  let startZeroOnly = 0;
  for (const p of spec.profiles) {
    const n = counts.get(p.name) ?? 0;
    slots += n * p.shape.memorySlots;
    compute += n * p.shape.computeSlices;
    if (p.starts.length === 1) startZeroOnly += n;
  }
  return Math.max(Math.ceil(slots / spec.memorySlots), Math.ceil(compute / spec.computeSlices), startZeroOnly);
}

const patternCache = new Map<string, readonly (readonly number[])[]>();

/** Feasible single-GPU multisets as count vectors over packOrder (notes/mig.md §1.7), largest first. */
function patternsOf(spec: GpuModelSpec): readonly (readonly number[])[] {
  const cached = patternCache.get(spec.name);
  if (cached !== undefined) return cached;
  const items = packOrder(spec);
  const found = new Map<string, number[]>();
  const vec = items.map(() => 0);
  const visit = (from: number, used: number): void => {
    found.set(vec.join(','), [...vec]);
    for (let i = from; i < items.length; i++) {
      for (const m of items[i]!.masks) {
        if ((used & m) !== 0) continue;
        vec[i]!++;
        visit(i, used | m);
        vec[i]!--;
      }
    }
  };
  visit(0, 0);
  const slotsOf = (v: readonly number[]): number => v.reduce((a, n, i) => a + n * items[i]!.profile.shape.memorySlots, 0);
  const list = [...found.values()].filter((v) => v.some((n) => n > 0)).sort((a, b) => slotsOf(b) - slotsOf(a));
  patternCache.set(spec.name, list);
  return list;
}

/**
 * Pattern greedy: one GPU at a time, the feasible layout covering the most memory slots of what is left;
 * among equals, the one closest to an even spread of what is left over the GPUs still needed. The spread
 * is what first-fit lacks: twelve 1g.5gb and two 1g.10gb fill two A100s only as 6 + 1 on each, because
 * slot 7 takes no 1g.5gb.
 */
function patternGreedy(spec: GpuModelSpec, counts: PartitionCounts): number {
  const items = packOrder(spec);
  const left = items.map((it) => counts.get(it.profile.name) ?? 0);
  const patterns = patternsOf(spec);
  let gpus = 0;
  while (left.some((n) => n > 0)) {
    const need = Math.max(1, lowerBound(spec, new Map(items.map((it, i) => [it.profile.name, left[i]!]))));
    let best: readonly number[] | undefined;
    let bestSlots = -1;
    let bestSpread = Infinity;
    for (const p of patterns) {
      let slots = 0;
      let spread = 0;
      for (let i = 0; i < items.length; i++) {
        const take = Math.min(p[i]!, left[i]!);
        slots += take * items[i]!.profile.shape.memorySlots;
        spread += Math.abs(take - left[i]! / need);
      }
      if (slots > bestSlots || (slots === bestSlots && spread < bestSpread)) {
        best = p;
        bestSlots = slots;
        bestSpread = spread;
      }
    }
    for (let i = 0; i < items.length; i++) left[i] = Math.max(0, left[i]! - best![i]!);
    gpus++;
  }
  return gpus;
}

/** Memo entries the exact search may create before it gives up (keeps a call under a few ms). */
const EXACT_SEARCH_BUDGET = 5_000;

/**
 * Fewest GPUs by search over feasible layouts, with memo: some GPU holds an instance of the largest
 * profile left, so only layouts containing one are branched on, and a layout's take is kept only if no
 * other take contains it. Undefined when the budget runs out (large clusters: the heuristics answer).
 */
function exactMinimum(spec: GpuModelSpec, counts: PartitionCounts, upperBound: number): number | undefined {
  const items = packOrder(spec);
  const patterns = patternsOf(spec);
  const memo = new Map<string, number>();
  let budget = EXACT_SEARCH_BUDGET;
  const toCounts = (v: readonly number[]): PartitionCounts => new Map(items.map((it, i) => [it.profile.name, v[i]!]));
  const solve = (v: readonly number[], bound: number): number => {
    const first = v.findIndex((n) => n > 0);
    if (first < 0) return 0;
    const key = v.join(',');
    const known = memo.get(key);
    if (known !== undefined) return known;
    if (--budget < 0) throw new RangeError('budget');
    const takes: number[][] = [];
    for (const p of patterns) {
      if (p[first]! === 0) continue;
      const take = p.map((n, i) => Math.min(n, v[i]!));
      if (takes.some((t) => t.every((n, i) => n >= take[i]!))) continue;
      for (let k = takes.length - 1; k >= 0; k--) if (take.every((n, i) => n >= takes[k]![i]!)) takes.splice(k, 1);
      takes.push(take);
    }
    let best = bound;
    for (const take of takes) {
      const rest = v.map((n, i) => n - take[i]!);
      if (1 + lowerBound(spec, toCounts(rest)) >= best) continue;
      best = Math.min(best, 1 + solve(rest, best - 1));
    }
    // Only exact answers are memoized: a pruned branch may have been cut by the bound.
    if (best < bound) memo.set(key, best);
    return best;
  };
  try {
    return Math.min(upperBound, solve(items.map((it) => counts.get(it.profile.name) ?? 0), upperBound));
  } catch (err) {
    if (err instanceof RangeError && err.message === 'budget') return undefined;
    throw err;
  }
}

/**
 * GPUs the MIG instances need. First-fit decreasing; where that is above the lower bound, the pattern greedy
 * too, and then an exact search over feasible layouts while it stays within its budget. Every answer is a
 * real packing, so it is never below the optimum; with the search it is the optimum on small clusters.
 * Unknown profiles throw.
 */
export function migGpusNeeded(gpuModel: string, counts: PartitionCounts): number {
  const spec = getGpuModel(gpuModel);
  const known = new Set(spec.profiles.filter((p) => !p.mediaExtensions).map((p) => p.name));
  for (const [name, n] of counts) {
    if (!known.has(name)) throw new RangeError(`${name} is not a MIG profile of ${spec.name}`);
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name}: count ${n} is not a whole number >= 0`);
  }
  const bound = lowerBound(spec, counts);
  const ffd = firstFitDecreasing(spec, counts);
  if (ffd <= bound) return ffd;
  const heuristic = Math.min(ffd, patternGreedy(spec, counts));
  if (heuristic <= bound) return heuristic;
  return exactMinimum(spec, counts, heuristic) ?? heuristic;
}

/** GPUs of one model needed by whole GPUs, MPS shares and MIG instances together. */
export function gpusNeeded(gpuModel: string, partitions: ReadonlyMap<string, { readonly spec: PartitionSpec; readonly count: number }>): number {
  let total = 0;
  const mig = new Map<string, number>();
  for (const { spec, count } of partitions.values()) {
    if (count <= 0) continue;
    if (spec.kind === 'gpu') total += count;
    else if (spec.kind === 'mps') total += Math.ceil(count / (spec.mpsClients ?? 1));
    else mig.set(spec.profile, (mig.get(spec.profile) ?? 0) + count);
  }
  return total + (mig.size > 0 ? migGpusNeeded(gpuModel, mig) : 0);
}

/**
 * A ledger over GPUs per model (`inventory`: GPU model → GPUs) for candidates whose accelerator is a
 * partition (`partitionOf`); a candidate whose accelerator is not a partition never fits.
 */
export function partitionLedger(
  inventory: ReadonlyMap<string, number>,
  partitionOf: (accelerator: string) => PartitionSpec | undefined,
  /** Instances already held outside the optimization: accelerator → count. */
  reserved: Iterable<readonly [string, number]> = [],
): CapacityLedger {
  type Uses = Map<string, { spec: PartitionSpec; count: number }>;
  /** GPU model → accelerator → {spec, count}. */
  const used = new Map<string, Uses>();
  const usedOf = (gpuModel: string): Uses => {
    let m = used.get(gpuModel);
    if (m === undefined) used.set(gpuModel, (m = new Map() as Uses));
    return m;
  };
  for (const [accelerator, count] of reserved) {
    const spec = partitionOf(accelerator);
    if (spec === undefined || count <= 0) continue;
    const m = usedOf(spec.gpuModel);
    m.set(accelerator, { spec, count: (m.get(accelerator)?.count ?? 0) + count });
  }
  const fitsWith = (spec: PartitionSpec, extra: number): boolean => {
    const m = usedOf(spec.gpuModel);
    const cur = m.get(spec.accelerator)?.count ?? 0;
    const trial = new Map(m);
    trial.set(spec.accelerator, { spec, count: cur + extra });
    return gpusNeeded(spec.gpuModel, trial) <= (inventory.get(spec.gpuModel) ?? 0);
  };
  return {
    fit(c: Candidate, wanted: number): number {
      const spec = partitionOf(c.alloc.accelerator);
      if (spec === undefined || wanted <= 0) return 0;
      if (fitsWith(spec, wanted)) return wanted;
      // GPUs needed grow with the count: the largest count that fits, by bisection.
      let lo = 0;
      let hi = wanted;
      while (hi - lo > 1) {
        const mid = (lo + hi) >>> 1;
        if (fitsWith(spec, mid)) lo = mid;
        else hi = mid;
      }
      return lo;
    },
    take(c: Candidate, replicas: number): void {
      const spec = partitionOf(c.alloc.accelerator);
      if (spec === undefined) return;
      const m = usedOf(spec.gpuModel);
      m.set(spec.accelerator, { spec, count: (m.get(spec.accelerator)?.count ?? 0) + replicas });
    },
    remaining(): Map<string, number> {
      const out = new Map<string, number>();
      for (const [gpuModel, count] of inventory) out.set(gpuModel, count - gpusNeeded(gpuModel, usedOf(gpuModel)));
      return out;
    },
  };
}
