/**
 * Seeded random MIG planning instances for the planner benchmark (bench/mig-planner.ts, after
 * mig.md §5.3) and the planner's property tests: a cluster of mixed GPU models, a history of arrivals and departures placed by a
 * fragmentation-unaware "driver" (random GPU, random allowed start) so that fragmented states
 * actually occur, then a demand: the running replicas plus new ones, some services shrinking.
 */
import { getGpuModel, type MigProfileSpec } from '../../core/mig/geometry';
import { instanceId, slotMask, type GpuState, type MigInstance } from '../../core/mig/layout';
import type { PlannerInput, ServiceDemand } from '../../core/mig/planner/types';

import { mulberry32 as prng } from '../../core/common/prng';

const MODELS = ['A100-SXM4-40GB', 'A100-SXM4-80GB', 'H100-80GB', 'H200-141GB', 'A30-24GB'] as const;
/** Memory needs (GiB) and how often each occurs: many small models, some large (LLM weights + KV cache). */
const NEEDS: readonly (readonly [number, number])[] = [[4, 5], [9, 5], [15, 3], [19, 3], [30, 2], [39, 2], [60, 1]];
const GPUS_PER_NODE = 4;

export interface InstanceOptions {
  readonly gpus: number;
  readonly seed: number;
}

interface ServiceSpec {
  readonly name: string;
  readonly memoryGiB: number;
  readonly gpuModels: readonly string[] | undefined;
  readonly priority: number;
  readonly movable: boolean;
}

function weighted<T>(rnd: () => number, items: readonly (readonly [T, number])[]): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let r = rnd() * total;
  for (const [item, w] of items) {
    r -= w;
    if (r <= 0) return item;
  }
  return items[items.length - 1]![0];
}

/** Smallest MIG profile (no +me) with enough memory on this model, or undefined. */
function smallestProfile(model: string, memoryGiB: number): string | undefined {
  return getGpuModel(model)
    .profiles.filter((p) => !p.mediaExtensions && p.memoryMiB / 1024 >= memoryGiB)
    .sort((a, b) => a.shape.memorySlots - b.shape.memorySlots || a.shape.computeSlices - b.shape.computeSlices)[0]?.name;
}

/**
 * An empty cluster (no instance on any GPU) and a demand of new replicas only, sized to fill
 * 60–90 % of its memory slots: the case where the layout-count ILP's optimum (core/mig/planner/
 * layout-count.ts) is the true optimum, so bench:mig can measure the planner's gap exactly.
 * Same models, services and memory needs as randomInstance.
 */
export function emptyClusterInstance(options: InstanceOptions): PlannerInput {
  const rnd = prng(options.seed * 104_729 + options.gpus);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const gpus = emptyGpus(rnd, options.gpus);
  const services = randomServices(rnd, pick, gpus, options.gpus);
  const capacity = gpus.reduce((s, g) => s + getGpuModel(g.model).memorySlots, 0);
  const wanted = new Map<ServiceSpec, number>();
  // Slots a replica takes at least: its smallest profile on the models it accepts.
  const slots = (s: ServiceSpec): number => Math.min(...[...new Set(gpus.map((g) => g.model))].filter((m) => s.gpuModels === undefined || s.gpuModels.includes(m)).map((m) => {
    const name = smallestProfile(m, s.memoryGiB);
    return getGpuModel(m).profiles.find((p) => p.name === name)?.shape.memorySlots ?? Infinity;
  }));
  let budget = Math.round(capacity * (0.6 + rnd() * 0.3));
  for (let tries = 0; budget > 0 && tries < 100 * options.gpus; tries++) {
    const s = pick(services);
    const size = slots(s);
    if (!Number.isFinite(size)) continue;
    wanted.set(s, (wanted.get(s) ?? 0) + 1);
    budget -= size;
  }
  const demand: ServiceDemand[] = services.map((s) => ({
    service: s.name,
    memoryGiB: s.memoryGiB,
    ...(s.gpuModels === undefined ? {} : { gpuModels: s.gpuModels }),
    replicas: wanted.get(s) ?? 0,
    priority: s.priority,
    movable: s.movable,
  }));
  return { gpus, demand };
}

