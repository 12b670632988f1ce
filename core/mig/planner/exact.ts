/**
 * The planner's exact stage, for clusters small enough to afford it: the placement ILP of ilp.ts
 * (minimum unmet by priority, then minimum GPUs, then minimum moves) solved by an injected solver
 * under a time limit per stage, its solution carried into a packing (repack.ts) so schedule.ts
 * orders its moves make-before-break like any other. The planner keeps it only when it beats the
 * heuristic packing by the objective and its moves can be ordered (the ILP does not model the
 * order: a swap of two replicas is optimal there and impossible on a cluster).
 *
 * This is how placement systems pair the two (an exact model where the instance is small, a
 * heuristic where it is large or the solver runs out of time): the heuristic alone is fast at any
 * size and usually optimal or one GPU off; the exact stage closes that gap on a few tens of GPUs
 * in a fraction of a second to a few seconds. Pure: the solver is a port (core/optimizer/milp.ts).
 */
import type { LpSolver } from '../../ports/lp-solver';
import { solveIlpStages, type IlpPlacement, type NoGood } from './ilp.js';
import type { Service } from './problem.js';
import { Packer, type PackItem, type PackOptions } from './repack.js';
import { moveCycle } from './schedule.js';
import type { PlanBuilder } from './plan-builder.js';

export interface ExactStageOptions {
  /** Solves CPLEX-LP models (infra/solver/highs.ts loads HiGHS). */
  readonly solver: LpSolver;
  /** Largest cluster (GPUs) the stage runs on; above it the heuristic alone plans. Default {@link EXACT_MAX_GPUS}. */
  readonly maxGpus?: number;
  /** Wall-clock limit per ILP solve, seconds. Default {@link EXACT_STAGE_LIMIT_SEC}. */
  readonly timeLimitSec?: number;
  /** Wall-clock limit for the whole stage (the model built, three ILP stages, the re-solves after cycles were cut off, and the solutions checked), seconds. Default {@link EXACT_BUDGET_SEC}. */
  readonly budgetSec?: number;
}

/** HiGHS proves the optimum of a 32-GPU instance in about 0.3 s (p99 about 1 s), of a 64-GPU one in 1.5–3 s (bench:mig). */
export const EXACT_MAX_GPUS = 64;
/** Per solve: a stage cut short still yields its best solution so far, kept if it beats the heuristic. */
export const EXACT_STAGE_LIMIT_SEC = 2;
/** The whole exact stage: well inside a reconfiguration's own time (re-partitioning one GPU takes seconds). */
export const EXACT_BUDGET_SEC = 8;

export interface ExactPacking {
  readonly builder: PlanBuilder;
  readonly packer: Packer;
  readonly unplacedItems: readonly PackItem[];
  /** 'optimal' when all three stages were proven optimal. */
  readonly status: string;
}

/**
 * Solves the ILP on `builder` (fresh, its surplus released; the plan is written to it) and carries
 * its solution into a fresh packing; undefined when no stage found a
 * solution or the solution cannot be carried (which would be a bug in one of the two models).
 * `newItems`: the new replicas in placement order (their ids go to the ILP's new positions in that order).
 */
export function exactPacking(builder: PlanBuilder, options: ExactStageOptions, packOptions: PackOptions, newItems: readonly PackItem[]): ExactPacking | undefined {
  // Wall-clock from here: the stage's budget covers building the model and checking solutions too.
  const deadline = performance.now() + 1000 * (options.budgetSec ?? EXACT_BUDGET_SEC);
  const { problem } = builder;
  const carried = (chosen: readonly IlpPlacement[]): { packer: Packer; unplacedItems: PackItem[] } | undefined => {
    const packer = new Packer(builder, problem, packOptions);
    for (const bin of packer.bins) for (const slot of [...bin.slots]) packer.take(bin, slot);
    const unplacedItems = carry(packer, chosen, newItems);
    return unplacedItems === undefined ? undefined : { packer, unplacedItems };
  };
  // A solution whose moves wait on each other in a cycle is cut off and the moves stage solved again.
  const reject = (chosen: readonly IlpPlacement[], all: readonly IlpPlacement[]): NoGood | undefined => {
    const packing = carried(chosen);
    const cycle = packing === undefined ? undefined : moveCycle(packing.packer);
    if (packing === undefined || cycle === undefined) return undefined;
    // Member k's target overlaps member k+1's origin. Not only that target is cut off but every
    // position of the same service and profile on that GPU overlapping that origin: replicas of a
    // service are interchangeable, so one position at a time would take a round per variant.
    const groups = cycle.map((m, k) => {
      const next = cycle[(k + 1) % cycle.length] ?? m;
      const gpuIndex = packing.packer.bins.indexOf(m.to);
      return all.filter((x) => x.gpuIndex === gpuIndex && x.running === undefined && x.service === m.slot.item.service && x.profile === m.slot.profile && (x.position.mask & next.instance.mask) !== 0);
    });
    return { groups, vacated: cycle.map((m) => m.instance) };
  };
  const outcome = solveIlpStages(builder, options.solver, { timeLimitSec: options.timeLimitSec ?? EXACT_STAGE_LIMIT_SEC, deadline, reject });
  const chosen = outcome.minMoves ?? outcome.minGpus;
  const packing = chosen === undefined ? undefined : carried(chosen);
  return packing === undefined ? undefined : { builder, ...packing, status: outcome.status };
}

/** Puts every running and new replica where the solution says; returns the new replicas left out. */
function carry(packer: Packer, chosen: readonly IlpPlacement[], newItems: readonly PackItem[]): PackItem[] | undefined {
  const byService = new Map<Service, IlpPlacement[]>();
  for (const x of chosen) {
    // Immovable services' running replicas are pinned in the packing already (fixed in the ILP).
    if (x.running !== undefined && !x.service.movable) continue;
    const list = byService.get(x.service) ?? [];
    list.push(x);
    byService.set(x.service, list);
  }
  const running = packer.items.filter((item) => item.origin !== null);
  const unplaced: PackItem[] = [];
  for (const [service, targets] of byService) {
    const mine = running.filter((item) => item.service === service);
    const staying = new Set(targets.filter((x) => x.running !== undefined).map((x) => x.running));
    const open = targets.filter((x) => x.running === undefined);
    for (const item of mine) {
      const origin = item.origin;
      if (origin === null) continue;
      let target: IlpPlacement | undefined;
      if (staying.has(origin.instance)) {
        target = targets.find((x) => x.running === origin.instance);
      } else {
        // A moving replica keeps its profile, so its model: the same profile object.
        const k = open.findIndex((x) => x.profile === origin.instance.profile);
        target = k < 0 ? undefined : open.splice(k, 1)[0];
      }
      const bin = target === undefined ? undefined : packer.bins[target.gpuIndex];
      if (target === undefined || bin === undefined || !packer.placeAt(item, bin, target.profile, target.position)) return undefined;
    }
    const fresh = newItems.filter((item) => item.service === service);
    for (const x of open) {
      const item = fresh.shift();
      const bin = packer.bins[x.gpuIndex];
      if (item === undefined || bin === undefined || !packer.placeAt(item, bin, x.profile, x.position)) return undefined;
    }
    unplaced.push(...fresh);
  }
  unplaced.push(...newItems.filter((item) => !byService.has(item.service)));
  return unplaced;
}
