/**
 * The MIG placement planner (issue 5). Pure: state + demand in, plan value out.
 *
 * Objective, lexicographic (mig.md §5.2): 1. place demand by priority; 2. fewest GPUs in use;
 * 3. fewest disrupted (moved) replicas; 4. least fragmentation. Unlike nos it plans on exact
 * positions, not profile counts; unlike mig-manager it never rewrites a whole GPU: it keeps every
 * instance that need not change and moves only the replicas in the way (§0 facts 6–7).
 *
 * New replicas go one at a time, highest priority first and, within a priority, largest first
 * (first-fit-decreasing order, which keeps big shapes from being starved by small ones). Each takes
 * the first of these that works:
 *  1. a position on a GPU already in use, no move: smallest profile, then the tightest GPU (least
 *     compute left addable: best fit), then the position that leaves most placeable (tables.ts);
 *  2. repartition a GPU in use: a position whose blocking instances all belong to movable services
 *     and can each be moved make-before-break — onto slots free right now on the same GPU or on
 *     another GPU in use — choosing the fewest moves (this is how free 2g+1g fragments become a 3g);
 *  3. an unused GPU;
 *  4. otherwise the replica is unmet, with the reason.
 * Then, for objective 2, consolidation: GPUs in use whose replicas could all move onto the other
 * GPUs in use are drained, fewest replicas first (each drain trades a few moves for one GPU).
 */
import { bestFitChooser, firstFitChooser, runBaseline } from './baselines.js';
import { newReplicasInOrder, unmetReason } from './order.js';
import { buildProblem, type Problem, type Service } from './problem.js';
import { acceptsProfile, bestSpot, compareKeys, memoryShare, SpotIndex, type Spot } from './search.js';
import type { ProfileGeometry, ProfilePosition } from './tables.js';
import type { MigPlan, PlannerInput, ReplicaMove } from './types.js';
import { isMovable, PlanBuilder, type WorkGpu, type WorkInstance } from './work.js';

interface Candidate {
  readonly spot: Spot;
  readonly key: readonly number[];
}

/** Step 1 (GPUs in use) or step 3 (unused GPUs): the best position without moving anything. */
function directSpot(builder: PlanBuilder, service: Service, inUse: boolean): Spot | undefined {
  let best: Candidate | undefined;
  for (const gpu of builder.gpus) {
    if ((gpu.instances.length > 0) !== inUse) continue;
    const acceptable = service.acceptable(gpu.geometry);
    acceptable.forEach((profile, rank) => {
      const spot = bestSpot(builder, gpu, profile);
      if (spot === undefined) return;
      const tightness = inUse ? spot.addable : 0;
      const key = [memoryShare(gpu, profile), rank, tightness, -spot.quality, spot.reusesFree ? 0 : 1, spot.destroysFree, gpu.order];
      if (best === undefined || compareKeys(key, best.key) < 0) best = { spot, key };
    });
  }
  return best?.spot;
}

interface Relocation {
  readonly instance: WorkInstance;
  readonly to: WorkGpu;
  readonly position: ProfilePosition;
}

/**
 * Make-before-break targets for `instances` (all on `from`), or undefined if one has none. A target
 * is clear of the working state (which still holds `instances` themselves), of `reservedOnFrom` when
 * it is on `from`, and of the other targets; it is never on an `excluded` GPU. With `allowSameGpu`
 * the replica may stay on its GPU at another position, preferred (it keeps its node); otherwise,
 * and next, the tightest other GPU in use that accepts it.
 */
