/**
 * Baselines for the benchmark (mig.md §5.3), on the same input and plan value as the planner so
 * the figures compare like with like. None of them moves a running replica.
 *
 *  - first-fit: the rules of core/mig/first-fit.ts (what `reconfigure` used before the planner):
 *    reuse a free instance of the profile, else the first GPU in (node, index) order with an
 *    allowed start clear of owned instances; high starts for small profiles.
 *  - best-fit: the GPU left with the fewest free memory slots (tightest), same start rule; it
 *    knows exact positions but not what a position leaves placeable.
 *  - count-greedy (nos-style, §0 fact 10 and §3.1): decides on profile COUNTS — a GPU "fits" if its
 *    counts plus one are a feasible multiset (patterns.ts) — and leaves placement to the driver,
 *    which takes the highest free start (§1.8 rule 7). When the counts say yes but no start is
 *    clear (e.g. {2g@0, 1g@4} "has room" for a 3g), the replica fails: the plan was made on counts.
 *
 * Replicas go in the planner's order (priority, then size), so only the placement rule differs.
 */
import { feasiblePatterns, patternKey, patternProfiles } from '../patterns.js';
import { newReplicasInOrder, unmetReason } from './order.js';
import { buildProblem, type Problem, type Service } from './problem.js';
import { memoryShare } from './search.js';
import type { ModelGeometry, ProfileGeometry, ProfilePosition } from './tables.js';
import type { MigPlan, PlannerInput } from './types.js';
import { PlanBuilder, type WorkGpu } from './plan-builder.js';

export type Chooser = (builder: PlanBuilder, service: Service) => { gpu: WorkGpu; profile: ProfileGeometry; position: ProfilePosition } | 'failed' | undefined;

/** Allowed start clear of owned instances: highest for small profiles, lowest otherwise (first-fit rule 3). */
function ruleStart(builder: PlanBuilder, gpu: WorkGpu, profile: ProfileGeometry): ProfilePosition | undefined {
  const open = profile.positions.filter((p) => builder.fits(gpu, profile, p));
  return profile.preferHighStart ? open[open.length - 1] : open[0];
}

/** Acceptable profiles across the cluster, smallest memory share first (names repeat across models). */
function profilesByPreference(builder: PlanBuilder, service: Service): { gpu: WorkGpu; profile: ProfileGeometry; share: number; rank: number }[] {
  return builder
    .ordered()
    .flatMap((gpu) => service.acceptable(gpu.geometry).map((profile, rank) => ({ gpu, profile, share: memoryShare(gpu, profile), rank })))
    .sort((a, b) => a.share - b.share || a.rank - b.rank || a.gpu.order - b.gpu.order);
}

export const firstFitChooser: Chooser = (builder, service) => {
  const options = profilesByPreference(builder, service);
  const names = [...new Set(options.map((o) => o.profile.name))];
  for (const name of names) {
    const here = options.filter((o) => o.profile.name === name);
    for (const { gpu, profile } of here) {
      const free = gpu.free.filter((f) => gpu.geometry.profile(f.profile) === profile).sort((a, b) => a.start - b.start)[0];
      const position = free === undefined ? undefined : profile.positions.find((p) => p.start === free.start);
      if (position !== undefined && builder.fits(gpu, profile, position)) return { gpu, profile, position };
    }
    for (const { gpu, profile } of here) {
      const position = ruleStart(builder, gpu, profile);
      if (position !== undefined) return { gpu, profile, position };
    }
  }
  return undefined;
};

export const bestFitChooser: Chooser = (builder, service) => {
  const options = profilesByPreference(builder, service);
  const names = [...new Set(options.map((o) => o.profile.name))];
  for (const name of names) {
    let best: { gpu: WorkGpu; profile: ProfileGeometry; position: ProfilePosition; freeSlots: number } | undefined;
    for (const { gpu, profile } of options.filter((o) => o.profile.name === name)) {
      const position = ruleStart(builder, gpu, profile);
      if (position === undefined) continue;
      const freeSlots = gpu.geometry.memorySlots - popcount(gpu.mask | position.mask);
      if (best === undefined || freeSlots < best.freeSlots) best = { gpu, profile, position, freeSlots };
    }
    if (best !== undefined) return best;
  }
  return undefined;
};

