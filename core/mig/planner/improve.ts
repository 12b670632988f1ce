/**
 * Ruin and recreate (large-neighbourhood search) on a packing, for small and medium clusters where
 * the time budget allows it. The greedy packing places one replica at a time and never revisits a
 * choice; the ILP optimum often differs from it only on a few GPUs. Each step takes the replicas
 * off a few GPUs (and adds the unplaced ones), puts them back in a perturbed order with the same
 * greedy choices (repack.ts), and keeps the result when it is no worse by the objective
 * (unmet by priority level, GPUs, moves, fragmentation). Equal results are kept too, so the search
 * walks plateaus instead of stalling. During the first RELAX_SHARE of the steps a result that
 * costs up to MOVE_SLACK more moves is kept too when it fills the GPUs in use more unevenly (on the
 * way to emptying one); the best by the objective is kept aside and the rest of the walk starts
 * from it, so the answer is never worse than the best seen. Seeded: the same input always gives the same plan.
 */
import type { Bin, Packer, PackItem } from './repack.js';
import { mulberry32 as prng } from '../../common/prng.js';
import { compareKeys } from './search.js';

/** Share of the ruin steps that start from a GPU a moved replica left or went to. */
const MOVED_FOCUS = 0.3;


/** Objective of a packing with these replicas unplaced: unmet per priority level (highest first), then Packer.score. */
export function packingKey(packer: Packer, unplaced: readonly PackItem[], levels: readonly number[]): number[] {
  const unmet = levels.map((level) => unplaced.filter((i) => i.service.priority === level).length);
  return [...unmet, ...packer.score()];
}

export interface ImproveOptions {
  /** Ruin-and-recreate steps. */
  readonly iterations: number;
  readonly seed: number;
}

const share = (item: PackItem, bin: Bin | undefined): number => {
  if (item.origin !== null) return item.origin.instance.profile.size / item.origin.bin.gpu.geometry.memorySlots;
  const geometry = bin?.gpu.geometry;
  const smallest = geometry === undefined ? undefined : item.service.acceptable(geometry)[0];
  return smallest === undefined || geometry === undefined ? 0.5 : smallest.size / geometry.memorySlots;
};

/** Improves the packing in place; returns the replicas left unplaced. */
export function improve(packer: Packer, unplacedIn: readonly PackItem[], levels: readonly number[], options: ImproveOptions): PackItem[] {
  const rnd = prng(options.seed);
  let unplaced = [...unplacedIn];
  unplaced = search(packer, unplaced, levels, rnd, options.iterations, packingKey);
  // Replicas sent home leave positions behind that a replica refused earlier may take.
  return packer.placeLeftovers(returnHome(packer, unplaced, levels));
}

/**
 * Objective 3: every moved running replica tries to go back to its origin, evicting whatever now
 * overlaps that position there (placed again anywhere else); kept when the objective improves.
 * Repeated while something comes back.
 */
export function returnHome(packer: Packer, unplacedIn: readonly PackItem[], levels: readonly number[]): PackItem[] {
  let unplaced = [...unplacedIn];
  let current = packingKey(packer, unplaced, levels);
  const none = new Set<Bin>();
  for (let round = 0; round < 3; round++) {
    let improved = false;
    for (const bin of packer.bins) {
      for (const slot of [...bin.slots]) {
        const origin = slot.item.origin;
        if (origin === null || (origin.bin === bin && slot.position.start === origin.instance.start && slot.profile === origin.instance.profile)) continue;
        if (!bin.slots.includes(slot)) continue;
        const home = origin.bin;
        packer.checkpoint();
        packer.take(bin, slot);
        const evicted = home.slots.filter((s) => (s.position.mask & origin.instance.mask) !== 0 || (s.profile.spec.wholeGpu && s !== slot));
        for (const e of evicted) packer.take(home, e);
        let ok = packer.placeOnUsed(slot.item, none);
        const left = [...unplaced];
        for (const e of evicted) {
          if (!ok) break;
          if (packer.placeOnUsed(e.item, new Set([home])) || packer.placeOnUsed(e.item, none)) continue;
          if (e.item.origin !== null) ok = false;
          else left.push(e.item);
        }
        if (ok) {
          const key = packingKey(packer, left, levels);
          if (compareKeys(key, current) < 0) {
            packer.commit();
            current = key;
            unplaced = left;
            improved = true;
            continue;
          }
        }
        packer.rollback();
      }
    }
    if (!improved) break;
  }
  return unplaced;
}