function relocate(builder: PlanBuilder, index: SpotIndex, from: WorkGpu, instances: readonly WorkInstance[], reservedOnFrom: number, allowSameGpu: boolean, excluded: ReadonlySet<WorkGpu>): Relocation[] | undefined {
  const pending = new Map<WorkGpu, number>([[from, reservedOnFrom]]);
  const out: Relocation[] = [];
  const bySize = [...instances].sort((a, b) => b.profile.size - a.profile.size || a.start - b.start);
  for (const instance of bySize) {
    let target: { gpu: WorkGpu; position: ProfilePosition } | undefined;
    if (allowSameGpu) {
      const same = bestSpot(builder, from, instance.profile, pending.get(from) ?? 0);
      if (same !== undefined) target = { gpu: from, position: same.position };
    }
    if (target === undefined) {
      for (const spot of index.spots(instance.profile)) {
        if (spot.gpu === from || excluded.has(spot.gpu) || !acceptsProfile(instance.service, spot.gpu, instance.profile)) continue;
        const extra = pending.get(spot.gpu) ?? 0;
        const position = extra === 0 ? spot.position : bestSpot(builder, spot.gpu, instance.profile, extra)?.position;
        if (position !== undefined) {
          target = { gpu: spot.gpu, position };
          break;
        }
      }
    }
    if (target === undefined) return undefined;
    pending.set(target.gpu, (pending.get(target.gpu) ?? 0) | target.position.mask);
    out.push({ instance, to: target.gpu, position: target.position });
  }
  return out;
}

interface Repartition {
  readonly gpu: WorkGpu;
  readonly profile: ProfileGeometry;
  readonly position: ProfilePosition;
  readonly blockers: readonly WorkInstance[];
  readonly key: readonly number[];
}

/** Positions on GPUs in use whose blockers all belong to movable services, fewest blockers first. */
function repartitionCandidates(builder: PlanBuilder, profilesOn: (gpu: WorkGpu) => readonly ProfileGeometry[], excluded: ReadonlySet<WorkGpu>): Repartition[] {
  const found: Repartition[] = [];
  for (const gpu of builder.gpus) {
    if (gpu.instances.length === 0 || excluded.has(gpu)) continue;
    profilesOn(gpu).forEach((profile, rank) => {
      if (profile.spec.wholeGpu) return;
      for (const position of profile.positions) {
        const blockers = gpu.instances.filter((i) => (i.mask & position.mask) !== 0);
        if (blockers.length === 0 || !blockers.every(isMovable)) continue;
        const staying = gpu.instances.filter((i) => !blockers.includes(i));
        if (profile.spec.mediaExtensions && staying.some((i) => i.profile.spec.mediaExtensions)) continue;
        const after = staying.reduce((m, i) => m | i.mask, 0) | position.mask;
        const key = [blockers.length, memoryShare(gpu, profile), rank, -(gpu.geometry.quality[after] ?? 0), gpu.order, profile.preferHighStart ? -position.start : position.start];
        found.push({ gpu, profile, position, blockers, key });
      }
    });
  }
  return found.sort((a, b) => compareKeys(a.key, b.key));
}

/** Something to put somewhere: a new replica, or an instance already in the plan (running or new). */
interface Item {
  readonly service: Service;
  readonly replica: string;
  /** The acceptable profiles on a GPU (a running replica keeps its own). */
  readonly profilesOn: (gpu: WorkGpu) => readonly ProfileGeometry[];
  readonly from?: { readonly gpu: WorkGpu; readonly instance: WorkInstance };
}

function settle(builder: PlanBuilder, item: Item, gpu: WorkGpu, profile: ProfileGeometry, position: ProfilePosition, why: ReplicaMove['why']): void {
  const from = item.from;
  if (from === undefined) {
    builder.place(gpu, profile, position, item.service, item.replica);
  } else if (from.instance.kind === 'new') {
    // Not running yet: it is simply placed elsewhere, which disrupts nobody.
    builder.unplace(from.gpu, from.instance);
    builder.place(gpu, profile, position, item.service, item.replica);
  } else {
    builder.move(from.gpu, from.instance, gpu, position, why);
  }
}

/** The tightest free position on a GPU in use, not excluded; nothing moves. */
function directOnUsed(builder: PlanBuilder, index: SpotIndex, item: Item, excluded: ReadonlySet<WorkGpu>): Spot | undefined {
  if (item.from === undefined) {
    const spot = directSpot(builder, item.service, true);
    return spot !== undefined && !excluded.has(spot.gpu) ? spot : undefined;
  }
  const profile = item.from.instance.profile;
  return index.spots(profile).find((spot) => spot.gpu !== item.from?.gpu && !excluded.has(spot.gpu) && acceptsProfile(item.service, spot.gpu, profile));
}

