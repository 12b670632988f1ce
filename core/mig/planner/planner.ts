/**
 * The MIG placement planner: which instance, at which exact start, holds every replica a demand
 * wants, and which running replicas move to make room. Pure: state + demand in, plan value out.
 *
 * Objective, lexicographic (mig.md §5.2): 1. place demand by priority; 2. fewest GPUs in use;
 * 3. fewest disrupted (moved) replicas; 4. least fragmentation. Unlike nos it plans on exact
 * positions, not profile counts; unlike mig-manager it never rewrites a whole GPU: it keeps every
 * instance that need not change and moves only the replicas in the way (§0 facts 6–7).
 *
 * Pack, then match. Packing (repack.ts) decides which GPU and profile holds every replica, any GPU
 * being free to be re-laid out around its pinned instances: new replicas go highest priority
 * first and, within a priority, largest first (first-fit decreasing), each to a free position on a
 * GPU in use, else a GPU in use re-laid out to take it with the fewest moves, else an unused GPU,
 * else a GPU in use emptied onto the others; then GPUs are emptied onto the others wherever all
 * their replicas fit (objective 2), and replicas refused before try again on what that freed.
 * Matching (schedule.ts) keeps every running replica whose position its service still holds,
 * moves the rest make-before-break in a valid order, and gives the remaining positions to the new
 * replicas. Where the caller passes a solver and the cluster is small (exact.ts), the placement
 * ILP is solved too and its plan kept when it is better; where it is too large for that, the GPUs
 * free at plan start are packed again layout by layout (pattern-pack.ts, cutting stock) and that
 * kept when it is better.
 */
import { bestFitChooser, runBaseline } from './baselines.js';
import { EXACT_MAX_GPUS, exactPacking, type ExactStageOptions } from './exact.js';
import { newReplicasInOrder } from './order.js';
import { buildProblem, type Problem, type Service } from './problem.js';
import { improve, packingKey } from './improve.js';
import { patternPack } from './pattern-pack.js';
import { Packer, type PackItem, type PackOptions } from './repack.js';
import { emitPlan } from './schedule.js';
import { compareKeys } from './search.js';
import type { MigPlan, PlannerInput } from './types.js';
import { PlanBuilder } from './plan-builder.js';

/**
 * Above this many GPUs the search is cut to fit p99 ≤ 100 ms at 512 GPUs (400 ms at 2,048): one pass, fewer exact
 * rearrangements and drain attempts. Small clusters, where one GPU is a large share, get the full search.
 */
const LARGE_CLUSTER = 128;

interface PassOptions {
  /** Drain GPUs before placing the new replicas too (frees whole GPUs for large shapes). */
  readonly consolidateFirst: boolean;
  /** Moved replicas only target slots free at plan start (always schedulable). */
  readonly strict: boolean;
  /** Seed of the ruin-and-recreate search. */
  readonly seed: number;
}

/**
 * order.ts's order (priority, then largest first), and within equal priority and size the services
 * fewer GPUs accept first: a service pinned to one model must not find it filled by one that could
 * have gone anywhere.
 */
function inPlacementOrder(problem: Problem, builder: PlanBuilder): ReturnType<typeof newReplicasInOrder> {
  const offering = new Map<Service, number>();
  const share = new Map<Service, number>();
  for (const service of problem.services) {
    let gpus = 0;
    let smallest = Infinity;
    for (const gpu of builder.gpus) {
      const acceptable = service.acceptable(gpu.geometry);
      if (acceptable.length > 0) gpus++;
      for (const p of acceptable) smallest = Math.min(smallest, p.size / gpu.geometry.memorySlots);
    }
    offering.set(service, gpus);
    share.set(service, smallest);
  }
  const list = newReplicasInOrder(problem, builder);
  const position = new Map(list.map((r, k) => [r, k]));
  return [...list].sort((a, b) => {
    if (a.service.priority !== b.service.priority || share.get(a.service) !== share.get(b.service)) return (position.get(a) ?? 0) - (position.get(b) ?? 0);
    return (offering.get(a.service) ?? 0) - (offering.get(b.service) ?? 0) || (position.get(a) ?? 0) - (position.get(b) ?? 0);
  });
}

interface Packed {
  readonly builder: PlanBuilder;
  readonly packer: Packer;
  readonly unplaced: ReadonlyMap<Service, number>;
}

/**
 * Ruin-and-recreate steps (improve.ts) by cluster size, sized so small and medium clusters stay
 * near 30 ms; none above LARGE_CLUSTER, where the greedy and the pattern packing must fit the p99 targets.
 */
