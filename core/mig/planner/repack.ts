/**
 * The "pack" half of the planner: which GPU (and which profile) holds every replica the demand
 * wants, where every GPU may be re-laid out freely around its pinned instances (immovable
 * services, replicas no demand claims). Works on profile multisets (gpu-capacity-table.ts answers "does it
 * fit?" from a memo) and keeps a tentative position per instance, so what a change costs in moved
 * replicas is known when it is chosen. schedule.ts turns the result into moves and placements.
 *
 * Items are the running replicas of movable services (a move keeps the profile and so the model)
 * and the new replicas (any acceptable profile on any acceptable model). An item lands, in order
 * of preference:
 *  1. direct: a free position on a GPU in use, nothing moves (its own origin first, for a running one);
 *  2. rearranged: a GPU in use whose multiset plus the item fits once re-laid out (fewest moves);
 *  3. an unused GPU (new replicas only, and not while draining);
 *  4. drained: a GPU in use emptied onto the others (new replicas only).
 * Every choice is made tightest-first (best fit), which is what keeps the GPU count low; draining
 * whole GPUs afterwards (consolidate) lowers it further.
 */
import { addCount, arrange, capacityTable, removeCount, type ArrangeItem, type Arrangement, type CapacityTable, type Origin } from './gpu-capacity-table.js';
import type { Problem, Service } from './problem.js';
import { compareKeys } from './search.js';
import type { ProfileGeometry, ProfilePosition } from './tables.js';
import { isMovable, type PlanBuilder, type WorkGpu, type WorkInstance } from './plan-builder.js';

export interface PackItem {
  readonly service: Service;
  readonly replica: string;
  /** A running replica: where it runs at plan start. null: a new replica. */
  readonly origin: { readonly bin: Bin; readonly instance: WorkInstance } | null;
  /** Order of the item among the new replicas (placement order), or -1 for a running one. */
  readonly rank: number;
}

export interface Slot {
  readonly item: PackItem;
  readonly profile: ProfileGeometry;
  readonly index: number;
  readonly position: ProfilePosition;
}

export interface Bin {
  readonly gpu: WorkGpu;
  readonly table: CapacityTable;
  readonly pinnedMask: number;
  readonly pinnedMe: boolean;
  readonly pinnedCount: number;
  /** Slots owned at plan start (after releases): running items placed there need ordering. */
  readonly heldMask: number;
  /** Movable running replicas at plan start: an item of that service and profile there stays. */
  readonly origins: readonly Origin[];
  slots: readonly Slot[];
  mask: number;
  counts: number;
  /** Origins covered by the current slots. */
  stays: number;
}

export type Saved = Pick<Bin, 'slots' | 'mask' | 'counts' | 'stays'>;

export interface PackOptions {
  readonly allowMoves: boolean;
  /** Running items that do not stay must avoid slots held at plan start (no ordering edges). */
  readonly strict: boolean;
  /** Rearranged candidates evaluated exactly per item (the rest are ranked by tightness only). */
  readonly rearrangeTrials: number;
  /** Drain attempts per item that fits nowhere else. */
  readonly drainTrials: number;
  /** Drain attempts of one consolidation round. */
  readonly consolidateTrials: number;
  /** Make room by moving the cheapest set of up to three replicas off a GPU (small clusters), not one. */
  readonly evictSubsets: boolean;
}

export interface Choice {
  readonly bin: Bin;
  readonly index: number;
  /** A direct position (index into profile.positions), or undefined: re-lay the bin out. */
  readonly positionIndex: number | undefined;
}

const NO_BINS: ReadonlySet<Bin> = new Set();
const inUse = (bin: Bin): boolean => bin.pinnedCount + bin.slots.length > 0;
const hasMe = (bin: Bin): boolean => bin.pinnedMe || bin.slots.some((s) => s.profile.spec.mediaExtensions);

function popcount(mask: number): number {
  let n = 0;
  for (let m = mask; m !== 0; m &= m - 1) n++;
  return n;
}

