/**
 * What one GPU can hold, asked fast and often by the repacking planner (repack.ts):
 *  - `holds`: can a multiset of profiles be placed around the pinned instances? The answer depends
 *    only on (pinned slots, `+me` pinned, profile counts), so it is memoized per model; counts are
 *    packed 3 bits per profile into one integer (at most 7 of a profile fit on a GPU, §1.7).
 *  - `bestStart`: the best free start for a profile on an occupied mask (what stays placeable,
 *    tables.ts quality, then the §1.8 start preference), memoized per (profile, mask).
 *  - `arrange`: exact positions for a GPU's multiset that keep the most running replicas where they
 *    are — the "match" half of pack-then-match, a depth-first search over ≤ 7 instances.
 */
import { modelGeometry, type ModelGeometry, type ProfileGeometry, type ProfilePosition } from './tables.js';

const COUNT_BITS = 3;
const COUNT_MASK = (1 << COUNT_BITS) - 1;

export interface CapacityTable {
  readonly geometry: ModelGeometry;
  /** Every profile of the model (MIG rows, then the whole GPU), in a fixed order: the count index. */
  readonly profiles: readonly ProfileGeometry[];
  indexOf(profile: ProfileGeometry): number;
  /** Can `counts` (packed) be placed on free slots `~pinnedMask`, with a `+me` already pinned or not? */
  holds(pinnedMask: number, pinnedMe: boolean, counts: number): boolean;
  /** Best start index into profile.positions for the profile on `occupied`, or -1 when none is free. */
  bestStart(profileIndex: number, occupied: number): number;
  /**
   * Occupied masks where the profile has a free start, best fit first: tightest (least compute
   * addable afterwards), then most left placeable. `fitKey` is that order as one number.
   */
  fitOrder(profileIndex: number): readonly { readonly mask: number; readonly fitKey: number }[];
  /** fitOrder's `fitKey` by occupied mask, -1 where the profile has no free start. */
  fitKeys(profileIndex: number): Float64Array;
}

/** Adds one instance of profile `index` to packed counts. */
export const addCount = (counts: number, index: number): number => counts + (1 << (index * COUNT_BITS));
export const removeCount = (counts: number, index: number): number => counts - (1 << (index * COUNT_BITS));
export const countOf = (counts: number, index: number): number => Math.floor(counts / (1 << (index * COUNT_BITS))) & COUNT_MASK;

const tables = new Map<string, CapacityTable>();

