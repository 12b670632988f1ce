/**
 * Pattern packing (cutting stock over per-GPU layouts) for large clusters, where neither the exact
 * stage nor the ruin-and-recreate search runs. The greedy (repack.ts) opens unused GPUs one
 * replica at a time, largest first, and so leaves avoidable waste: GPUs of 1-slot instances whose
 * slot 7 none of their profiles can use, services on models where they take more slots than they
 * must, and, where models run out, large replicas placed before small ones that would have met
 * more demand.
 *
 * Here the replicas on GPUs that held nothing at plan start (new replicas, and running ones the
 * greedy already moved there) and the replicas left unplaced are laid out again on those GPUs
 * only, so every GPU that held something keeps what the greedy gave it and no move is added:
 *  1. fluid split, in memory slots: each service's replicas go to the models where they take the
 *     smallest share of a GPU, the services that lose most elsewhere first (restricted ones before
 *     all); where models run out, a replica takes room from one of lower priority, or of its own
 *     priority but larger. Replicas given the one best model are committed to it; those with
 *     several equally good models float.
 *  2. per model, GPU by GPU, the maximal layout (layouts.ts) its committed replicas fill best,
 *     floating ones filling the holes while the committed ones left still fit; then the floating
 *     ones on any model the same way. A layout is repeated while the same filling fits the
 *     remaining replicas (Haessler's sequential heuristic for cutting stock). Steps 1–2 run in a
 *     few variants (VARIANTS) on counts alone; the best is laid out at exact positions.
 *  3. partly filled GPUs are drained where their replicas fit elsewhere, what is left tries again,
 *     and a replica left unplaced takes the room of lower priorities.
 * The caller keeps the result only where it beats the greedy by the objective.
 */
import { arrange, type CapacityTable } from './gpu-capacity-table.js';
import { maximalLayouts, type LayoutCounts } from './layouts.js';
import type { Service } from './problem.js';
import type { Bin, Packer, PackItem } from './repack.js';
import type { ProfileGeometry, ProfilePosition } from './tables.js';

interface Group {
  readonly service: Service;
  /** A running replica's profile: it moves but keeps its profile, so its model. */
  readonly fixed: ProfileGeometry | undefined;
  /** In placement order (new replicas by rank). */
  readonly items: PackItem[];
  readonly order: number;
}

interface Pool {
  readonly table: CapacityTable;
  readonly bins: Bin[];
  readonly slots: number;
  readonly profiles: ProfileGeometry[];
  layouts: readonly LayoutCounts[];
}

/** A group on a pool: the profiles it accepts there (indices into pool.profiles) and its smallest size. */
interface Option {
  readonly pool: Pool;
  readonly profiles: ReadonlySet<number>;
  readonly size: number;
  readonly share: number;
}

/** Layouts chosen for GPUs of one model: per GPU the replicas, in the order of `profiles`. */
interface Config {
  readonly pool: Pool;
  /** Instance profiles, indices into pool.profiles. */
  readonly profiles: readonly number[];
  /** Per GPU, per instance: whose replica it takes. */
  readonly copies: readonly (readonly Entry[])[];
}

/** How steps 1–2 are run. */
interface Variant {
  /** Share of a model's memory slots the split may fill. */
  readonly fill: number;
  /** Replicas with several equally good models are committed to the one the split chose, too. */
  readonly commitTied: boolean;
}

/**
 * The split filling models to the last slot, or a little short of it (1-slot instances cannot use
 * slot 7, so a model may not hold all its slots add up to); replicas with equally good models
 * floating, or committed to the one the split chose (it weighed what the others want there).
 */
const VARIANTS: readonly Variant[] = [
  { fill: 1, commitTied: false },
  { fill: 1, commitTied: true },
  { fill: 0.985, commitTied: true },
  { fill: 0.97, commitTied: true },
  { fill: 0.94, commitTied: true },
];