function emptyGpus(rnd: () => number, count: number): GpuState[] {
  const nodes = Math.max(1, Math.ceil(count / GPUS_PER_NODE));
  const gpus: GpuState[] = [];
  for (let n = 0; n < nodes; n++) {
    // Mostly 8-slot GPUs; the A30 (4 slots) is rarer.
    const model = weighted(rnd, MODELS.map((m): [string, number] => [m, m === 'A30-24GB' ? 1 : 3]));
    for (let i = 0; i < GPUS_PER_NODE && gpus.length < count; i++) gpus.push({ node: `node-${String(n).padStart(3, '0')}`, index: i, model, migEnabled: true, instances: [] });
  }
  return gpus;
}

function randomServices(rnd: () => number, pick: <T>(xs: readonly T[]) => T, gpus: readonly GpuState[], count: number): ServiceSpec[] {
  const present = [...new Set(gpus.map((g) => g.model))];
  const serviceCount = Math.max(6, Math.min(40, Math.round(count / 4)));
  return Array.from({ length: serviceCount }, (_, k) => {
    const memoryGiB = weighted(rnd, NEEDS);
    const restricted = rnd() < 0.3;
    const gpuModels = restricted ? [pick(present)] : undefined;
    return { name: `svc-${String(k).padStart(2, '0')}`, memoryGiB, gpuModels, priority: weighted(rnd, [[0, 3], [1, 2], [2, 1]]), movable: rnd() < 0.85 };
  });
}

