/**
 * Exact placement-level ILP (mig.md §5.3): the optimum the planner is measured against, on small
 * and medium instances. The solver is injected (infra/solver/highs.ts loads HiGHS), so this
 * file stays pure.
 *
 * Variables: x[g,p,s,d] = 1 ⇔ GPU g holds an instance of profile p at start s for service d; y[g] = 1
 * ⇔ GPU g is in use; u[d] = new replicas of d left unplaced. A running replica "stays" iff the x of
 * its current position is 1; otherwise it moves (to a position of its own profile on its model).
 * Constraints: per GPU and memory slot, Σ x covering the slot ≤ y[g] (non-overlap, §0 fact 3, and
 * the link to y); at most one `+me` per GPU; per service Σ x + u = running + new; per service,
 * running profile and model, Σ x ≥ running of that profile (= when the profile is not acceptable
 * for new replicas); immovable replicas and replicas no demand claims are fixed where they are.
 * Objective, solved in three lexicographic stages, each bounded by the optimum of the previous:
 *   1. unmet replicas weighted so that one replica of a higher priority outweighs all lower ones;
 *   2. GPUs in use (the "minimum GPUs" optimum);
 *   3. moved replicas (the "minimum moves" optimum at that GPU count).
 * Make-before-break ordering is NOT modelled: the optimum may swap replicas a real cluster cannot
 * swap without a spare slot, so it is a bound for the planner, not a plan to actuate.
 */
import type { LpResult, LpSolver } from '../../ports/lp-solver';
import { unmetReason } from './order.js';
import { buildProblem, type Problem, type Service } from './problem.js';
import type { ProfileGeometry, ProfilePosition } from './tables.js';
import type { MigPlan, PlannerInput } from './types.js';
import { PlanBuilder, type WorkGpu, type WorkInstance } from './plan-builder.js';

export interface MigIlpOptions {
  /** Wall-clock limit per stage, seconds. Default 10. */
  readonly timeLimitSec?: number;
}

/**
 * A combination stage 3 must not choose again: a position from every group taken while every
 * vacated running replica leaves its own (row: Σ groups' x − Σ vacated stays ≤ groups − 1).
 */
export interface NoGood {
  readonly groups: readonly (readonly IlpPlacement[])[];
  readonly vacated: readonly WorkInstance[];
}

export interface IlpStagesOptions extends MigIlpOptions {
  /**
   * Lazy constraint on stage 3: a solution it answers with a no-good is cut off and stage 3 solved
   * again, at most `rejectRounds` times (default 20). The planner uses it to forbid cycles of moves
   * that make-before-break cannot order.
   */
  readonly reject?: (chosen: readonly IlpPlacement[], all: readonly IlpPlacement[]) => NoGood | undefined;
  readonly rejectRounds?: number;
  /** Wall-clock limit for all stages and rounds together, seconds (each stage gets what is left, at most timeLimitSec). */
  readonly budgetSec?: number;
  /** Instead of budgetSec: the wall-clock instant (performance.now() milliseconds) by which to be done. */
  readonly deadline?: number;
}

/** A solve given less than this would only read the model: it is not started. */
const MIN_SOLVE_SEC = 0.05;

export type IlpStageName = 'unmet' | 'gpus' | 'moves';

export interface IlpStage {
  readonly stage: IlpStageName;
  readonly status: LpResult['status'] | 'skipped';
  readonly objective: number;
}

export interface MigIlpResult {
  /**
   * 'optimal' only when every stage was solved to optimality; 'rejected' when every stage-3
   * solution was refused by `reject` (IlpStagesOptions).
   */
  readonly status: 'optimal' | 'time-limit' | 'infeasible' | 'error' | 'rejected';
  readonly stages: readonly IlpStage[];
  /** The plan at the minimum GPU count (stage 2), with whatever moves that solution made. */
  readonly minGpus: MigPlan | undefined;
  /** The plan at the minimum GPU count with the fewest moves (stage 3). */
  readonly minMoves: MigPlan | undefined;
  readonly variables: number;
  readonly rows: number;
}

interface XVar {
  readonly name: string;
  readonly gpu: WorkGpu;
  readonly profile: ProfileGeometry;
  readonly position: ProfilePosition;
  readonly service: Service;
  /** The running replica whose current position this is, if any. */
  readonly running: WorkInstance | undefined;
}

const num = (x: number): string => (Number.isInteger(x) ? String(x) : String(x));

/** `a x1 + b x2 …`, wrapped so no LP line gets long. */
function linear(terms: readonly (readonly [number, string])[]): string {
  const parts = terms.filter(([c]) => c !== 0).map(([c, v], k) => (c < 0 ? ` - ${num(-c)} ${v}` : k === 0 ? ` ${num(c)} ${v}` : ` + ${num(c)} ${v}`));
  if (parts.length === 0) return ' 0 y_none';
  const lines: string[] = [];
  for (let k = 0; k < parts.length; k += 10) lines.push(parts.slice(k, k + 10).join(''));
  return lines.join('\n   ');
}