export function capacityTable(geometry: ModelGeometry): CapacityTable {
  const cached = tables.get(geometry.model.name);
  if (cached !== undefined) return cached;
  const profiles: ProfileGeometry[] = [];
  for (const spec of geometry.model.profiles) {
    const p = geometry.profile(spec.name);
    if (p !== undefined && !profiles.includes(p)) profiles.push(p);
  }
  const whole = geometry.profile('gpu');
  if (whole !== undefined && !profiles.includes(whole)) profiles.push(whole);
  const index = new Map(profiles.map((p, i) => [p, i]));
  const full = geometry.fullMask;
  // Whole-GPU "instances" cover every slot: nothing else can share the GPU (MIG is off).
  const masksOf = profiles.map((p) => (p.spec.wholeGpu ? [full] : p.positions.map((q) => q.mask)));
  // Largest first: the search fails fast and the memo stays small.
  const bySize = profiles.map((_, i) => i).sort((a, b) => (profiles[b]?.size ?? 0) - (profiles[a]?.size ?? 0));
  const holdsMemo = new Map<number, boolean>();
  const placeMemo = new Map<number, boolean>();

  const place = (free: number, counts: number, meUsed: boolean): boolean => {
    if (counts === 0) return true;
    const key = (counts * 512 + free * 2) + (meUsed ? 1 : 0);
    const known = placeMemo.get(key);
    if (known !== undefined) return known;
    let ok = false;
    const i = bySize.find((k) => countOf(counts, k) > 0) ?? -1;
    const profile = profiles[i];
    if (profile !== undefined && !(profile.spec.mediaExtensions && meUsed)) {
      const rest = removeCount(counts, i);
      for (const mask of masksOf[i] ?? []) {
        if ((mask & ~free) !== 0) continue;
        if (place(free & ~mask, rest, meUsed || profile.spec.mediaExtensions)) {
          ok = true;
          break;
        }
      }
    }
    placeMemo.set(key, ok);
    return ok;
  };

  const bestMemo = new Map<number, number>();
  const fitOrders = new Map<number, { mask: number; fitKey: number }[]>();
  const fitKeyArrays = new Map<number, Float64Array>();
  const table: CapacityTable = {
    fitKeys(profileIndex) {
      const known = fitKeyArrays.get(profileIndex);
      if (known !== undefined) return known;
      const keys = new Float64Array(full + 1).fill(-1);
      for (const { mask, fitKey } of table.fitOrder(profileIndex)) keys[mask] = fitKey;
      fitKeyArrays.set(profileIndex, keys);
      return keys;
    },
    fitOrder(profileIndex) {
      const known = fitOrders.get(profileIndex);
      if (known !== undefined) return known;
      const list: { mask: number; fitKey: number }[] = [];
      for (let mask = 0; mask <= full; mask++) {
        const k = table.bestStart(profileIndex, mask);
        if (k < 0) continue;
        const after = mask | (profiles[profileIndex]?.positions[k]?.mask ?? 0);
        // quality < 2^23 (tables.ts), addable ≤ 7.
        list.push({ mask, fitKey: (geometry.addableCompute[after] ?? 0) * 2 ** 23 + (2 ** 23 - 1 - (geometry.quality[after] ?? 0)) });
      }
      list.sort((a, b) => a.fitKey - b.fitKey || a.mask - b.mask);
      fitOrders.set(profileIndex, list);
      return list;
    },
    geometry,
    profiles,
    indexOf: (p) => index.get(p) ?? -1,
    holds(pinnedMask, pinnedMe, counts) {
      const key = counts * 512 + pinnedMask * 2 + (pinnedMe ? 1 : 0);
      const known = holdsMemo.get(key);
      if (known !== undefined) return known;
      const ok = place(full & ~pinnedMask, counts, pinnedMe);
      holdsMemo.set(key, ok);
      return ok;
    },
    bestStart(profileIndex, occupied) {
      const key = profileIndex * 256 + occupied;
      const known = bestMemo.get(key);
      if (known !== undefined) return known;
      const profile = profiles[profileIndex];
      let best = -1;
      let bestQuality = -Infinity;
      profile?.positions.forEach((position, k) => {
        const mask = profile.spec.wholeGpu ? full : position.mask;
        if ((mask & occupied) !== 0) return;
        const quality = geometry.quality[occupied | mask] ?? 0;
        // Ties: high starts for small profiles (positions are in ascending start order).
        if (quality > bestQuality || (quality === bestQuality && profile.preferHighStart)) {
          best = k;
          bestQuality = quality;
        }
      });
      bestMemo.set(key, best);
      return best;
    },
  };
  tables.set(geometry.model.name, table);
  return table;
}

export function capacityTableOf(model: string): CapacityTable {
  return capacityTable(modelGeometry(model));
}

/** One instance to position by `arrange`. */
export interface ArrangeItem {
  readonly profile: ProfileGeometry;
  /** Service name: an item at the origin of a running replica of its service and profile keeps it there. */
  readonly service: string;
  /** Running replicas must be created before their old instance goes; new ones come after all moves. */
  readonly running: boolean;
}

/** A running replica's position at plan start, on the GPU being arranged. */
export interface Origin {
  readonly service: string;
  readonly profile: ProfileGeometry;
  readonly start: number;
  readonly mask: number;
}

export interface Arrangement {
  /** Position per item, in the items' order. */
  readonly positions: readonly ProfilePosition[];
  /** Origins kept (a replica of that service and profile ends exactly there). */
  readonly stays: number;
  /** Running items placed on slots some instance held at plan start (make-before-break ordering edges). */
  readonly overlaps: number;
  readonly quality: number;
}

/** Search budget: arrangements tried per call (a GPU holds at most 7 instances, so it is rarely hit). */
const MAX_ARRANGE_NODES = 20_000;

/**
 * Positions for `items` around `pinnedMask` keeping the most `origins` (lexicographic: stays, then
 * fewest running items on slots held at plan start (`heldMask`), then quality of the result).
 * `strict`: running items that do not stay must avoid `heldMask` entirely (no ordering edges).
 * Undefined when the items do not fit.
 */
