/**
 * (c) A static MIG partition, no autoscaling: the same GPUs as static-gpu (a) (Σ staticGpus), each cut into
 * one fixed mixed layout (4g + 2g + 1g on 7-slice GPUs, 2g + 1g + 1g on the A30), and the slices
 * dealt out once by expected work (the whole run's average load, known in advance — a generous
 * baseline): every service first gets the largest slice it fits, then each remaining slice goes
 * to the service with the most expected work per slice fraction already held.
 */
import { canServe } from '../../core/catalog/engine-config';
import { SsisError } from '../../core/errors';
import { computeFraction, getGpuModel, getProfile } from '../../core/mig/geometry';
import { tierLadder } from '../../core/mig/tiers';
import type { Allocation, PolicyContext, SimPolicy } from './port';
import { expectedWorkMsPerSec } from './work-estimate';

/** The fixed layout of one GPU, largest slice first. */
export function staticLayout(gpuModel: string): string[] {
  const spec = getGpuModel(gpuModel);
  const byCompute = new Map(tierLadder(spec).filter((p) => p !== 'gpu').map((p) => [getProfile(spec, p).shape.computeSlices, p]));
  const want = spec.computeSlices === 7 ? [4, 2, 1] : [2, 1, 1];
  return want.map((c) => byCompute.get(c)).filter((p): p is string => p !== undefined);
}

export function staticMigAllocations(ctx: PolicyContext): Allocation[] {
  const gpuCount = Math.min(ctx.gpuCount, ctx.services.reduce((n, s) => n + s.staticGpus, 0));
  const slices = ctx.gpus().slice(0, gpuCount).flatMap((g) => staticLayout(g.model).map((profile) => ({ gpuModel: g.model, profile, fraction: computeFraction(g.model, profile) })));
  slices.sort((a, b) => b.fraction - a.fraction);
  const work = new Map(ctx.services.map((s) => {
    const load = ctx.expectedLoad.find((l) => l.service === s.name)!;
    return [s.name, Math.max(1e-9, expectedWorkMsPerSec(ctx.spec(s.name), ctx.gpuModels[0]!, load))];
  }));
  const held = new Map(ctx.services.map((s) => [s.name, 0]));
  const assigned: { service: string; gpuModel: string; profile: string }[] = [];
  const fits = (service: string, slice: { gpuModel: string; profile: string }): boolean => canServe(ctx.spec(service), slice.gpuModel, slice.profile);
  const take = (i: number, service: string): void => {
    const [slice] = slices.splice(i, 1);
    assigned.push({ service, gpuModel: slice!.gpuModel, profile: slice!.profile });
    held.set(service, held.get(service)! + slice!.fraction);
  };
  for (const s of [...ctx.services].sort((a, b) => work.get(b.name)! - work.get(a.name)!)) {
    const i = slices.findIndex((slice) => fits(s.name, slice));
    if (i < 0) throw new SsisError('SSIS_PLACEMENT_INFEASIBLE', `static MIG partition: no slice of ${gpuCount} GPU(s) fits ${s.model} (service ${s.name})`);
    take(i, s.name);
  }
  while (slices.length > 0) {
    const slice = slices[0]!;
    const candidates = ctx.services.filter((s) => fits(s.name, slice));
    if (candidates.length === 0) {
      slices.shift();
      continue;
    }
    const neediest = candidates.reduce((a, b) => (work.get(b.name)! / held.get(b.name)! > work.get(a.name)! / held.get(a.name)! ? b : a));
    take(0, neediest.name);
  }
  const grouped = new Map<string, Allocation>();
  for (const a of assigned) {
    const key = `${a.service}|${a.gpuModel}|${a.profile}`;
    const g = grouped.get(key);
    grouped.set(key, { service: a.service, gpuModel: a.gpuModel, profile: a.profile, replicas: (g?.replicas ?? 0) + 1 });
  }
  // Largest slices are placed first so that first-fit packs them into the same GPUs.
  return [...grouped.values()].sort((a, b) => computeFraction(b.gpuModel, b.profile) - computeFraction(a.gpuModel, a.profile));
}

export function staticMigPolicy(): SimPolicy {
  return {
    id: 'static-mig',
    title: 'static MIG partition',
    intervalSec: null,
    needsPlaceability: false,
    initial: staticMigAllocations,
    decide: () => [],
  };
}