/** Steps 1–2 of the file comment for one variant: the layouts chosen, per model and GPU. */
function layOut(groups: readonly Group[], pools: readonly Pool[], options: ReadonlyMap<Group, readonly Option[]>, variant: Variant): Config[] {
  const split = fluidSplit(groups, pools, options, variant.fill);
  const configs: Config[] = [];
  const freeCount = new Map<Pool, number>(pools.map((p) => [p, p.bins.length]));
  // Committed: replicas the split gave the one model where they take least room. Floating: the
  // rest, placed wherever they fill best, each credited with the share of the model tier the split
  // found room in (not a better model already full).
  const floating: Entry[] = [];
  const committed = new Map<Pool, Entry[]>(pools.map((p) => [p, []]));
  for (const g of groups) {
    const list = options.get(g) ?? [];
    for (const [pool, count] of split.get(g) ?? []) {
      if (count <= 0) continue;
      const share = pool === undefined ? (list[0]?.share ?? 1) : (list.find((x) => x.pool === pool)?.share ?? 1);
      const tied = pool === undefined || (!variant.commitTied && list.filter((o) => Math.abs(o.share - share) < 1e-9).length > 1);
      if (tied) floating.push({ group: g, share, count });
      else committed.get(pool)?.push({ group: g, share, count });
    }
  }
  for (const pool of pools) {
    const mine = committed.get(pool) ?? [];
    sequentialFill([pool], mine, floating, options, configs, freeCount);
    // What the model could not hold goes wherever there is room.
    floating.push(...mine.filter((e) => e.count > 0));
  }
  sequentialFill(pools, undefined, floating, options, configs, freeCount);
  return configs;
}

const isFree = (bin: Bin): boolean => bin.heldMask === 0 && bin.pinnedCount === 0;

/** The profiles a group may take on a model's GPUs ([] where it may not go there). */
function acceptedOn(group: Group, table: CapacityTable): readonly ProfileGeometry[] {
  if (group.fixed !== undefined) return table.profiles.includes(group.fixed) ? [group.fixed] : [];
  const models = group.service.models;
  if (models !== undefined && !models.has(table.geometry.model.name)) return [];
  return group.service.acceptable(table.geometry);
}

/**
 * Lays out again the replicas on GPUs free at plan start, and `unplaced`, on those GPUs (see the
 * file comment). Changes the packer outside any trial; returns the new replicas left unplaced.
 */