const patternKeys = new Map<string, { order: readonly string[]; keys: ReadonlySet<string> }>();

/** Feasible multisets of a model, `+me` and two-slot 1g included (nos's known geometries). */
function feasibleCounts(geometry: ModelGeometry): { order: readonly string[]; keys: ReadonlySet<string> } {
  const cached = patternKeys.get(geometry.model.name);
  if (cached !== undefined) return cached;
  const options = { includeTwoSlotOneG: true, includeMediaExtensions: true };
  const order = patternProfiles(geometry.model, options).map((p) => p.name);
  const keys = new Set(feasiblePatterns(geometry.model, options).map((p) => patternKey(p.counts, order)));
  const built = { order, keys };
  patternKeys.set(geometry.model.name, built);
  return built;
}

/** Does the GPU's profile count plus one more `profile` form a feasible multiset? */
function countsAllow(gpu: WorkGpu, profile: ProfileGeometry): boolean {
  if (profile.spec.wholeGpu) return gpu.instances.length === 0;
  if (gpu.instances.some((i) => i.profile.spec.wholeGpu)) return false;
  const counts: Record<string, number> = {};
  for (const i of gpu.instances) counts[i.profile.name] = (counts[i.profile.name] ?? 0) + 1;
  counts[profile.name] = (counts[profile.name] ?? 0) + 1;
  const { order, keys } = feasibleCounts(gpu.geometry);
  return keys.has(patternKey(counts, order));
}

const countGreedyChooser: Chooser = (builder, service) => {
  for (const { gpu, profile } of profilesByPreference(builder, service)) {
    if (!countsAllow(gpu, profile)) continue;
    // The count plan picked this GPU; the driver now needs a real position (highest free start).
    const open = profile.positions.filter((p) => builder.fits(gpu, profile, p));
    const position = open[open.length - 1];
    return position === undefined ? 'failed' : { gpu, profile, position };
  }
  return undefined;
};

function popcount(mask: number): number {
  let n = 0;
  for (let m = mask; m !== 0; m &= m - 1) n++;
  return n;
}

export function runBaseline(algorithm: string, chooser: Chooser, why: string, input: PlannerInput | Problem): MigPlan {
  const problem = 'serviceOf' in input ? input : buildProblem(input);
  const builder = new PlanBuilder(problem);
  builder.releaseSurplus();
  const unplaced = new Map<Service, number>();
  for (const { service, id } of newReplicasInOrder(problem, builder)) {
    if (unplaced.has(service)) {
      unplaced.set(service, (unplaced.get(service) ?? 0) + 1);
      continue;
    }
    const choice = chooser(builder, service);
    if (choice === undefined || choice === 'failed') unplaced.set(service, 1);
    else builder.place(choice.gpu, choice.profile, choice.position, service, id);
  }
  for (const [service, count] of unplaced) {
    builder.addUnmet({ service: service.name, priority: service.priority, profiles: service.profileLabel, requested: service.newIds.length, unmet: count, reason: unmetReason(builder, service, count, service.newIds.length, why) });
  }
  return builder.finish(algorithm);
}

export function planFirstFit(input: PlannerInput): MigPlan {
  return runBaseline('first-fit', firstFitChooser, 'no free instance and no allowed start clear of owned instances', input);
}

export function planBestFit(input: PlannerInput): MigPlan {
  return runBaseline('best-fit', bestFitChooser, 'no allowed start clear of owned instances', input);
}

export function planCountGreedy(input: PlannerInput): MigPlan {
  return runBaseline('count-greedy', countGreedyChooser, 'the profile counts admitted a GPU whose free slots are not at an allowed start, or no counts admit it', input);
}