interface Model {
  readonly xs: readonly XVar[];
  readonly ys: ReadonlyMap<WorkGpu, string>;
  readonly rows: readonly string[];
  readonly bounds: readonly string[];
  readonly unmetTerms: readonly (readonly [number, string])[];
  readonly stayTerms: readonly (readonly [number, string])[];
  readonly fixedY: number;
}

/** Priority weights: one unmet replica of a level outweighs every unmet replica below it. */
export function priorityWeights(services: readonly Service[]): Map<Service, number> {
  const levels = [...new Set(services.map((s) => s.priority))].sort((a, b) => a - b);
  const weights = new Map<number, number>();
  let weight = 1;
  let below = 0;
  for (const level of levels) {
    weights.set(level, weight);
    below += services.filter((s) => s.priority === level).reduce((n, s) => n + s.newIds.length, 0);
    weight *= below + 1;
  }
  return new Map(services.map((s) => [s, weights.get(s.priority) ?? 1]));
}

function buildModel(builder: PlanBuilder): Model {
  const { services } = builder.problem;
  const xs: XVar[] = [];
  const ys = new Map<WorkGpu, string>();
  const rows: string[] = [];
  const bounds: string[] = [];
  const stayTerms: [number, string][] = [];
  let fixedY = 0;
  builder.gpus.forEach((gpu, gi) => {
    const pinned = gpu.instances.filter((i) => i.service === null).reduce((m, i) => m | i.mask, 0);
    for (const service of services) {
      const runningHere = builder.gpus.flatMap((g) => g.instances.filter((i) => i.service === service && g.geometry === gpu.geometry));
      const profiles = new Set<ProfileGeometry>(service.acceptable(gpu.geometry));
      for (const r of runningHere) profiles.add(r.profile);
      for (const profile of profiles) {
        for (const position of profile.positions) {
          if ((position.mask & pinned) !== 0) continue;
          const running = gpu.instances.find((i) => i.service === service && i.profile === profile && i.start === position.start);
          xs.push({ name: `x${xs.length}`, gpu, profile, position, service, running });
        }
      }
    }
    const y = `y${gi}`;
    if (pinned !== 0) {
      bounds.push(` ${y} = 1`);
      fixedY++;
    }
    ys.set(gpu, y);
  });
  const byGpu = new Map<WorkGpu, XVar[]>();
  for (const x of xs) {
    const list = byGpu.get(x.gpu) ?? [];
    list.push(x);
    byGpu.set(x.gpu, list);
    if (x.running !== undefined) {
      stayTerms.push([-1, x.name]);
      if (!x.service.movable) bounds.push(` ${x.name} = 1`);
    }
  }
  for (const [gpu, list] of byGpu) {
    const y = ys.get(gpu) ?? 'y_none';
    for (let slot = 0; slot < gpu.geometry.memorySlots; slot++) {
      const covering = list.filter((x) => (x.position.mask >> slot) & 1);
      if (covering.length > 0) rows.push(` s${rows.length}: ${linear([...covering.map((x): [number, string] => [1, x.name]), [-1, y]])} <= 0`);
    }
    const me = list.filter((x) => x.profile.spec.mediaExtensions);
    if (me.length > 1) rows.push(` m${rows.length}: ${linear(me.map((x): [number, string] => [1, x.name]))} <= 1`);
  }
  const unmetTerms: [number, string][] = [];
  const weights = priorityWeights(services);
  services.forEach((service, si) => {
    const mine = xs.filter((x) => x.service === service);
    const running = builder.gpus.flatMap((g) => g.instances.filter((i) => i.service === service));
    const total = running.length + service.newIds.length;
    const u = `u${si}`;
    rows.push(` d${rows.length}: ${linear([...mine.map((x): [number, string] => [1, x.name]), [1, u]])} = ${total}`);
    bounds.push(` 0 <= ${u} <= ${service.newIds.length}`);
    unmetTerms.push([weights.get(service) ?? 1, u]);
    // Each running replica keeps its profile on its model (it can move, not change shape).
    const groups = new Map<ProfileGeometry, number>();
    for (const r of running) groups.set(r.profile, (groups.get(r.profile) ?? 0) + 1);
    for (const [profile, count] of groups) {
      const vars = mine.filter((x) => x.profile === profile);
      const acceptable = builder.gpus.some((g) => service.acceptable(g.geometry).includes(profile));
      rows.push(` r${rows.length}: ${linear(vars.map((x): [number, string] => [1, x.name]))} ${acceptable ? '>=' : '='} ${count}`);
    }
  });
  return { xs, ys, rows, bounds, unmetTerms, stayTerms, fixedY };
}