export function patternPack(packer: Packer, unplaced: readonly PackItem[]): PackItem[] {
  const freeBins = packer.bins.filter(isFree).sort((a, b) => a.gpu.order - b.gpu.order);
  const items: PackItem[] = [...unplaced];
  for (const bin of freeBins) {
    for (const slot of [...bin.slots]) {
      packer.take(bin, slot);
      items.push(slot.item);
    }
  }
  const groups = groupsOf(items);
  const pools: Pool[] = [];
  for (const bin of freeBins) {
    let pool = pools.find((p) => p.table === bin.table);
    if (pool === undefined) {
      pool = { table: bin.table, bins: [], slots: bin.gpu.geometry.memorySlots, profiles: [], layouts: [] };
      pools.push(pool);
    }
    pool.bins.push(bin);
  }
  for (const pool of pools) {
    const profiles = new Set<ProfileGeometry>();
    for (const g of groups) for (const p of acceptedOn(g, pool.table)) profiles.add(p);
    pool.profiles.push(...pool.table.profiles.filter((p) => profiles.has(p)));
    pool.layouts = maximalLayouts(pool.table.geometry, 0, false, pool.profiles);
  }
  const options = new Map<Group, Option[]>();
  for (const g of groups) {
    const list: Option[] = [];
    for (const pool of pools) {
      const accepted = acceptedOn(g, pool.table);
      if (accepted.length === 0) continue;
      const size = Math.min(...accepted.map((p) => (p.spec.wholeGpu ? pool.slots : p.size)));
      list.push({ pool, profiles: new Set(accepted.map((p) => pool.profiles.indexOf(p))), size, share: size / pool.slots });
    }
    list.sort((a, b) => a.share - b.share || pools.indexOf(a.pool) - pools.indexOf(b.pool));
    options.set(g, list);
  }

  // A few variants of steps 1–2, compared by what they leave unplaced (by priority) and the GPUs
  // they use; only the best is carried out. Cheap: they work on counts, not positions. No layout
  // beats every replica at its best share, so a variant reaching that with all placed ends the search.
  const placeable = groups.filter((g) => (options.get(g)?.length ?? 0) > 0);
  const bound = Math.ceil(placeable.reduce((n, g) => n + g.items.length * (options.get(g)?.[0]?.share ?? 0), 0) - 1e-9);
  const placeableCount = placeable.reduce((n, g) => n + g.items.length, 0);
  let best: { configs: Config[]; key: number[] } | undefined;
  for (const variant of VARIANTS) {
    const configs = layOut(groups, pools, options, variant);
    const left = new Map<number, number>();
    for (const g of groups) left.set(g.service.priority, (left.get(g.service.priority) ?? 0) + g.items.length);
    let placed = 0;
    for (const c of configs) {
      for (const copy of c.copies) {
        for (const e of copy) left.set(e.group.service.priority, (left.get(e.group.service.priority) ?? 0) - 1);
        placed += copy.length;
      }
    }
    const levels = [...left.keys()].sort((a, b) => b - a);
    const gpus = configs.reduce((n, c) => n + c.copies.length, 0);
    const key = [...levels.map((l) => left.get(l) ?? 0), gpus];
    if (best === undefined || compare(key, best.key) < 0) best = { configs, key };
    if (placed === placeableCount && gpus <= bound) break;
  }
  const configs = best?.configs ?? [];

  const arrangements = new Map<string, readonly ProfilePosition[] | undefined>();
  const next = new Map<Pool, number>();
  const rest: PackItem[] = [];
  for (const config of configs) {
    const { pool } = config;
    const profiles = config.profiles.map((k) => pool.profiles[k] as ProfileGeometry);
    const key = `${pools.indexOf(pool)}:${config.profiles.join(',')}`;
    if (!arrangements.has(key)) arrangements.set(key, arrange(pool.table.geometry, 0, false, profiles.map((profile) => ({ profile, service: '', running: false })), [], 0, false)?.positions);
    const positions = arrangements.get(key);
    for (const copy of config.copies) {
      const at = next.get(pool) ?? 0;
      next.set(pool, at + 1);
      const bin = pool.bins[at];
      copy.forEach((entry, k) => {
        const item = entry.group.items.shift();
        const profile = profiles[k];
        const position = positions?.[k];
        if (item !== undefined && (bin === undefined || profile === undefined || position === undefined || !packer.placeAt(item, bin, profile, position))) rest.push(item);
      });
    }
  }
  for (const g of groups) rest.push(...g.items);
  // Partly filled GPUs of several models may merge, and the rest gets a last chance, on these GPUs only.
  packer.confineTo(new Set(freeBins));
  try {
    packer.consolidate();
    return byPriority(packer, packer.placeLeftovers(rest));
  } finally {
    packer.confineTo(undefined);
  }
}

/**
 * Step 2 weighs priority only among equals, so where GPUs ran out a replica may be left while a
 * lower-priority one holds its room: the higher one takes it, the lower one tries elsewhere.
 */
function byPriority(packer: Packer, left: readonly PackItem[]): PackItem[] {
  const waiting = [...left].sort((a, b) => b.service.priority - a.service.priority || a.rank - b.rank);
  const unmet: PackItem[] = [];
  // Where one replica of a service finds no room to take, its siblings find none either (until something changes).
  const failed = new Set<Service>();
  for (let item = waiting.shift(); item !== undefined; item = waiting.shift()) {
    const displaced = failed.has(item.service) ? undefined : packer.placeDisplacing(item);
    if (displaced === undefined) {
      failed.add(item.service);
      unmet.push(item);
      continue;
    }
    failed.clear();
    const retried = packer.placeLeftovers(displaced);
    waiting.push(...retried);
    waiting.sort((a, b) => b.service.priority - a.service.priority || a.rank - b.rank);
  }
  return unmet;
}