export function arrange(geometry: ModelGeometry, pinnedMask: number, pinnedMe: boolean, items: readonly ArrangeItem[], origins: readonly Origin[], heldMask: number, strict: boolean): Arrangement | undefined {
  // Per item: a bit per start where an origin of its service and profile lies.
  const originBits = items.map((item) => origins.reduce((bits, o) => (o.profile === item.profile && o.service === item.service ? bits | (1 << o.start) : bits), 0));
  // Items that can stay nowhere here differ only by profile and kind: their service is irrelevant to the search.
  const classOf = items.map((item, i) => ((originBits[i] ?? 0) === 0 ? '' : item.service));
  const order = items.map((_, i) => i).sort((a, b) => {
    const x = items[a];
    const y = items[b];
    if (x === undefined || y === undefined) return 0;
    const cx = classOf[a] ?? '';
    const cy = classOf[b] ?? '';
    return y.profile.size - x.profile.size || x.profile.name.localeCompare(y.profile.name) || (cx < cy ? -1 : cx > cy ? 1 : 0) || Number(y.running) - Number(x.running);
  });
  // Interchangeable neighbours (same profile, class and kind) take increasing starts: no symmetric repeats.
  const sameAsPrevious = order.map((idx, k) => {
    const prevIdx = order[k - 1] ?? -1;
    const prev = items[prevIdx];
    const cur = items[idx];
    return k > 0 && prev !== undefined && cur !== undefined && prev.profile === cur.profile && classOf[prevIdx] === classOf[idx] && prev.running === cur.running;
  });
  const stayBound = new Array<number>(order.length + 1).fill(0);
  for (let k = order.length - 1; k >= 0; k--) stayBound[k] = (stayBound[k + 1] ?? 0) + ((originBits[order[k] ?? -1] ?? 0) !== 0 ? 1 : 0);
  const full = geometry.fullMask;
  // Per item, its positions in trial order: origins first, then the §1.8 preference (found early, they prune the rest).
  const tries = items.map((item, idx) => {
    const bits = originBits[idx] ?? 0;
    const list = item.profile.positions.map((position) => ({ position, mask: item.profile.spec.wholeGpu ? full : position.mask, stay: ((bits >> position.start) & 1) === 1 }));
    if (item.profile.preferHighStart) list.reverse();
    return list.sort((x, y) => Number(y.stay) - Number(x.stay));
  });

  const chosen = new Array<ProfilePosition | undefined>(items.length);
  const chosenStart = new Array<number>(order.length).fill(-1);
  let best: { positions: ProfilePosition[]; stays: number; overlaps: number; quality: number } | undefined;
  let nodes = 0;
  const visited = new Map<number, { stays: number; overlaps: number }>();
  const search = (k: number, used: number, stays: number, overlaps: number, meUsed: boolean): void => {
    if (++nodes > MAX_ARRANGE_NODES) return;
    const bound = stays + (stayBound[k] ?? 0);
    if (best !== undefined && (bound < best.stays || (bound === best.stays && overlaps > best.overlaps))) return;
    const idx = order[k];
    if (idx === undefined) {
      const quality = geometry.quality[used & full] ?? 0;
      if (best === undefined || stays > best.stays || (stays === best.stays && (overlaps < best.overlaps || (overlaps === best.overlaps && quality > best.quality)))) {
        best = { positions: chosen.map((p) => p ?? { start: 0, mask: 0 }), stays, overlaps, quality };
      }
      return;
    }
    const item = items[idx];
    if (item === undefined || (item.profile.spec.mediaExtensions && meUsed)) return;
    const minStart = sameAsPrevious[k] === true ? (chosenStart[k - 1] ?? -1) : -1;
    // The rest of the search depends only on (k, used, minStart, meUsed): a state reached before
    // with at least as many stays and no more overlaps cannot lead anywhere better.
    const state = ((k * 256 + (used & 255)) * 16 + (minStart + 1)) * 2 + (meUsed ? 1 : 0);
    const seen = visited.get(state);
    if (seen !== undefined && seen.stays >= stays && seen.overlaps <= overlaps) return;
    visited.set(state, { stays, overlaps });
    for (const { position, mask, stay } of tries[idx] ?? []) {
      if (position.start <= minStart || (mask & used) !== 0) continue;
      const overlap = item.running && !stay && (mask & heldMask) !== 0;
      if (overlap && strict) continue;
      chosen[idx] = position;
      chosenStart[k] = position.start;
      search(k + 1, used | mask, stays + (stay ? 1 : 0), overlaps + (overlap ? 1 : 0), meUsed || item.profile.spec.mediaExtensions);
      chosen[idx] = undefined;
      chosenStart[k] = -1;
    }
  };
  search(0, pinnedMask, 0, 0, pinnedMe);
  return best;
}