export class Packer {
  readonly bins: Bin[];
  readonly items: PackItem[] = [];
  /** Per model table: GPUs in use by occupied mask (the direct-fit index). */
  private readonly byMask = new Map<CapacityTable, Map<number, Set<Bin>>>();
  private readonly tablesInOrder: CapacityTable[] = [];
  /** Per model table: GPUs in use by free slot count (rearrangement candidates, tightest first). */
  private readonly byFree = new Map<CapacityTable, Set<Bin>[]>();
  /** Per model table: unused GPUs. */
  private readonly unused = new Map<CapacityTable, Set<Bin>>();
  private undo: Map<Bin, Saved> | null = null;
  /** While set, nothing but these GPUs changes (see confineTo). */
  private confined: ReadonlySet<Bin> | undefined;
  /** arrange() results by GPU and canonical multiset (null: does not fit); the search revisits states often. */
  private readonly arrangeMemo = new Map<string, Arrangement | null>();

  constructor(readonly builder: PlanBuilder, readonly problem: Problem, readonly options: PackOptions) {
    this.bins = builder.gpus.map((gpu) => {
      const table = capacityTable(gpu.geometry);
      const pinned = gpu.instances.filter((i) => !isMovable(i));
      const movable = gpu.instances.filter(isMovable);
      const pinnedMask = pinned.reduce((m, i) => m | i.mask, 0);
      const bin: Bin = {
        gpu,
        table,
        pinnedMask,
        pinnedMe: pinned.some((i) => i.profile.spec.mediaExtensions),
        pinnedCount: pinned.length,
        heldMask: gpu.mask,
        origins: movable.map((i) => ({ service: i.service?.name ?? '', profile: i.profile, start: i.start, mask: i.mask })),
        slots: [],
        mask: pinnedMask,
        counts: 0,
        stays: 0,
      };
      if (!this.tablesInOrder.includes(table)) this.tablesInOrder.push(table);
      return bin;
    });
    for (const bin of this.bins) {
      for (const instance of bin.gpu.instances.filter(isMovable)) {
        if (instance.service === null) continue;
        const item: PackItem = { service: instance.service, replica: instance.replica, origin: { bin, instance }, rank: -1 };
        this.items.push(item);
        const index = bin.table.indexOf(instance.profile);
        const position = instance.profile.positions.find((p) => p.start === instance.start) ?? { start: instance.start, mask: instance.mask };
        this.put(bin, { item, profile: instance.profile, index, position });
      }
      this.reindex(bin, -1);
    }
  }

  // ---- state changes (all undoable inside a trial) ----

  private save(bin: Bin): void {
    if (this.undo !== null && !this.undo.has(bin)) this.undo.set(bin, { slots: bin.slots, mask: bin.mask, counts: bin.counts, stays: bin.stays });
  }

  private reindex(bin: Bin, oldMask: number): void {
    let free = this.byFree.get(bin.table);
    if (free === undefined) {
      free = Array.from({ length: bin.gpu.geometry.memorySlots + 1 }, () => new Set<Bin>());
      this.byFree.set(bin.table, free);
    }
    let unused = this.unused.get(bin.table);
    if (unused === undefined) {
      unused = new Set();
      this.unused.set(bin.table, unused);
    }
    const slots = bin.gpu.geometry.memorySlots;
    if (oldMask >= 0) free[slots - popcount(oldMask)]?.delete(bin);
    if (inUse(bin)) {
      unused.delete(bin);
      free[slots - popcount(bin.mask)]?.add(bin);
    } else {
      unused.add(bin);
    }
    let index = this.byMask.get(bin.table);
    if (index === undefined) {
      index = new Map();
      this.byMask.set(bin.table, index);
    }
    if (oldMask >= 0) {
      const old = index.get(oldMask);
      old?.delete(bin);
      if (old?.size === 0) index.delete(oldMask);
    }
    if (!inUse(bin)) return;
    let set = index.get(bin.mask);
    if (set === undefined) {
      set = new Set();
      index.set(bin.mask, set);
    }
    set.add(bin);
  }

  private staysOf(bin: Bin, slot: Slot): number {
    return bin.origins.some((o) => o.profile === slot.profile && o.start === slot.position.start && o.service === slot.item.service.name) ? 1 : 0;
  }

  private put(bin: Bin, slot: Slot): void {
    this.save(bin);
    const oldMask = inUse(bin) ? bin.mask : -1;
    bin.slots = [...bin.slots, slot];
    bin.mask |= slot.profile.spec.wholeGpu ? bin.gpu.geometry.fullMask : slot.position.mask;
    bin.counts = addCount(bin.counts, slot.index);
    bin.stays += this.staysOf(bin, slot);
    this.reindex(bin, oldMask);
  }