function lpText(model: Model, objective: readonly (readonly [number, string])[], extraRows: readonly string[]): string {
  const binaries = [...model.xs.map((x) => x.name), ...model.ys.values()];
  const list: string[] = [];
  for (let k = 0; k < binaries.length; k += 16) list.push(` ${binaries.slice(k, k + 16).join(' ')}`);
  return ['Minimize', ` obj: ${linear(objective)}`, 'Subject To', ...model.rows, ...extraRows, 'Bounds', ...model.bounds, ' y_none = 0', 'Binary', ...list, 'End', ''].join('\n');
}

/** Carries a solution out on a fresh builder of the same problem (GPUs match by index), moves in no particular order. */
function toPlan(builder: PlanBuilder, chosen: readonly IlpPlacement[], algorithm: string): MigPlan {
  const gpuOf = (x: IlpPlacement): WorkGpu => builder.gpus[x.gpuIndex] as WorkGpu;
  const used = new Set(chosen.map(gpuOf));
  for (const service of builder.problem.services) {
    const mine = chosen.filter((x) => x.service === service);
    const staying = new Set(mine.filter((x) => x.running !== undefined).map((x) => x.running?.replica));
    const targets = mine.filter((x) => x.running === undefined || !staying.has(x.running.replica));
    const movers = builder.gpus.flatMap((g) => g.instances.filter((i) => i.service === service && !staying.has(i.replica)).map((i) => ({ gpu: g, instance: i })));
    for (const { gpu, instance } of movers) {
      const k = targets.findIndex((t) => t.profile === instance.profile && gpuOf(t).geometry === gpu.geometry);
      const target = targets[k];
      if (target === undefined) continue;
      targets.splice(k, 1);
      builder.move(gpu, instance, gpuOf(target), target.position, used.has(gpu) ? 'repartition' : 'consolidate');
    }
    const ids = [...service.newIds];
    for (const target of targets) {
      const id = ids.shift();
      if (id !== undefined) builder.place(gpuOf(target), target.profile, target.position, service, id);
    }
    if (ids.length > 0) {
      builder.addUnmet({
        service: service.name, priority: service.priority, profiles: service.profileLabel, requested: service.newIds.length, unmet: ids.length,
        reason: unmetReason(builder, service, ids.length, service.newIds.length, 'the ILP optimum leaves them unplaced'),
      });
    }
  }
  return builder.finish(algorithm);
}

/** One chosen x of a solution: a GPU (index into the builder's GPUs) holds this profile, at this position, for this service. */
export interface IlpPlacement {
  /** The x variable's name in the model. */
  readonly variable: string;
  readonly gpuIndex: number;
  readonly profile: ProfileGeometry;
  readonly position: ProfilePosition;
  readonly service: Service;
  /** The running replica whose current position this is (it stays), if any. */
  readonly running: WorkInstance | undefined;
}

/** The three stages on a built problem, as {@link solveMigIlp} but returning the chosen placements, not plans. */
export interface IlpStagesOutcome {
  readonly status: MigIlpResult['status'];
  readonly stages: readonly IlpStage[];
  /** Stage 2's solution (minimum GPUs), when one was found. */
  readonly minGpus: readonly IlpPlacement[] | undefined;
  /** Stage 3's solution (minimum moves at that GPU count), when one was found (and not rejected). */
  readonly minMoves: readonly IlpPlacement[] | undefined;
  readonly variables: number;
  readonly rows: number;
}

function placements(base: PlanBuilder, model: Model, result: LpResult | undefined): IlpPlacement[] {
  return model.xs.filter((x) => result === undefined || (result.columns.get(x.name) ?? 0) > 0.5).map((x) => ({ variable: x.name, gpuIndex: base.gpus.indexOf(x.gpu), profile: x.profile, position: x.position, service: x.service, running: x.running }));
}