export function randomInstance(options: InstanceOptions): PlannerInput {
  const rnd = prng(options.seed * 7919 + options.gpus);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const nodes = Math.max(1, Math.ceil(options.gpus / GPUS_PER_NODE));
  const gpus: GpuState[] = [];
  for (let n = 0; n < nodes; n++) {
    // Mostly 8-slot GPUs; the A30 (4 slots) is rarer.
    const model = weighted(rnd, MODELS.map((m): [string, number] => [m, m === 'A30-24GB' ? 1 : 3]));
    for (let i = 0; i < GPUS_PER_NODE && gpus.length < options.gpus; i++) gpus.push({ node: `node-${String(n).padStart(3, '0')}`, index: i, model, migEnabled: true, instances: [] });
  }
  const present = [...new Set(gpus.map((g) => g.model))];
  const serviceCount = Math.max(6, Math.min(40, Math.round(options.gpus / 4)));
  const services: ServiceSpec[] = Array.from({ length: serviceCount }, (_, k) => {
    const memoryGiB = weighted(rnd, NEEDS);
    const restricted = rnd() < 0.3;
    const gpuModels = restricted ? [pick(present)] : undefined;
    return { name: `svc-${String(k).padStart(2, '0')}`, memoryGiB, gpuModels, priority: weighted(rnd, [[0, 3], [1, 2], [2, 1]]), movable: rnd() < 0.85 };
  });

  // History: a fragmentation-unaware driver places arrivals at a random fitting (GPU, start).
  const running = new Map<string, { gpu: GpuState; instance: MigInstance; service: ServiceSpec }>();
  // The running replicas in insertion order (what iterating `running` gives), kept alongside so a
  // departure picks without copying them all.
  const runningIds: string[] = [];
  const sizeOf = (model: string, profile: string): number => getGpuModel(model).profiles.find((p) => p.name === profile)!.shape.memorySlots;
  // Owned slots per GPU and in all, kept up to date (recounting them per event is quadratic).
  const ownedMask = new Map<GpuState, number>();
  const recount = (g: GpuState): number => g.instances.filter((i) => i.owner !== null).reduce((m, i) => m | slotMask(i.start, sizeOf(g.model, i.profile)), 0);
  let usedTotal = 0;
  const setOwned = (g: GpuState, mask: number): void => {
    usedTotal += popcount(mask) - popcount(ownedMask.get(g) ?? 0);
    ownedMask.set(g, mask);
  };
  const owned = (g: GpuState): number => ownedMask.get(g) ?? 0;
  const capacity = gpus.reduce((s, g) => s + getGpuModel(g.model).memorySlots, 0);
  const usedSlots = (): number => usedTotal;
  const smallest = new Map<string, MigProfileSpec | undefined>();
  const smallestOn = (model: string, memoryGiB: number): MigProfileSpec | undefined => {
    const key = `${model}|${memoryGiB}`;
    if (!smallest.has(key)) {
      const name = smallestProfile(model, memoryGiB);
      smallest.set(key, getGpuModel(model).profiles.find((p) => p.name === name));
    }
    return smallest.get(key);
  };
  // A profile's starts clear of an owned mask, by profile and mask.
  const clear = new Map<MigProfileSpec, (number[] | undefined)[]>();
  const startsClear = (profile: MigProfileSpec, taken: number): readonly number[] => {
    let byMask = clear.get(profile);
    if (byMask === undefined) {
      byMask = [];
      clear.set(profile, byMask);
    }
    let starts = byMask[taken];
    if (starts === undefined) {
      starts = profile.starts.filter((s) => (slotMask(s, profile.shape.memorySlots) & taken) === 0);
      byMask[taken] = starts;
    }
    return starts;
  };
  const targetUse = 0.45 + rnd() * 0.3;
  let serial = 0;
  const arrive = (): void => {
    const service = pick(services);
    // Every fitting (GPU, start) in GPU order, counted first and then walked to the one picked.
    const profileOn = new Map<string, MigProfileSpec | undefined>();
    for (const model of present) profileOn.set(model, service.gpuModels !== undefined && !service.gpuModels.includes(model) ? undefined : smallestOn(model, service.memoryGiB));
    const openStarts = (g: GpuState): readonly number[] => {
      const profile = profileOn.get(g.model);
      return profile === undefined ? [] : startsClear(profile, owned(g));
    };
    let total = 0;
    for (const g of gpus) total += openStarts(g).length;
    if (total === 0) return;
    let k = Math.floor(rnd() * total);
    let chosen: { g: GpuState; profile: MigProfileSpec; start: number } | undefined;
    for (const g of gpus) {
      const open = openStarts(g);
      if (k < open.length) {
        chosen = { g, profile: profileOn.get(g.model)!, start: open[k]! };
        break;
      }
      k -= open.length;
    }
    const { g, profile, start } = chosen!;
    const mask = slotMask(start, profile.shape.memorySlots);
    // Free instances in the way are destroyed, as a driver would.
    g.instances = g.instances.filter((i) => i.owner !== null || (slotMask(i.start, sizeOf(g.model, i.profile)) & mask) === 0);
    const replica = `${service.name}-${++serial}`;
    const instance: MigInstance = { id: instanceId(g.node, g.index, profile.name, start), profile: profile.name, start, owner: replica };
    g.instances.push(instance);
    setOwned(g, owned(g) | mask);
    running.set(replica, { gpu: g, instance, service });
    runningIds.push(replica);
  };
  const depart = (): void => {
    if (runningIds.length === 0) return;
    const k = Math.floor(rnd() * runningIds.length);
    const replica = runningIds[k]!;
    runningIds.splice(k, 1);
    const r = running.get(replica)!;
    running.delete(replica);
    // Half the freed instances stay as free (idle) instances: mig-manager does not destroy them.
    if (rnd() < 0.5) r.instance.owner = null;
    else r.gpu.instances = r.gpu.instances.filter((i) => i !== r.instance);
    setOwned(r.gpu, recount(r.gpu));
  };
  const events = 4 * options.gpus * 3;
  for (let e = 0; e < events; e++) {
    if (usedSlots() < targetUse * capacity && rnd() < 0.7) arrive();
    else depart();
  }
  while (usedSlots() < targetUse * capacity * 0.9) {
    const before = usedSlots();
    arrive();
    if (usedSlots() === before) break;
  }

  // Demand: running replicas plus new ones (about 10–30 % of capacity), some services shrink.
  const newBudget = Math.round(capacity * (0.1 + rnd() * 0.2));
  const extra = new Map<ServiceSpec, number>();
  let budget = newBudget;
  while (budget > 0) {
    const s = pick(services);
    extra.set(s, (extra.get(s) ?? 0) + 1);
    budget -= s.memoryGiB >= 30 ? 4 : s.memoryGiB >= 15 ? 2 : 1;
  }
  const demand: ServiceDemand[] = services.map((s) => {
    const mine = [...running.entries()].filter(([, r]) => r.service === s).map(([id]) => id);
    const shrink = mine.length > 0 && rnd() < 0.1 ? 1 : 0;
    return {
      service: s.name,
      memoryGiB: s.memoryGiB,
      ...(s.gpuModels === undefined ? {} : { gpuModels: s.gpuModels }),
      replicas: mine.length - shrink + (extra.get(s) ?? 0),
      priority: s.priority,
      movable: s.movable,
      runningReplicas: mine,
    };
  });
  for (const g of gpus) g.instances.sort((a, b) => a.start - b.start);
  return { gpus, demand };
}

function popcount(mask: number): number {
  let n = 0;
  for (let m = mask; m !== 0; m &= m - 1) n++;
  return n;
}