  take(bin: Bin, slot: Slot): void {
    this.save(bin);
    const oldMask = bin.mask;
    bin.slots = bin.slots.filter((s) => s !== slot);
    bin.mask = bin.slots.reduce((m, s) => m | (s.profile.spec.wholeGpu ? bin.gpu.geometry.fullMask : s.position.mask), bin.pinnedMask);
    bin.counts = removeCount(bin.counts, slot.index);
    bin.stays -= this.staysOf(bin, slot);
    this.reindex(bin, oldMask);
  }

  private relayout(bin: Bin, slots: readonly Omit<Slot, 'position'>[], positions: readonly ProfilePosition[]): void {
    this.save(bin);
    const oldMask = inUse(bin) ? bin.mask : -1;
    bin.slots = [];
    bin.mask = bin.pinnedMask;
    bin.counts = 0;
    bin.stays = 0;
    this.reindex(bin, oldMask);
    slots.forEach((s, k) => this.put(bin, { ...s, position: positions[k] ?? { start: 0, mask: 0 } }));
  }

  private restoreIndex(bin: Bin, saved: Saved): void {
    const oldMask = inUse(bin) ? bin.mask : -1;
    Object.assign(bin, saved);
    this.reindex(bin, oldMask);
  }

  checkpoint(): void {
    this.undo = new Map();
  }

  commit(): void {
    this.undo = null;
  }

  rollback(): void {
    const undo = this.undo;
    this.undo = null;
    if (undo === null) return;
    for (const [bin, saved] of undo) this.restoreIndex(bin, saved);
  }

  /** The whole packing's state (outside a trial), for restore(). */
  snapshot(): Map<Bin, Saved> {
    return new Map(this.bins.map((bin) => [bin, { slots: bin.slots, mask: bin.mask, counts: bin.counts, stays: bin.stays }]));
  }

  /** Back to a snapshot (outside a trial). */
  restore(snapshot: ReadonlyMap<Bin, Saved>): void {
    for (const [bin, saved] of snapshot) if (bin.slots !== saved.slots || bin.mask !== saved.mask) this.restoreIndex(bin, saved);
  }

  /** How concentrated the occupied slots are (sum of squared fill per GPU in use): higher means closer to emptying one. */
  fill(): number {
    let f = 0;
    for (const bin of this.bins) {
      if (!inUse(bin)) continue;
      const u = popcount(bin.mask) / bin.gpu.geometry.memorySlots;
      f += u * u;
    }
    return f;
  }

  /**
   * Until called again with undefined, places, drains and evictions touch only these GPUs:
   * pattern-pack.ts re-lays out GPUs free at plan start and must leave the others as they are.
   * A replica there is new or moved already, so shifting it adds no move.
   */
  confineTo(bins: ReadonlySet<Bin> | undefined): void {
    this.confined = bins;
  }

  private off(bin: Bin, excluded: ReadonlySet<Bin>): boolean {
    return excluded.has(bin) || (this.confined !== undefined && !this.confined.has(bin));
  }

  // ---- choosing where an item goes ----

  /** Acceptable profiles for the item on a bin's model ([] = not acceptable). */
  private profilesFor(item: PackItem, bin: Bin): readonly ProfileGeometry[] {
    if (item.origin !== null) return item.origin.bin.table === bin.table ? [item.origin.instance.profile] : [];
    return item.service.acceptable(bin.gpu.geometry);
  }

  private profilesOnTable(item: PackItem, table: CapacityTable): readonly ProfileGeometry[] {
    if (item.origin !== null) return item.origin.bin.table === table ? [item.origin.instance.profile] : [];
    return item.service.acceptable(table.geometry);
  }

  /** The start for a profile on a bin: best by what stays placeable, a free instance of it reused on ties. */
  private directPosition(bin: Bin, index: number): number {
    const best = bin.table.bestStart(index, bin.mask);
    if (best < 0 || bin.gpu.free.length === 0) return best;
    const profile = bin.table.profiles[index];
    const quality = (k: number): number => bin.gpu.geometry.quality[bin.mask | (profile?.positions[k]?.mask ?? 0)] ?? 0;
    const reuse = profile?.positions.findIndex((p, k) => (p.mask & bin.mask) === 0 && quality(k) === quality(best) && bin.gpu.free.some((f) => f.start === p.start && bin.gpu.geometry.profile(f.profile) === profile)) ?? -1;
    return reuse >= 0 ? reuse : best;
  }