/** Solves the three stages (see the file comment) on `base` (a fresh builder whose surplus is released). */
export function solveIlpStages(base: PlanBuilder, solver: LpSolver, options: IlpStagesOptions = {}): IlpStagesOutcome {
  const timeLimitSec = options.timeLimitSec ?? 10;
  // Reads the clock: the budget is wall-clock time, from here (building the model counts too).
  const deadline = options.deadline ?? performance.now() + 1000 * (options.budgetSec ?? Infinity);
  const model = buildModel(base);
  const stages: IlpStage[] = [];
  // A solve runs past the limit it is given (reading the model, presolve between checks), the
  // more so on a busy machine: each solve gets what is left less the worst overrun seen so far,
  // and none starts once that is too little, so the budget holds as a whole.
  let overrunSec = 0;
  const solve = (stage: IlpStageName, objective: readonly (readonly [number, string])[], extra: readonly string[]): LpResult => {
    const left = (deadline - performance.now()) / 1000 - overrunSec;
    if (left < MIN_SOLVE_SEC) {
      stages.push({ stage, status: 'skipped', objective: NaN });
      return { status: 'time-limit', solverStatus: 'not started: the budget is spent', objective: NaN, columns: new Map() };
    }
    const limit = Math.min(timeLimitSec, left);
    const started = performance.now();
    const result = solver(lpText(model, objective, extra), { timeLimitSec: limit });
    overrunSec = Math.max(overrunSec, (performance.now() - started) / 1000 - limit);
    stages.push({ stage, status: result.status, objective: result.objective });
    return result;
  };
  const rowsCount = model.rows.length;
  const finish = (status: MigIlpResult['status'], minGpus?: LpResult, minMoves?: LpResult): IlpStagesOutcome => ({
    status, stages,
    minGpus: minGpus === undefined ? undefined : placements(base, model, minGpus),
    minMoves: minMoves === undefined ? undefined : placements(base, model, minMoves),
    variables: model.xs.length + model.ys.size, rows: rowsCount,
  });
  const failed = (r: LpResult): MigIlpResult['status'] => (r.status === 'time-limit' ? 'time-limit' : r.status === 'infeasible' ? 'infeasible' : 'error');

  const yTerms = [...model.ys.values()].map((y): [number, string] => [1, y]);
  const cuts: string[] = [];
  const stayVar = new Map(model.xs.filter((x) => x.running !== undefined).map((x) => [x.running, x.name]));
  let unmetBound: string | undefined;
  let gpuBound: string | undefined;
  let s2: LpResult | undefined;
  let rejected = 0;
  let everyX: IlpPlacement[] | undefined;
  // A cut can make a stage's bound unreachable: the stage before is then solved again with the cuts.
  for (;;) {
    if (unmetBound === undefined) {
      const s1 = solve('unmet', model.unmetTerms, cuts);
      if (s1.status !== 'optimal') return finish(cuts.length > 0 && s1.status === 'infeasible' ? 'rejected' : failed(s1));
      unmetBound = ` b_unmet: ${linear(model.unmetTerms)} <= ${num(Math.round(s1.objective))}`;
    }
    if (gpuBound === undefined || s2 === undefined) {
      const r = solve('gpus', yTerms, [unmetBound, ...cuts]);
      if (r.status === 'infeasible' && cuts.length > 0) {
        unmetBound = undefined;
        continue;
      }
      if (r.status !== 'optimal' && r.columns.size === 0) return finish(failed(r));
      s2 = r;
      if (r.status !== 'optimal') return finish('time-limit', s2);
      gpuBound = ` b_gpus: ${linear(yTerms)} <= ${num(Math.round(r.objective))}`;
      if (model.stayTerms.length === 0) {
        stages.push({ stage: 'moves', status: 'skipped', objective: 0 });
        return finish('optimal', s2, s2);
      }
    }
    const s3 = solve('moves', model.stayTerms, [unmetBound, gpuBound, ...cuts]);
    if (s3.status === 'infeasible' && cuts.length > 0) {
      gpuBound = undefined;
      continue;
    }
    if (s3.columns.size === 0) return finish(failed(s3), s2);
    const noGood = options.reject?.(placements(base, model, s3), (everyX ??= placements(base, model, undefined)));
    if (noGood === undefined) return finish(s3.status === 'optimal' ? 'optimal' : 'time-limit', s2, s3);
    if (++rejected >= (options.rejectRounds ?? 20) || performance.now() >= deadline) return finish('rejected', s2);
    const vacated = noGood.vacated.flatMap((i): [number, string][] => {
      const v = stayVar.get(i);
      return v === undefined ? [] : [[-1, v]];
    });
    const chosen = noGood.groups.flatMap((group) => group.map((x): [number, string] => [1, x.variable]));
    cuts.push(` c_${cuts.length}: ${linear([...chosen, ...vacated])} <= ${noGood.groups.length - 1}`);
  }
}

/** Solves the three stages (see the file comment); plans come back for the stages that found a solution. */
export function solveMigIlp(input: PlannerInput, solver: LpSolver, options: MigIlpOptions = {}): MigIlpResult {
  const problem: Problem = buildProblem(input);
  const fresh = (): PlanBuilder => {
    const b = new PlanBuilder(problem);
    b.releaseSurplus();
    return b;
  };
  const outcome = solveIlpStages(fresh(), solver, options);
  const plan = (chosen: readonly IlpPlacement[] | undefined, algorithm: string): MigPlan | undefined => (chosen === undefined ? undefined : toPlan(fresh(), chosen, algorithm));
  return { status: outcome.status, stages: outcome.stages, minGpus: plan(outcome.minGpus, 'ilp-min-gpus'), minMoves: plan(outcome.minMoves, 'ilp-min-moves'), variables: outcome.variables, rows: outcome.rows };
}