/** New replicas by service; moved running ones by service and profile. */
function groupsOf(items: readonly PackItem[]): Group[] {
  const groups = new Map<string, Group>();
  const sorted = [...items].sort((a, b) => a.service.position - b.service.position || a.rank - b.rank || (a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : 0));
  for (const item of sorted) {
    const fixed = item.origin?.instance.profile;
    const key = `${item.service.position}|${fixed === undefined ? '' : `${item.origin?.bin.table.geometry.model.name ?? ''}/${fixed.name}`}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = { service: item.service, fixed, items: [], order: groups.size };
      groups.set(key, group);
    }
    group.items.push(item);
  }
  return [...groups.values()];
}

/**
 * Step 1 of the file comment: replicas per group and model (key undefined: no room anywhere),
 * by memory slots, ignoring how layouts fit (step 2 finds out).
 */
function fluidSplit(groups: readonly Group[], pools: readonly Pool[], options: ReadonlyMap<Group, readonly Option[]>, fill: number): Map<Group, Map<Pool | undefined, number>> {
  const room = new Map<Pool, number>(pools.map((p) => [p, Math.floor(p.bins.length * p.slots * fill)]));
  const split = new Map<Group, Map<Pool | undefined, number>>(groups.map((g) => [g, new Map()]));
  const add = (g: Group, pool: Pool | undefined, n: number): void => {
    const m = split.get(g);
    if (m !== undefined && n !== 0) m.set(pool, (m.get(pool) ?? 0) + n);
  };
  const same = (a: number, b: number): boolean => Math.abs(a - b) < 1e-9;
  // What a replica loses where its best models are full: the share on the next-best tier less the best.
  const regret = (g: Group): number => {
    const list = options.get(g) ?? [];
    const top = list[0]?.share ?? 0;
    const next = list.find((o) => !same(o.share, top));
    return next === undefined ? Infinity : next.share - top;
  };
  const smallest = (g: Group): number => options.get(g)?.[0]?.share ?? Infinity;
  const order = [...groups].sort((a, b) => regret(b) - regret(a) || b.service.priority - a.service.priority || smallest(a) - smallest(b) || a.order - b.order);
  // Slots still wanted on each model by the groups not yet allocated there that count it among their best.
  const wanted = new Map<Pool, number>();
  const want = (g: Group, sign: number): void => {
    const list = options.get(g) ?? [];
    for (const o of list) if (same(o.share, list[0]?.share ?? 0)) wanted.set(o.pool, (wanted.get(o.pool) ?? 0) + sign * g.items.length * o.size);
  };
  for (const g of groups) want(g, 1);
  const pressure = (pool: Pool): number => (wanted.get(pool) ?? 0) / Math.max(1, room.get(pool) ?? 0);
  const allocate = (g: Group, count: number): number => {
    let left = count;
    const list = options.get(g) ?? [];
    for (let k = 0; k < list.length && left > 0; ) {
      // Among models where the replica takes the same share, the one the others want least: a
      // model only some can use well is left to them.
      const tier = list.filter((o) => same(o.share, list[k]?.share ?? 0));
      k += tier.length;
      while (left > 0) {
        let best: Option | undefined;
        for (const o of tier) if ((room.get(o.pool) ?? 0) >= o.size && (best === undefined || pressure(o.pool) < pressure(best.pool))) best = o;
        if (best === undefined) break;
        room.set(best.pool, (room.get(best.pool) ?? 0) - best.size);
        add(g, best.pool, 1);
        left--;
      }
    }
    return left;
  };
  for (const g of order) {
    want(g, -1);
    add(g, undefined, allocate(g, g.items.length));
  }
  // Where models ran out, a replica takes room from one of lower priority, or of its own priority
  // but larger (unmet counts replicas): highest priority and smallest first. Those put out try the
  // room left elsewhere afterwards.
  const waitingOrder = [...order].sort((a, b) => b.service.priority - a.service.priority || smallest(a) - smallest(b) || a.order - b.order);
  for (const g of waitingOrder) {
    for (const o of options.get(g) ?? []) {
      let waiting = split.get(g)?.get(undefined) ?? 0;
      while (waiting > 0) {
        const fits = Math.min(waiting, Math.floor((room.get(o.pool) ?? 0) / o.size));
        if (fits > 0) {
          room.set(o.pool, (room.get(o.pool) ?? 0) - fits * o.size);
          add(g, o.pool, fits);
          add(g, undefined, -fits);
          waiting -= fits;
          continue;
        }
        let victim: Group | undefined;
        for (const v of order) {
          if ((split.get(v)?.get(o.pool) ?? 0) <= 0) continue;
          const p = v.service.priority;
          if (p > g.service.priority || (p === g.service.priority && size(v, o.pool) <= o.size)) continue;
          if (victim === undefined || p < victim.service.priority || (p === victim.service.priority && size(v, o.pool) > size(victim, o.pool))) victim = v;
        }
        if (victim === undefined) break;
        add(victim, o.pool, -1);
        add(victim, undefined, 1);
        room.set(o.pool, (room.get(o.pool) ?? 0) + size(victim, o.pool));
      }
    }
  }
  for (const g of waitingOrder) {
    const waiting = split.get(g)?.get(undefined) ?? 0;
    if (waiting > 0) add(g, undefined, allocate(g, waiting) - waiting);
  }
  return split;

  function size(g: Group, pool: Pool): number {
    return (options.get(g) ?? []).find((o) => o.pool === pool)?.size ?? Infinity;
  }
}

/** Replicas of a group still to place in one role, credited with a share of a GPU. */
interface Entry {
  readonly group: Group;
  readonly share: number;
  count: number;
}

/** Replicas a layout's instance may take interchangeably: same role, same profiles accepted, same credit. */
interface Kind {
  readonly committed: boolean;
  readonly profiles: ReadonlySet<number>;
  readonly size: number;
  /** Slots credited: the entry's share of a GPU, in this model's slots. */
  readonly credit: number;
  /** Highest priority first, then demand order. */
  readonly entries: Entry[];
}

/**
 * Step 2 of the file comment: GPU by GPU the best filled maximal layout on `pools`, repeated while
 * the same filling fits. With `committed` (one model), every layout takes some of those replicas
 * and floating ones may fill what they leave; without, only floating replicas are placed. A
 * replica is credited with its best share of a GPU on any model, so a layout filled with replicas
 * that would take less room elsewhere counts as waste. Both maps are decreased.
 */
function sequentialFill(pools: readonly Pool[], committed: readonly Entry[] | undefined, floating: readonly Entry[], options: ReadonlyMap<Group, readonly Option[]>, configs: Config[], freeCount: Map<Pool, number>): void {
  const available = (kind: Kind): number => kind.entries.reduce((n, e) => n + e.count, 0);
  const plans = pools.map((pool) => {
    const kinds = new Map<string, Kind>();
    const add = (e: Entry, isCommitted: boolean): void => {
      const option = (options.get(e.group) ?? []).find((o) => o.pool === pool);
      if (option === undefined || e.count <= 0) return;
      const credit = Math.min(e.share, option.share) * pool.slots;
      const key = `${isCommitted ? 1 : 0}|${[...option.profiles].sort((a, b) => a - b).join(',')}|${option.size}|${credit}`;
      const kind = kinds.get(key) ?? { committed: isCommitted, profiles: option.profiles, size: option.size, credit, entries: [] };
      kind.entries.push(e);
      kinds.set(key, kind);
    };
    for (const e of committed ?? []) add(e, true);
    for (const e of floating) add(e, false);
    const list = [...kinds.values()];
    for (const kind of list) kind.entries.sort((a, b) => b.group.service.priority - a.group.service.priority || a.group.order - b.group.order || a.share - b.share);
    const takers = pool.profiles.map((_, k) => list.filter((kind) => kind.profiles.has(k)));
    // Instances of a layout, largest first, and among equals those fewer kinds can fill.
    const instancesOf = pool.layouts.map((layout) =>
      layout
        .flatMap((n, k) => Array.from({ length: n }, () => k))
        .sort((a, b) => (pool.profiles[b]?.size ?? 0) - (pool.profiles[a]?.size ?? 0) || (takers[a]?.length ?? 0) - (takers[b]?.length ?? 0) || a - b),
    );
    return { pool, kinds: list, takers, instancesOf };
  });
  type Filling = { readonly profiles: number[]; readonly kinds: Kind[]; readonly value: number; readonly committedSlots: number; readonly copies: number };
  const evaluate = (pool: Pool, takers: readonly (readonly Kind[])[], left: ReadonlyMap<Kind, number>, instances: readonly number[], floatingToo: boolean): Filling => {
    const used = new Map<Kind, number>();
    const profiles: number[] = [];
    const kinds: Kind[] = [];
    let value = 0;
    let committedSlots = 0;
    for (const k of instances) {
      const profile = pool.profiles[k];
      if (profile === undefined) continue;
      const slots = profile.spec.wholeGpu ? pool.slots : profile.size;
      let chosen: Kind | undefined;
      let chosenKey: number[] = [];
      for (const kind of takers[k] ?? []) {
        if (!kind.committed && !floatingToo) continue;
        const remaining = (left.get(kind) ?? 0) - (used.get(kind) ?? 0);
        if (remaining <= 0) continue;
        // Least waste first, then the harder replicas, the committed ones, higher priority, the larger remainder.
        const key = [slots - kind.credit, -kind.credit, kind.committed ? 0 : 1, -(kind.entries[0]?.group.service.priority ?? 0), -remaining, kind.entries[0]?.group.order ?? 0];
        if (chosen === undefined || compare(key, chosenKey) < 0) {
          chosen = kind;
          chosenKey = key;
        }
      }
      if (chosen === undefined) continue;
      used.set(chosen, (used.get(chosen) ?? 0) + 1);
      profiles.push(k);
      kinds.push(chosen);
      value += chosen.credit / pool.slots;
      if (chosen.committed) committedSlots += chosen.size;
    }
    let copies = freeCount.get(pool) ?? 0;
    for (const [kind, n] of used) copies = Math.min(copies, Math.floor((left.get(kind) ?? 0) / n));
    return { profiles, kinds, value, committedSlots, copies };
  };
  for (;;) {
    let best: { pool: Pool; filling: Filling; key: number[]; copies: number } | undefined;
    const consider = (pool: Pool, filling: Filling, copies: number): void => {
      if (filling.kinds.length === 0 || copies <= 0) return;
      // Best filled first, then the most committed, then what covers most demand when repeated (the sequential heuristic's rule).
      const key = [-filling.value, -filling.committedSlots, -copies];
      if (best === undefined || compare(key, best.key) < 0) best = { pool, filling, key, copies };
    };
    for (const { pool, kinds, takers, instancesOf } of plans) {
      const free = freeCount.get(pool) ?? 0;
      if (free === 0) continue;
      const left = new Map(kinds.map((kind) => [kind, available(kind)]));
      // Floating replicas may fill a committed layout's holes only while the committed replicas
      // left still fit the GPUs left, one GPU to spare for what layouts cannot fill.
      const committedLeft = kinds.filter((kind) => kind.committed).reduce((n, kind) => n + (left.get(kind) ?? 0) * kind.size, 0);
      const slack = (free - 1) * pool.slots - committedLeft;
      for (const instances of instancesOf) {
        const mixed = evaluate(pool, takers, left, instances, true);
        if (committed === undefined) {
          consider(pool, mixed, mixed.copies);
          continue;
        }
        const room = pool.slots - mixed.committedSlots;
        const cap = room <= 0 ? mixed.copies : Math.floor(slack / room);
        if (mixed.committedSlots > 0 && cap > 0) consider(pool, mixed, Math.min(mixed.copies, cap));
        else {
          const alone = evaluate(pool, takers, left, instances, false);
          consider(pool, alone, alone.copies);
        }
      }
    }
    if (best === undefined) return;
    const { pool, filling, copies } = best;
    const items: Entry[][] = [];
    for (let c = 0; c < copies; c++) {
      items.push(
        filling.kinds.map((kind) => {
          const entry = kind.entries.find((e) => e.count > 0) as Entry;
          entry.count--;
          return entry;
        }),
      );
    }
    configs.push({ pool, profiles: filling.profiles, copies: items });
    freeCount.set(pool, (freeCount.get(pool) ?? 0) - copies);
  }
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