/** Repartition a GPU in use for the item: move the blockers of one position (fewest first), then settle it there. */
function roomByRepartition(builder: PlanBuilder, index: SpotIndex, item: Item, excluded: ReadonlySet<WorkGpu>, why: ReplicaMove['why']): boolean {
  const blocked = new Set([...excluded, ...(item.from === undefined ? [] : [item.from.gpu])]);
  for (const candidate of repartitionCandidates(builder, item.profilesOn, blocked)) {
    const relocations = relocate(builder, index, candidate.gpu, candidate.blockers, candidate.position.mask, true, blocked);
    if (relocations === undefined) continue;
    for (const r of relocations) settle(builder, { service: r.instance.service ?? item.service, replica: r.instance.replica, profilesOn: () => [], from: { gpu: candidate.gpu, instance: r.instance } }, r.to, r.instance.profile, r.position, 'repartition');
    settle(builder, item, candidate.gpu, candidate.profile, candidate.position, why);
    index.invalidate();
    return true;
  }
  return false;
}

/** Puts the item on a GPU in use: directly, else by repartitioning one. Commits and returns true on success. */
function findRoom(builder: PlanBuilder, index: SpotIndex, item: Item, excluded: ReadonlySet<WorkGpu>, why: ReplicaMove['why']): boolean {
  const spot = directOnUsed(builder, index, item, excluded);
  if (spot !== undefined) {
    settle(builder, item, spot.gpu, spot.profile, spot.position, why);
    index.invalidate();
    return true;
  }
  return roomByRepartition(builder, index, item, excluded, why);
}

/** Moves every instance on `gpu` to room elsewhere (GPUs in use only); false as soon as one finds none. Call inside a trial. */
function moveAllOff(builder: PlanBuilder, index: SpotIndex, gpu: WorkGpu): boolean {
  const excluded = new Set([gpu]);
  const items = [...gpu.instances].sort((a, b) => b.profile.size - a.profile.size || a.start - b.start);
  for (const instance of items) {
    if (instance.service === null) return false;
    const profile = instance.profile;
    const item: Item = { service: instance.service, replica: instance.replica, profilesOn: (g) => (acceptsProfile(instance.service, g, profile) ? [profile] : []), from: { gpu, instance } };
    if (!findRoom(builder, index, item, excluded, 'consolidate')) return false;
  }
  return true;
}

/** A trial of moveAllOff: all of the GPU's replicas move, or nothing changes. */
function drain(builder: PlanBuilder, index: SpotIndex, gpu: WorkGpu): boolean {
  builder.checkpoint();
  const ok = moveAllOff(builder, index, gpu);
  if (ok) builder.commit();
  else builder.rollback();
  index.invalidate();
  return ok;
}

const drainable = (gpu: WorkGpu): boolean => gpu.instances.length > 0 && gpu.instances.every((i) => isMovable(i) || (i.kind === 'new' && i.service !== null));

/** GPUs worth trying to drain, cheapest first (fewest replicas, fewest slots). */
function drainCandidates(builder: PlanBuilder): WorkGpu[] {
  return builder.gpus.filter(drainable).sort((a, b) => a.instances.length - b.instances.length || popcount(a.mask) - popcount(b.mask) || b.order - a.order);
}

/** Drain attempts per new replica that finds no room otherwise (bounds the time at 512 GPUs). */
const MAX_DRAIN_TRIALS_PER_REPLICA = 16;

/** Last resort before unmet: empty a GPU of an acceptable model onto the others, then use it. */
function placeByDraining(builder: PlanBuilder, index: SpotIndex, service: Service, replica: string): boolean {
  const candidates = drainCandidates(builder).filter((g) => service.acceptable(g.geometry).length > 0).slice(0, MAX_DRAIN_TRIALS_PER_REPLICA);
  for (const gpu of candidates) {
    builder.checkpoint();
    const spot = moveAllOff(builder, index, gpu) ? service.acceptable(gpu.geometry).map((p) => bestSpot(builder, gpu, p)).find((s) => s !== undefined) : undefined;
    if (spot !== undefined) {
      builder.place(gpu, spot.profile, spot.position, service, replica);
      builder.commit();
      index.invalidate();
      return true;
    }
    builder.rollback();
    index.invalidate();
  }
  return false;
}

