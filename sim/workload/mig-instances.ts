/**
 * Seeded random MIG planning instances for the planner benchmark (bench/mig-planner.ts, after
 * mig.md §5.3) and the planner's property tests: a cluster of mixed GPU models, a history of arrivals and departures placed by a
 * fragmentation-unaware "driver" (random GPU, random allowed start) so that fragmented states
 * actually occur, then a demand: the running replicas plus new ones, some services shrinking.
 */
import { getGpuModel } from '../../core/mig/geometry';
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
  const owned = (g: GpuState): number => g.instances.filter((i) => i.owner !== null).reduce((m, i) => m | slotMask(i.start, getGpuModel(g.model).profiles.find((p) => p.name === i.profile)!.shape.memorySlots), 0);
  const capacity = gpus.reduce((s, g) => s + getGpuModel(g.model).memorySlots, 0);
  const usedSlots = (): number => gpus.reduce((s, g) => s + popcount(owned(g)), 0);
  const targetUse = 0.45 + rnd() * 0.3;
  let serial = 0;
  const arrive = (): void => {
    const service = pick(services);
    const options = gpus.flatMap((g) => {
      if (service.gpuModels !== undefined && !service.gpuModels.includes(g.model)) return [];
      const profileName = smallestProfile(g.model, service.memoryGiB);
      const profile = getGpuModel(g.model).profiles.find((p) => p.name === profileName);
      if (profile === undefined) return [];
      const taken = owned(g);
      return profile.starts.filter((s) => (slotMask(s, profile.shape.memorySlots) & taken) === 0).map((start) => ({ g, profile, start }));
    });
    if (options.length === 0) return;
    const { g, profile, start } = pick(options);
    const mask = slotMask(start, profile.shape.memorySlots);
    // Free instances in the way are destroyed, as a driver would.
    g.instances = g.instances.filter((i) => i.owner !== null || (slotMask(i.start, getGpuModel(g.model).profiles.find((p) => p.name === i.profile)!.shape.memorySlots) & mask) === 0);
    const replica = `${service.name}-${++serial}`;
    const instance: MigInstance = { id: instanceId(g.node, g.index, profile.name, start), profile: profile.name, start, owner: replica };
    g.instances.push(instance);
    running.set(replica, { gpu: g, instance, service });
  };
  const depart = (): void => {
    const all = [...running.keys()];
    if (all.length === 0) return;
    const replica = pick(all);
    const r = running.get(replica)!;
    running.delete(replica);
    // Half the freed instances stay as free (idle) instances: mig-manager does not destroy them.
    if (rnd() < 0.5) r.instance.owner = null;
    else r.gpu.instances = r.gpu.instances.filter((i) => i !== r.instance);
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