function improveIterations(gpus: number): number {
  if (gpus > LARGE_CLUSTER) return 0;
  return gpus <= 32 ? 450 : gpus <= 64 ? 150 : 80;
}

interface PackedItems extends Packed {
  readonly unplacedItems: readonly PackItem[];
}

function packOptions(problem: Problem, strict: boolean): PackOptions {
  const large = problem.gpus.length > LARGE_CLUSTER;
  return { allowMoves: problem.options.allowMoves, strict, rearrangeTrials: large ? 2 : 6, drainTrials: large ? 4 : 16, consolidateTrials: large ? 150 : Infinity, evictSubsets: !large };
}

/** One greedy packing pass (repack.ts). */
function pack(problem: Problem, pass: PassOptions): PackedItems {
  const builder = new PlanBuilder(problem);
  const { allowMoves } = problem.options;
  const consolidating = allowMoves && problem.options.consolidate;
  builder.releaseSurplus();
  const large = problem.gpus.length > LARGE_CLUSTER;
  const packer = new Packer(builder, problem, packOptions(problem, pass.strict));
  if (consolidating && pass.consolidateFirst) packer.consolidate();
  const unplacedItems: PackItem[] = [];
  const failed = new Set<Service>();
  newItems(problem, builder).forEach((item) => {
    // A replica that found nothing leaves the plan fuller, so its siblings cannot fit either.
    if (failed.has(item.service) || !packer.placeNew(item)) {
      failed.add(item.service);
      unplacedItems.push(item);
    }
  });
  let left: readonly PackItem[] = unplacedItems;
  if (consolidating) {
    packer.consolidate();
    // Emptied GPUs may take what found no place before.
    left = packer.placeLeftovers(unplacedItems);
  }
  if (allowMoves && !large) packer.keepMoreInPlace();
  return { builder, packer, unplacedItems: left, unplaced: countByService(left) };
}

/** The new replicas as packing items, in placement order. */
function newItems(problem: Problem, builder: PlanBuilder): PackItem[] {
  return inPlacementOrder(problem, builder).map(({ service, id }, rank) => ({ service, replica: id, origin: null, rank }));
}

/**
 * The exact stage (exact.ts), where asked for and affordable: only with moves and consolidation
 * allowed, as the ILP's objective (fewest GPUs, by moving any movable replica) is the planner's then.
 */
function exactlyPacked(problem: Problem, exact: ExactStageOptions | undefined): Packed | undefined {
  const { allowMoves, consolidate } = problem.options;
  if (exact === undefined || !allowMoves || !consolidate || problem.gpus.length > (exact.maxGpus ?? EXACT_MAX_GPUS)) return undefined;
  return exactlyPackedAnySize(problem, exact);
}

function exactlyPackedAnySize(problem: Problem, exact: ExactStageOptions): Packed | undefined {
  const builder = new PlanBuilder(problem);
  builder.releaseSurplus();
  const packed = exactPacking(builder, exact, packOptions(problem, false), newItems(problem, builder));
  return packed === undefined ? undefined : { builder: packed.builder, packer: packed.packer, unplaced: countByService(packed.unplacedItems) };
}

function countByService(items: readonly PackItem[]): Map<Service, number> {
  const unplaced = new Map<Service, number>();
  for (const item of items) unplaced.set(item.service, (unplaced.get(item.service) ?? 0) + 1);
  return unplaced;
}

function priorityLevels(problem: Problem): number[] {
  return [...new Set(problem.services.map((s) => s.priority))].sort((a, b) => b - a);
}

/** The search of improve.ts on a packing (small and medium clusters), in place. */
function improved(problem: Problem, packed: PackedItems, seed: number): PackedItems {
  // It empties GPUs by moving running replicas: only where consolidation is asked for.
  const iterations = problem.options.allowMoves && problem.options.consolidate ? improveIterations(problem.gpus.length) : 0;
  if (iterations === 0) return packed;
  const unplacedItems = improve(packed.packer, packed.unplacedItems, priorityLevels(problem), { iterations, seed });
  packed.packer.keepMoreInPlace();
  return { builder: packed.builder, packer: packed.packer, unplacedItems, unplaced: countByService(unplacedItems) };
}

/**
 * The pattern packing of pattern-pack.ts on a packing, where the exact stage cannot run (more than
 * EXACT_MAX_GPUS GPUs); kept only when it is better by the objective, else the packing is restored.
 */