/** Objective 2: drain GPUs whose replicas all find room among the other GPUs in use. */
function consolidate(builder: PlanBuilder, index: SpotIndex): void {
  for (const gpu of drainCandidates(builder)) {
    if (drainable(gpu)) drain(builder, index, gpu);
  }
}

function popcount(mask: number): number {
  let n = 0;
  for (let m = mask; m !== 0; m &= m - 1) n++;
  return n;
}

/** One pass of the planner; `consolidateFirst` drains GPUs before placing the new replicas too. */
function planPass(problem: Problem, consolidateFirst: boolean): MigPlan {
  const builder = new PlanBuilder(problem);
  const index = new SpotIndex(builder);
  const { allowMoves } = problem.options;
  const consolidating = allowMoves && problem.options.consolidate;
  builder.releaseSurplus();
  if (consolidating && consolidateFirst) consolidate(builder, index);
  const unplaced = new Map<Service, number>();
  const none = new Set<WorkGpu>();
  for (const { service, id } of newReplicasInOrder(problem, builder)) {
    // A replica that found nothing leaves the plan fuller, so its siblings cannot fit either.
    if (unplaced.has(service)) {
      unplaced.set(service, (unplaced.get(service) ?? 0) + 1);
      continue;
    }
    const item: Item = { service, replica: id, profilesOn: (g) => service.acceptable(g.geometry) };
    let done = false;
    const spot = directSpot(builder, service, true);
    if (spot !== undefined) {
      builder.place(spot.gpu, spot.profile, spot.position, service, id);
      done = true;
    }
    if (!done && allowMoves) done = roomByRepartition(builder, index, item, none, 'repartition');
    if (!done) {
      const fresh = directSpot(builder, service, false);
      if (fresh !== undefined) builder.place(fresh.gpu, fresh.profile, fresh.position, service, id);
      done = fresh !== undefined;
    }
    if (!done && allowMoves) done = placeByDraining(builder, index, service, id);
    if (done) index.invalidate();
    else unplaced.set(service, 1);
  }
  for (const [service, count] of unplaced) {
    const what = allowMoves
      ? 'no free position on an unused GPU, and none on a GPU in use that moving only movable replicas can free'
      : 'no free position clear of running replicas';
    builder.addUnmet({ service: service.name, priority: service.priority, profiles: service.profileLabel, requested: service.newIds.length, unmet: count, reason: unmetReason(builder, service, count, service.newIds.length, what) });
  }
  if (consolidating) consolidate(builder, index);
  return builder.finish('planner');
}

/**
 * The plan for this state and demand (see the file comment). Throws on invalid input. Several
 * passes — new replicas first; consolidation first (which frees whole GPUs for large shapes); the
 * move-free first-fit and best-fit placements — and the best plan by the objective wins, so the
 * planner is never worse than a move-free placement it could have made.
 */
export function planMig(input: PlannerInput): MigPlan {
  const problem = buildProblem(input);
  const fallbacks = [
    (p: Problem): MigPlan => runBaseline('first-fit', firstFitChooser, 'no free instance and no allowed start clear of owned instances', p),
    (p: Problem): MigPlan => runBaseline('best-fit', bestFitChooser, 'no allowed start clear of owned instances', p),
  ];
  const plans = [planPass(problem, false)];
  if (problem.options.allowMoves && problem.options.consolidate) plans.push(planPass(problem, true));
  for (const fallback of fallbacks) plans.push({ ...fallback(problem), algorithm: 'planner' });
  return plans.reduce((best, plan) => (compareObjective(plan, best) < 0 ? plan : best));
}

function compareObjective(a: MigPlan, b: MigPlan): number {
  // Unmet compares level by level from the highest priority, then the rest of the key.
  const levels = [...new Set([...a.unmet, ...b.unmet].map((u) => u.priority))].sort((x, y) => y - x);
  for (const level of levels) {
    const count = (p: MigPlan): number => p.unmet.filter((u) => u.priority === level).reduce((n, u) => n + u.unmet, 0);
    const d = count(a) - count(b);
    if (d !== 0) return d;
  }
  return compareKeys(
    [a.summary.gpusUsed, a.summary.moves, a.summary.strandedMemorySlots, -a.summary.largePlacements],
    [b.summary.gpusUsed, b.summary.moves, b.summary.strandedMemorySlots, -b.summary.largePlacements],
  );
}
