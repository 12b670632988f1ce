/**
 * The planner's exact stage (core/mig/planner/exact.ts): the placement ILP solved with HiGHS, its
 * solution kept only when it beats the heuristic and make-before-break can order its moves; cycles
 * of moves are cut off lazily and the ILP solved again.
 */
import { expect } from 'chai';
import { randomInstance } from '../../../../sim/workload/mig-instances';
import type { LpSolver } from '../../../../core/ports/lp-solver';
import { loadHighsSolver } from '../../../../infra/solver/highs';
import { EXACT_ALGORITHM, planMig, planMigExactly, solveMigIlp } from '../../../../core/mig/planner/index';
import { solveIlpStages, type IlpPlacement } from '../../../../core/mig/planner/ilp';
import { buildProblem } from '../../../../core/mig/planner/problem';
import { PlanBuilder } from '../../../../core/mig/planner/plan-builder';
import { proposal, replaySteps } from './helpers';



describe('core/mig/planner: the exact stage', function () {
  this.timeout(120_000);
  let solver: LpSolver;
  before(async () => {
    solver = await loadHighsSolver();
  });

  it('on the proposal example the heuristic is already optimal: the plan stays the heuristic one; the exact plan alone is the same layout', () => {
    const plan = planMig(proposal(), { exact: { solver } });
    expect(plan.algorithm).to.equal('planner');
    expect(plan.summary).to.include({ unmet: 0, gpusUsed: 2, moves: 1 });
    const exact = planMigExactly(proposal(), { solver })!;
    expect(exact.algorithm).to.equal(EXACT_ALGORITHM);
    expect(exact.summary).to.include({ unmet: 0, gpusUsed: 2, moves: 1 });
    expect(exact.gpus[0]!.instances.map((i) => `${i.profile}@${i.start}:${i.owner}`)).to.deep.equal(plan.gpus[0]!.instances.map((i) => `${i.profile}@${i.start}:${i.owner}`));
    replaySteps(proposal(), exact);
  });

  it('where the heuristic is one GPU off (seeded 32-GPU instance 11), the exact plan reaches the ILP optimum, make-before-break', () => {
    const input = randomInstance({ gpus: 32, seed: 11 });
    const heuristic = planMig(input);
    const plan = planMig(input, { exact: { solver } });
    const ilp = solveMigIlp(input, solver).minMoves!;
    expect(plan.algorithm).to.equal(EXACT_ALGORITHM);
    expect(plan.summary.unmet).to.equal(ilp.summary.unmet);
    expect(plan.summary.gpusUsed).to.equal(ilp.summary.gpusUsed);
    expect(plan.summary.gpusUsed).to.be.below(heuristic.summary.gpusUsed);
    expect(plan.summary.moves).to.equal(ilp.summary.moves);
    replaySteps(input, plan);
  });

  it('where the ILP optimum needs a cycle of moves (seeded 32-GPU instance 1), the stage cuts it off: more unmet than the plain ILP, never a plan no cluster can run', () => {
    const input = randomInstance({ gpus: 32, seed: 1 });
    const ilp = solveMigIlp(input, solver).minMoves!;
    // A generous budget: on a loaded machine the default one could end the rounds of cuts early.
    const exact = planMigExactly(input, { solver, budgetSec: 120 })!;
    expect(exact.summary.unmet).to.be.above(ilp.summary.unmet);
    replaySteps(input, exact);
    // The heuristic found that same best: the exact stage does not replace it.
    const plan = planMig(input, { exact: { solver, budgetSec: 120 } });
    expect(plan.algorithm).to.equal('planner');
    expect(plan.summary.unmet).to.equal(exact.summary.unmet);
  });

  it('a cut-off cycle can still leave a better plan: seeded 32-GPU instance 24 places 4 more replicas than the heuristic', () => {
    const input = randomInstance({ gpus: 32, seed: 24 });
    const heuristic = planMig(input);
    const plan = planMig(input, { exact: { solver, budgetSec: 120 } });
    expect(plan.algorithm).to.equal(EXACT_ALGORITHM);
    expect(plan.summary.unmet).to.equal(heuristic.summary.unmet - 4);
    replaySteps(input, plan);
  });

  it('solveIlpStages re-solves stage 3 without a rejected combination, and says so when every round is rejected', () => {
    const problem = buildProblem(randomInstance({ gpus: 8, seed: 3 }));
    const builder = new PlanBuilder(problem);
    builder.releaseSurplus();
    const seen: string[] = [];
    const key = (chosen: readonly IlpPlacement[]): string => chosen.map((x) => x.variable).sort().join(' ');
    const once = solveIlpStages(builder, solver, {
      reject: (chosen) => {
        seen.push(key(chosen));
        // The first solution is refused as a whole: every chosen position, nothing vacated.
        return seen.length === 1 ? { groups: chosen.map((x) => [x]), vacated: [] } : undefined;
      },
    });
    expect(seen).to.have.length(2);
    expect(seen[1]).to.not.equal(seen[0]);
    expect(once.status).to.equal('optimal');
    expect(key(once.minMoves!)).to.equal(seen[1]);
    const always = solveIlpStages(builder, solver, { reject: (chosen) => ({ groups: chosen.map((x) => [x]), vacated: [] }), rejectRounds: 2 });
    expect(always.status).to.equal('rejected');
    expect(always.minMoves).to.equal(undefined);
  });

  it('its budget holds in wall-clock time on a busy machine: solves that overrun their limits get less, and none starts once it is spent', () => {
    // Every solve runs 0.3 s past its limit (a loaded machine reading the model), and the cycle
    // check refuses every solution, so without the budget the rounds of cuts would go on.
    const slow: LpSolver = (lp, options) => {
      const result = solver(lp, options);
      const until = performance.now() + 300;
      while (performance.now() < until);
      return result;
    };
    const problem = buildProblem(randomInstance({ gpus: 16, seed: 2 }));
    const builder = new PlanBuilder(problem);
    builder.releaseSurplus();
    const started = performance.now();
    const outcome = solveIlpStages(builder, slow, { budgetSec: 1.5, reject: (chosen) => ({ groups: chosen.map((x) => [x]), vacated: [] }) });
    const seconds = (performance.now() - started) / 1000;
    // At most one overrun past the budget: the first solve's, before any was seen.
    expect(seconds).to.be.below(1.5 + 0.3 + 0.25);
    expect(outcome.status).to.equal('rejected');
    expect(outcome.minMoves).to.equal(undefined);
    // Where what is left after the overrun seen is too little, the next stage does not start.
    const short = solveIlpStages(builder, slow, { budgetSec: 0.5 });
    expect(short.status).to.equal('time-limit');
    expect(short.stages.map((s) => s.status)).to.include('skipped');
  });

  it('is skipped above maxGpus, and when consolidation is off (its objective drains GPUs)', () => {
    const input = randomInstance({ gpus: 32, seed: 11 });
    expect(planMig(input, { exact: { solver, maxGpus: 16 } }).algorithm).to.equal('planner');
    expect(planMig({ ...input, options: { consolidate: false } }, { exact: { solver } }).algorithm).to.equal('planner');
  });
});