  /** 1. A free position on a GPU in use: smallest share, preference rank, tightest, best quality, first GPU. */
  private direct(item: PackItem, excluded: ReadonlySet<Bin>): Choice | undefined {
    const origin = item.origin;
    if (origin !== null && !this.off(origin.bin, excluded)) {
      const position = origin.instance.profile.positions.findIndex((p) => p.start === origin.instance.start);
      // Home may have taken another `+me` meanwhile: a GPU holds at most one.
      const meClash = origin.instance.profile.spec.mediaExtensions && hasMe(origin.bin);
      if ((origin.instance.mask & origin.bin.mask) === 0 && position >= 0 && !meClash) return { bin: origin.bin, index: origin.bin.table.indexOf(origin.instance.profile), positionIndex: position };
    }
    let best: { bin: Bin; index: number; key: number } | undefined;
    for (const table of this.tablesInOrder) {
      const masks = this.byMask.get(table);
      if (masks === undefined) continue;
      this.profilesOnTable(item, table).forEach((profile, rank) => {
        const index = table.indexOf(profile);
        const prefix = ((profile.size * 8) / table.geometry.memorySlots) * 16 + rank;
        const consider = (key: number, set: ReadonlySet<Bin>): void => {
          for (const bin of set) {
            if (this.off(bin, excluded) || !this.modelOk(item, bin) || (profile.spec.mediaExtensions && hasMe(bin))) continue;
            if (best === undefined || key < best.key || (key === best.key && bin.gpu.order < best.bin.gpu.order)) best = { bin, index, key };
          }
        };
        // Few distinct occupied masks (small clusters): look each up rather than walk every mask.
        if (masks.size * 4 < table.fitOrder(index).length) {
          const keys = table.fitKeys(index);
          for (const [mask, set] of masks) {
            const fitKey = keys[mask] ?? -1;
            if (fitKey < 0) continue;
            const key = prefix * 2 ** 27 + fitKey;
            if (best === undefined || key <= best.key) consider(key, set);
          }
          return;
        }
        let found: number | undefined;
        for (const { mask, fitKey } of table.fitOrder(index)) {
          // Equal keys compete on GPU order; a worse key ends the walk once something was found.
          const key = prefix * 2 ** 27 + fitKey;
          if (found !== undefined && key > found) break;
          if (best !== undefined && key > best.key) break;
          const set = masks.get(mask);
          if (set === undefined) continue;
          for (const bin of set) {
            if (this.off(bin, excluded) || !this.modelOk(item, bin) || (profile.spec.mediaExtensions && hasMe(bin))) continue;
            if (best === undefined || key < best.key || (key === best.key && bin.gpu.order < best.bin.gpu.order)) best = { bin, index, key };
            found = key;
          }
        }
      });
    }
    return best === undefined ? undefined : { bin: best.bin, index: best.index, positionIndex: this.directPosition(best.bin, best.index) };
  }

  private modelOk(item: PackItem, bin: Bin): boolean {
    const models = item.service.models;
    return models === undefined || models.has(bin.gpu.geometry.model.name);
  }