function patterned(problem: Problem, packed: PackedItems): PackedItems {
  if (problem.gpus.length <= EXACT_MAX_GPUS) return packed;
  const levels = priorityLevels(problem);
  const before = packingKey(packed.packer, packed.unplacedItems, levels);
  const snapshot = packed.packer.snapshot();
  const unplacedItems = patternPack(packed.packer, packed.unplacedItems);
  if (compareKeys(packingKey(packed.packer, unplacedItems, levels), before) < 0) return { ...packed, unplacedItems, unplaced: countByService(unplacedItems) };
  packed.packer.restore(snapshot);
  return packed;
}

/** Objective order of two packings: unmet level by level from the highest priority, then Packer.score. */
function comparePacked(a: Packed, b: Packed): number {
  const levels = [...new Set([...a.unplaced.keys(), ...b.unplaced.keys()].map((s) => s.priority))].sort((x, y) => y - x);
  for (const level of levels) {
    const count = (p: Packed): number => [...p.unplaced].filter(([s]) => s.priority === level).reduce((n, [, k]) => n + k, 0);
    const d = count(a) - count(b);
    if (d !== 0) return d;
  }
  return compareKeys(a.packer.score(), b.packer.score());
}

/** MigPlan.algorithm of a plan the exact stage made. */
export const EXACT_ALGORITHM = 'planner/exact';

export interface PlanMigOptions {
  /**
   * The exact stage (exact.ts): on clusters of at most `maxGpus` GPUs, with moves and consolidation
   * allowed, the placement ILP is solved too and its plan replaces the heuristic's where it is
   * better by the objective and its moves can be ordered make-before-break. Off when absent.
   */
  readonly exact?: ExactStageOptions;
}

/**
 * The plan for this state and demand (see the file comment). Throws on invalid input. Two packing
 * passes — new replicas first, and consolidation first — and the best by the objective becomes the
 * plan (or the exact stage's, when asked for and better); if its moves cannot be ordered
 * make-before-break, its strict twin (moves only onto slots free at plan start) is used instead.
 */
export function planMig(input: PlannerInput, options: PlanMigOptions = {}): MigPlan {
  const problem = buildProblem(input);
  const { allowMoves } = problem.options;
  const consolidating = allowMoves && problem.options.consolidate;
  const passes: PassOptions[] = (consolidating && problem.gpus.length <= LARGE_CLUSTER ? [false, true] : [false]).map((consolidateFirst, k) => ({ consolidateFirst, strict: false, seed: k + 1 }));
  const packed = passes.map((pass) => ({ pass, result: pack(problem, pass) })).sort((a, b) => comparePacked(a.result, b.result));
  // The search runs on the best greedy packing only: its time is better spent there than split.
  let first = true;
  let exact: Packed | undefined;
  for (const { pass, result } of packed) {
    const heuristic = first ? patterned(problem, improved(problem, result, pass.seed)) : result;
    if (first) {
      exact = exactlyPacked(problem, options.exact);
      const exactPlan = exact !== undefined && comparePacked(exact, heuristic) < 0 ? emitPlan(...emitArgs(exact), EXACT_ALGORITHM) : undefined;
      if (exactPlan !== undefined) return exactPlan;
    }
    const plan = emitPlan(...emitArgs(heuristic));
    if (plan !== undefined) return plan;
    // The heuristic's moves cannot be ordered: the exact stage's plan, if it has one, before a strict pass.
    const exactPlan = exact === undefined ? undefined : emitPlan(...emitArgs(exact), EXACT_ALGORITHM);
    if (exactPlan !== undefined) return exactPlan;
    exact = undefined;
    const strict = pack(problem, { ...pass, strict: true });
    const strictPlan = emitPlan(...emitArgs(first ? improved(problem, strict, pass.seed) : strict));
    if (strictPlan !== undefined) return strictPlan;
    first = false;
  }
  return runBaseline('planner', bestFitChooser, 'no allowed start clear of owned instances', problem);
}

/**
 * The exact stage's plan alone, at any cluster size: the best plan make-before-break can carry out
 * by the ILP's objective (which drains GPUs by moving any movable replica, as planMig with moves
 * and consolidation allowed), within the stage's budget. Undefined when the stage found none.
 * bench:mig measures the heuristic against it where the plain ILP's optimum needs a cycle of moves
 * no cluster can run.
 */
export function planMigExactly(input: PlannerInput, exact: ExactStageOptions): MigPlan | undefined {
  const packed = exactlyPackedAnySize(buildProblem(input), exact);
  return packed === undefined ? undefined : emitPlan(...emitArgs(packed), EXACT_ALGORITHM);
}

function emitArgs(p: Packed): [Packer, ReadonlyMap<Service, number>, boolean] {
  return [p.packer, p.unplaced, p.builder.problem.options.allowMoves];
}