function search(packer: Packer, unplacedIn: readonly PackItem[], levels: readonly number[], rnd: () => number, iterations: number, keyOf: typeof packingKey): PackItem[] {
  let unplaced = [...unplacedIn];
  let current = keyOf(packer, unplaced, levels);
  let currentFill = packer.fill();
  let best = { key: current, state: packer.snapshot(), unplaced };
  const none = new Set<Bin>();
  const candidates = packer.bins.filter((b) => b.origins.length + b.slots.length > 0 || b.pinnedCount === 0);
  const sizeOf = new Map<PackItem, number>();
  const sizeFor = (item: PackItem): number => {
    let s = sizeOf.get(item);
    if (s === undefined) {
      s = share(item, packer.bins.find((b) => item.service.acceptable(b.gpu.geometry).length > 0 && (item.service.models === undefined || item.service.models.has(b.gpu.geometry.model.name))));
      sizeOf.set(item, s);
    }
    return s;
  };
  const relaxUntil = Math.floor(iterations * RELAX_SHARE);
  for (let it = 0; it < iterations; it++) {
    if (it === relaxUntil && compareKeys(best.key, current) < 0) {
      // The rest of the walk starts from the best found and takes only steps no worse.
      packer.restore(best.state);
      current = best.key;
      currentFill = packer.fill();
      unplaced = best.unplaced;
    }
    const used = candidates.filter((b) => b.slots.length > 0);
    if (used.length === 0) break;
    packer.checkpoint();
    const pool: PackItem[] = [];
    const ruined: Bin[] = [];
    // Now and then a GPU that a moved replica left or went to: where moves can be taken back.
    const movedBins = rnd() < MOVED_FOCUS ? used.filter((b) => b.stays < b.origins.length || b.slots.some((sl) => sl.item.origin !== null && sl.item.origin.bin !== b)) : [];
    const from = movedBins.length > 0 ? movedBins : used;
    const first = from[Math.floor(rnd() * from.length)];
    if (first === undefined) break;
    const k = 1 + Math.floor(rnd() * 3);
    ruined.push(first);
    const sameModel = used.filter((b) => b !== first && b.table === first.table);
    const others = sameModel.length > 0 && rnd() < 0.7 ? sameModel : used.filter((b) => b !== first);
    for (let j = 1; j < k && others.length > 0; j++) {
      const b = others.splice(Math.floor(rnd() * others.length), 1)[0];
      if (b !== undefined) ruined.push(b);
    }
    const partial = rnd() < 0.3;
    for (const bin of ruined) {
      for (const slot of [...bin.slots]) {
        if (partial && rnd() < 0.5) continue;
        packer.take(bin, slot);
        pool.push(slot.item);
      }
    }
    pool.push(...unplaced);
    const noise = new Map(pool.map((item) => [item, rnd()]));
    const smallFirst = rnd() < 0.2;
    pool.sort((a, b) => b.service.priority - a.service.priority || (smallFirst ? -1 : 1) * (sizeFor(b) - sizeFor(a)) || (noise.get(a) ?? 0) - (noise.get(b) ?? 0));
    // Emptying mode: the ruined GPUs take back only what fits nowhere else (objective 2).
    const away = rnd() < 0.4 ? new Set(ruined) : none;
    const left: PackItem[] = [];
    let ok = true;
    // New replicas of a service are interchangeable: once one finds nothing, the rest cannot either.
    const failed = new Set<PackItem['service']>();
    for (const item of pool) {
      if (item.origin === null && failed.has(item.service)) {
        left.push(item);
        continue;
      }
      if (away !== none && packer.placeOnUsed(item, away)) continue;
      if (packer.placeOnUsed(item, none)) continue;
      // An emptied GPU of this step before any other unused one: running replicas may stay home.
      const home = item.origin !== null && ruined.includes(item.origin.bin) ? packer.fresh(item, item.origin.bin) : undefined;
      const choice = home ?? ruined.map((b) => packer.fresh(item, b)).find((c) => c !== undefined) ?? packer.fresh(item);
      if (choice !== undefined) {
        packer.settle(item, choice);
        continue;
      }
      if (item.origin !== null) {
        ok = false;
        break;
      }
      failed.add(item.service);
      left.push(item);
    }
    if (ok) {
      const key = keyOf(packer, left, levels);
      const fill = packer.fill();
      if (compareKeys(key, current) <= 0 || (it < relaxUntil && relaxed(key, current, best.key, fill, currentFill))) {
        packer.commit();
        current = key;
        currentFill = fill;
        unplaced = left;
        if (compareKeys(key, best.key) < 0) best = { key, state: packer.snapshot(), unplaced: left };
        continue;
      }
    }
    packer.rollback();
  }
  // The walk may end on a relaxed step: the answer is always the best by the true objective.
  if (compareKeys(best.key, current) < 0) {
    packer.restore(best.state);
    return best.unplaced;
  }
  return unplaced;
}

/**
 * A step that costs a few more moves but concentrates the GPUs in use (the way to emptying one is
 * usually through such steps): same unmet, no more GPUs, moves at most MOVE_SLACK above the best
 * found, and a strictly fuller packing.
 */
const MOVE_SLACK = 3;
/** Share of the steps (the first ones) that may take relaxed steps; the rest start from the best found. */
const RELAX_SHARE = 0.6;
function relaxed(key: readonly number[], current: readonly number[], best: readonly number[], fill: number, currentFill: number): boolean {
  const n = key.length - 4;
  for (let i = 0; i < n; i++) if (key[i] !== current[i]) return false;
  const gpus = key[n] ?? 0;
  const moves = key[n + 1] ?? 0;
  return gpus <= (current[n] ?? 0) && moves <= (best[n + 1] ?? 0) + MOVE_SLACK && fill > currentFill + 1e-9;
}