  /** The items of a bin plus one more, as `arrange` wants them. */
  private arrangement(bin: Bin, extra: Omit<Slot, 'position'> | undefined): { slots: Omit<Slot, 'position'>[]; positions: readonly ProfilePosition[]; stays: number } | undefined {
    const unsorted: Omit<Slot, 'position'>[] = [...bin.slots.map(({ item, profile, index }) => ({ item, profile, index })), ...(extra === undefined ? [] : [extra])];
    // Canonical order (the layout depends only on the multiset), so equal multisets share one search.
    const keyed = unsorted.map((s) => ({ s, key: `${s.profile.name}|${s.item.service.name}|${s.item.origin !== null ? 1 : 0}` })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const slots = keyed.map((k) => k.s);
    const memoKey = `${bin.gpu.order}:${keyed.map((k) => k.key).join(',')}`;
    let found = this.arrangeMemo.get(memoKey);
    if (found === undefined) {
      const items: ArrangeItem[] = slots.map((s) => ({ profile: s.profile, service: s.item.service.name, running: s.item.origin !== null }));
      found = arrange(bin.gpu.geometry, bin.pinnedMask, bin.pinnedMe, items, bin.origins, bin.heldMask, this.options.strict) ?? null;
      this.arrangeMemo.set(memoKey, found);
    }
    return found === null ? undefined : { slots, positions: found.positions, stays: found.stays };
  }

  /** 2. Re-lay out a GPU in use to take the item: fewest origins lost, then tightest. */
  private rearranged(item: PackItem, excluded: ReadonlySet<Bin>): { bin: Bin; layout: NonNullable<ReturnType<Packer['arrangement']>> } | undefined {
    const candidates: { bin: Bin; index: number; key: number[] }[] = [];
    for (const table of this.tablesInOrder) {
      const byFree = this.byFree.get(table) ?? [];
      this.profilesOnTable(item, table).forEach((profile, rank) => {
        const index = table.indexOf(profile);
        let found = 0;
        // Tightest first; enough candidates from the tightest free counts are enough.
        for (let freeSlots = profile.size; freeSlots < byFree.length && found < this.options.rearrangeTrials; freeSlots++) {
          for (const bin of byFree[freeSlots] ?? []) {
            if (this.off(bin, excluded) || !this.modelOk(item, bin)) continue;
            if (!table.holds(bin.pinnedMask, bin.pinnedMe, addCount(bin.counts, index))) continue;
            found++;
            candidates.push({ bin, index, key: [profile.size / table.geometry.memorySlots, rank, freeSlots - profile.size, bin.gpu.order] });
          }
        }
      });
    }
    candidates.sort((a, b) => compareKeys(a.key, b.key));
    let best: { bin: Bin; layout: NonNullable<ReturnType<Packer['arrangement']>>; key: number[] } | undefined;
    for (const c of candidates.slice(0, this.options.rearrangeTrials)) {
      const profile = c.bin.table.profiles[c.index];
      if (profile === undefined) continue;
      const layout = this.arrangement(c.bin, { item, profile, index: c.index });
      if (layout === undefined) continue;
      const key = [c.bin.stays - layout.stays, ...c.key];
      if (best === undefined || compareKeys(key, best.key) < 0) best = { bin: c.bin, layout, key };
      // Candidates come tightest first: one that keeps every origin cannot be beaten.
      if (best.key[0] === 0) break;
    }
    return best;
  }

  /** 3. An unused GPU: smallest share, preference rank, then the model with most unused GPUs, first GPU. */
  fresh(item: PackItem, only?: Bin): Choice | undefined {
    let best: { choice: Choice; key: number[] } | undefined;
    for (const table of this.tablesInOrder) {
      const unused = this.unused.get(table);
      if (unused === undefined || unused.size === 0) continue;
      // Same model, same choice: the first GPU stands for all.
      let first: Bin | undefined;
      if (only === undefined) {
        for (const bin of unused) if ((first === undefined || bin.gpu.order < first.gpu.order) && (this.confined === undefined || this.confined.has(bin))) first = bin;
      } else if (unused.has(only) && (this.confined === undefined || this.confined.has(only))) {
        first = only;
      }
      for (const bin of first === undefined ? [] : [first]) {
        if (!this.modelOk(item, bin)) continue;
        this.profilesFor(item, bin).forEach((profile, rank) => {
          const index = bin.table.indexOf(profile);
          const k = this.directPosition(bin, index);
          if (k < 0) return;
          const key = [profile.size / bin.gpu.geometry.memorySlots, rank, -unused.size, bin.gpu.order];
          if (best === undefined || compareKeys(key, best.key) < 0) best = { choice: { bin, index, positionIndex: k }, key };
        });
      }
    }
    return best?.choice;
  }

  settle(item: PackItem, choice: Choice): void {
    const profile = choice.bin.table.profiles[choice.index];
    const position = profile?.positions[choice.positionIndex ?? -1];
    if (profile === undefined || position === undefined) return;
    this.put(choice.bin, { item, profile, index: choice.index, position });
  }

  /**
   * Puts the item at exactly this profile and position (an exact solution carried into the packing);
   * false when the GPU's table lacks the profile or the position overlaps what the GPU holds.
   */
  placeAt(item: PackItem, bin: Bin, profile: ProfileGeometry, position: ProfilePosition): boolean {
    const index = bin.table.indexOf(profile);
    const mask = profile.spec.wholeGpu ? bin.gpu.geometry.fullMask : position.mask;
    if (index < 0 || (bin.mask & mask) !== 0) return false;
    this.put(bin, { item, profile, index, position });
    return true;
  }

  /** Puts the item on a GPU in use (direct, else rearranged); false when neither works. */
  placeOnUsed(item: PackItem, excluded: ReadonlySet<Bin>): boolean {
    const choice = this.direct(item, excluded);
    if (choice !== undefined) {
      this.settle(item, choice);
      return true;
    }
    if (!this.options.allowMoves) return false;
    const re = this.rearranged(item, excluded);
    if (re === undefined) return false;
    this.relayout(re.bin, re.layout.slots, re.layout.positions);
    return true;
  }

  /** Empties a bin onto the other GPUs in use; call inside a trial. */
  private empty(bin: Bin): boolean {
    const excluded = new Set([bin]);
    const slots = [...bin.slots].sort((a, b) => b.profile.size - a.profile.size || a.position.start - b.position.start);
    for (const slot of slots) {
      this.take(bin, slot);
      if (!this.placeOnUsed(slot.item, excluded)) return false;
    }
    return true;
  }

  /** Quick necessary test: free slots on the other GPUs in use of the items' models cover the items. */
  private mightEmpty(bin: Bin, freeByTable: ReadonlyMap<CapacityTable, number>): boolean {
    const need = bin.slots.reduce((n, s) => n + s.profile.size, 0);
    let room = 0;
    for (const [table, free] of freeByTable) {
      if (bin.slots.some((s) => this.profilesOnTable(s.item, table).length > 0)) room += free - (table === bin.table ? bin.gpu.geometry.memorySlots - popcount(bin.mask) : 0);
    }
    return room >= need;
  }

  private freeByTable(): Map<CapacityTable, number> {
    const free = new Map<CapacityTable, number>();
    for (const bin of this.bins) if (inUse(bin)) free.set(bin.table, (free.get(bin.table) ?? 0) + bin.gpu.geometry.memorySlots - popcount(bin.mask));
    return free;
  }

  /** GPUs worth emptying, cheapest first: no pinned instance; fewest running items, fewest slots. */
  private drainCandidates(): Bin[] {
    const running = (b: Bin): number => b.slots.filter((s) => s.item.origin !== null).length;
    return this.bins
      .filter((b) => b.pinnedCount === 0 && b.slots.length > 0 && (this.confined === undefined || this.confined.has(b)))
      .sort((a, b) => running(a) - running(b) || popcount(a.mask) - popcount(b.mask) || b.gpu.order - a.gpu.order);
  }

  /** 4. Empty a GPU in use for the item, then put it there. */
  private placeByDraining(item: PackItem): boolean {
    const free = this.freeByTable();
    let tried = 0;
    for (const bin of this.drainCandidates()) {
      if (tried >= this.options.drainTrials) break;
      if (this.profilesFor(item, bin).length === 0 || !this.modelOk(item, bin) || !this.mightEmpty(bin, free)) continue;
      tried++;
      this.checkpoint();
      if (this.empty(bin)) {
        const choice = this.fresh(item, bin);
        if (choice !== undefined) {
          this.settle(item, choice);
          this.commit();
          return true;
        }
      }
      this.rollback();
    }
    return false;
  }

  /** Places a new replica (steps 1–4); false: unmet. */
  placeNew(item: PackItem): boolean {
    this.items.push(item);
    return this.placeAnywhere(item);
  }

  /**
   * Tries the new replicas left unplaced again, highest priority first, in placement order:
   * emptying GPUs (consolidate) or sending moved replicas home (improve.ts) opens positions
   * after a replica was refused, and nothing else would look at it again. Returns those still left.
   */
  placeLeftovers(items: readonly PackItem[]): PackItem[] {
    const left: PackItem[] = [];
    const failed = new Set<Service>();
    const ordered = [...items].sort((a, b) => b.service.priority - a.service.priority || a.rank - b.rank);
    for (const item of ordered) {
      // Placing only fills the cluster: once one replica of a service finds nothing, its siblings cannot either.
      if (failed.has(item.service) || !this.placeAnywhere(item)) {
        failed.add(item.service);
        left.push(item);
      }
    }
    return left;
  }

  /**
   * Puts a new replica on a GPU in use by taking new replicas of lower priority off it: unmet
   * counts by priority first, so any number of them is worth one of it. The GPU needing the fewest
   * taken off wins, then the lowest priorities. Returns those taken off (to place elsewhere or
   * leave unmet), or undefined where no GPU can be made to take it.
   */
  placeDisplacing(item: PackItem): PackItem[] | undefined {
    let best: { bin: Bin; index: number; victims: Slot[]; key: number[] } | undefined;
    for (const bin of this.bins) {
      if (!inUse(bin) || !this.modelOk(item, bin) || this.off(bin, NO_BINS)) continue;
      const lower = bin.slots.filter((s) => s.item.origin === null && s.item.service.priority < item.service.priority);
      if (lower.length === 0) continue;
      lower.sort((a, b) => a.item.service.priority - b.item.service.priority || a.profile.size - b.profile.size || a.position.start - b.position.start);
      this.profilesFor(item, bin).forEach((profile, rank) => {
        const index = bin.table.indexOf(profile);
        let counts = bin.counts;
        const victims: Slot[] = [];
        for (const v of lower) {
          if (bin.table.holds(bin.pinnedMask, bin.pinnedMe, addCount(counts, index))) break;
          counts = removeCount(counts, v.index);
          victims.push(v);
        }
        if (!bin.table.holds(bin.pinnedMask, bin.pinnedMe, addCount(counts, index))) return;
        const key = [victims.length, victims.reduce((n, v) => n - v.item.service.priority, 0), rank, bin.gpu.order];
        if (best === undefined || compareKeys(key, best.key) < 0) best = { bin, index, victims, key };
      });
    }
    const chosen = best;
    const profile = chosen === undefined ? undefined : chosen.bin.table.profiles[chosen.index];
    if (chosen === undefined || profile === undefined) return undefined;
    this.checkpoint();
    for (const v of chosen.victims) this.take(chosen.bin, v);
    const layout = this.arrangement(chosen.bin, { item, profile, index: chosen.index });
    if (layout === undefined) {
      this.rollback();
      return undefined;
    }
    this.relayout(chosen.bin, layout.slots, layout.positions);
    this.commit();
    return chosen.victims.map((v) => v.item);
  }

  private placeAnywhere(item: PackItem): boolean {
    const none = new Set<Bin>();
    if (this.placeOnUsed(item, none)) return true;
    const choice = this.fresh(item);
    if (choice !== undefined) {
      this.settle(item, choice);
      return true;
    }
    if (!this.options.allowMoves) return false;
    return (this.options.evictSubsets ? this.placeByEvicting(item) : this.placeByEjecting(item)) || this.placeByDraining(item);
  }

  /**
   * Makes room on a GPU in use by moving up to three of its replicas elsewhere, choosing the set
   * that disrupts fewest running replicas (new ones and already moved ones are free to go), then the
   * fewest replicas: often far cheaper than emptying a whole GPU. Every GPU in use is considered.
   */
  private placeByEvicting(item: PackItem): boolean {
    const candidates: { bin: Bin; index: number; evict: Slot[]; key: number[] }[] = [];
    for (const bin of this.bins) {
      if (!inUse(bin) || !this.modelOk(item, bin) || bin.slots.length === 0 || this.off(bin, NO_BINS)) continue;
      const profiles = this.profilesFor(item, bin);
      if (profiles.length === 0) continue;
      const slots = bin.slots;
      const n = slots.length;
      const costOf = (slot: Slot): number => (slot.item.origin !== null && slot.item.origin.bin === bin && slot.item.origin.instance.start === slot.position.start ? 1 : 0);
      let bestHere: { index: number; evict: Slot[]; key: number[] } | undefined;
      for (let subset = 1; subset < 1 << n; subset++) {
        if (popcount(subset) > 3) continue;
        let counts = bin.counts;
        let cost = 0;
        let size = 0;
        const evict: Slot[] = [];
        for (let k = 0; k < n; k++) {
          const slot = slots[k];
          if (slot === undefined || ((subset >> k) & 1) === 0) continue;
          counts = removeCount(counts, slot.index);
          cost += costOf(slot);
          size += slot.profile.size;
          evict.push(slot);
        }
        profiles.forEach((profile, rank) => {
          const index = bin.table.indexOf(profile);
          if (!bin.table.holds(bin.pinnedMask, bin.pinnedMe, addCount(counts, index))) return;
          const key = [cost, evict.length, rank, size];
          if (bestHere === undefined || compareKeys(key, bestHere.key) < 0) bestHere = { index, evict, key };
        });
      }
      if (bestHere !== undefined) candidates.push({ bin, ...bestHere, key: [...bestHere.key, bin.gpu.order] });
    }
    candidates.sort((a, b) => compareKeys(a.key, b.key));
    for (const c of candidates.slice(0, this.options.drainTrials)) {
      const profile = c.bin.table.profiles[c.index];
      if (profile === undefined) continue;
      this.checkpoint();
      for (const e of c.evict) this.take(c.bin, e);
      const layout = this.arrangement(c.bin, { item, profile, index: c.index });
      let ok = layout !== undefined;
      if (layout !== undefined) this.relayout(c.bin, layout.slots, layout.positions);
      const away = new Set([c.bin]);
      for (const e of c.evict) {
        if (!ok) break;
        ok = this.placeOnUsed(e.item, away) || this.settleFresh(e.item);
      }
      if (ok) {
        this.commit();
        return true;
      }
      this.rollback();
    }
    return false;
  }

  /**
   * Makes room on a full GPU in use by moving one of its items elsewhere (new items first: moving
   * them disrupts nobody), then puts the item there. Tried on the tightest GPUs first.
   */
  private placeByEjecting(item: PackItem): boolean {
    let tried = 0;
    for (const bin of this.bins) {
      if (tried >= this.options.drainTrials) return false;
      if (!inUse(bin) || !this.modelOk(item, bin) || this.off(bin, NO_BINS)) continue;
      const profiles = this.profilesFor(item, bin);
      if (profiles.length === 0) continue;
      const victims = [...bin.slots].sort((a, b) => Number(a.item.origin !== null) - Number(b.item.origin !== null) || a.profile.size - b.profile.size);
      for (const victim of victims) {
        const rest = removeCount(bin.counts, victim.index);
        const index = profiles.map((p) => bin.table.indexOf(p)).find((i) => bin.table.holds(bin.pinnedMask, bin.pinnedMe, addCount(rest, i)));
        if (index === undefined) continue;
        tried++;
        this.checkpoint();
        this.take(bin, victim);
        const excluded = new Set([bin]);
        if (this.placeOnUsed(item, new Set(this.bins.filter((b) => b !== bin))) && (this.placeOnUsed(victim.item, excluded) || this.settleFresh(victim.item))) {
          this.commit();
          return true;
        }
        this.rollback();
        break;
      }
    }
    return false;
  }

  private settleFresh(item: PackItem): boolean {
    if (item.origin !== null && item.origin.bin.table.geometry === undefined) return false;
    const choice = this.fresh(item);
    if (choice === undefined) return false;
    this.settle(item, choice);
    return true;
  }

  /** Objective 3: re-lays out every GPU that lost an origin where a better arrangement keeps more. */
  keepMoreInPlace(): void {
    for (const bin of this.bins) {
      if (bin.slots.length === 0 || bin.stays === bin.origins.length) continue;
      const layout = this.arrangement(bin, undefined);
      if (layout !== undefined && layout.stays > bin.stays) this.relayout(bin, layout.slots, layout.positions);
    }
  }

  /** The packing's objective after `unmet` (objective 1): GPUs in use, moved replicas, stranded slots, large positions. */
  score(): number[] {
    let gpus = 0;
    let running = 0;
    let stays = 0;
    let stranded = 0;
    let large = 0;
    for (const bin of this.bins) {
      running += bin.origins.length;
      stays += bin.stays;
      if (!inUse(bin)) continue;
      gpus++;
      stranded += bin.gpu.geometry.strandedSlots[bin.mask] ?? 0;
      large += bin.gpu.geometry.largePositions[bin.mask] ?? 0;
    }
    return [gpus, running - stays, stranded, -large];
  }

  /** Objective 2: empty every GPU whose items all fit on the other GPUs in use, cheapest first. */
  consolidate(): void {
    let free = this.freeByTable();
    let trials = 0;
    for (const bin of this.drainCandidates()) {
      if (bin.slots.length === 0 || !this.mightEmpty(bin, free)) continue;
      if (++trials > this.options.consolidateTrials) break;
      this.checkpoint();
      if (this.empty(bin)) {
        this.commit();
        free = this.freeByTable();
      } else {
        this.rollback();
      }
    }
  }
}
