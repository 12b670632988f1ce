/**
 * The exact ILP (HiGHS) and the baselines: the ILP reproduces the proposal example's optimum (2 GPUs,
 * 1 move), bounds the planner on seeded instances, and the count-only greedy fails where counts
 * say yes but no start is clear.
 */
import { expect } from 'chai';
import { randomInstance } from '../../../../sim/workload/mig-instances';
import type { LpSolver } from '../../../../core/ports/lp-solver';
import { loadHighsSolver } from '../../../../infra/solver/highs';
import { planBestFit, planCountGreedy, planFirstFit, planMig, solveMigIlp, type ServiceDemand } from '../../../../core/mig/planner/index';
import { gpu, inst } from '../fixtures';

const A100 = 'A100-SXM4-40GB';

describe('core/mig/planner: exact ILP and baselines', function () {
  this.timeout(60_000);
  let solver: LpSolver;
  before(async () => {
    solver = await loadHighsSolver();
  });

  it('the ILP finds the proposal optimum: nothing unmet, 2 GPUs, 1 move (the 2g at 4 → 2, 3g at 4)', () => {
    const gpus = [gpu(A100, [inst('2g.10gb', 0, 'chat-1'), inst('2g.10gb', 4, 'embed-1')]), gpu(A100, [inst('7g.40gb', 0, 'llama-1')], { index: 1 })];
    const demand: ServiceDemand[] = [
      { service: 'chat', profiles: ['2g.10gb'], replicas: 1, runningReplicas: ['chat-1'] },
      { service: 'embed', profiles: ['2g.10gb'], replicas: 1, runningReplicas: ['embed-1'] },
      { service: 'llama', profiles: ['7g.40gb'], replicas: 1, movable: false, runningReplicas: ['llama-1'] },
      { service: 'summarize', profiles: ['3g.20gb'], replicas: 1, priority: 1 },
    ];
    const r = solveMigIlp({ gpus, demand }, solver);
    expect(r.status).to.equal('optimal');
    expect(r.stages.map((s) => [s.stage, s.status])).to.deep.equal([['unmet', 'optimal'], ['gpus', 'optimal'], ['moves', 'optimal']]);
    expect(r.minMoves!.summary).to.include({ unmet: 0, gpusUsed: 2, moves: 1 });
    expect(r.minMoves!.moves.map((m) => `${m.replica} ${m.from.start}→${m.to.start}`)).to.deep.equal(['embed-1 4→2']);
    expect(r.minMoves!.placements.map((p) => `${p.profile}@${p.start}`)).to.deep.equal(['3g.20gb@4']);
    const planner = planMig({ gpus, demand });
    expect(planner.summary).to.include({ unmet: 0, gpusUsed: 2, moves: 1 });
  });

  it('the ILP leaves unmet only what cannot fit, and never uses fewer GPUs than the pinned ones need', () => {
    const gpus = [gpu(A100, [inst('4g.20gb', 0, 'p-1')])];
    const r = solveMigIlp({ gpus, demand: [{ service: 'big', profiles: ['4g.20gb'], replicas: 2 }] }, solver);
    expect(r.minMoves!.summary).to.include({ unmet: 2, gpusUsed: 1, moves: 0 });
    expect(r.minMoves!.unmet[0]!.reason).to.match(/^2 of 2 4g\.20gb replica\(s\) unplaced/);
  });

  it('on seeded 8- and 16-GPU instances the ILP bounds every algorithm: no one places more, or uses fewer GPUs at equal unmet', () => {
    for (const n of [8, 16]) {
      for (let seed = 1; seed <= 3; seed++) {
        const input = randomInstance({ gpus: n, seed });
        const r = solveMigIlp(input, solver, { timeLimitSec: 20 });
        expect(r.status, `${n}/${seed}`).to.equal('optimal');
        const best = r.minMoves!.summary;
        for (const plan of [planMig(input), planFirstFit(input), planBestFit(input), planCountGreedy(input)]) {
          const s = plan.summary;
          expect(s.unmet, `${plan.algorithm} ${n}/${seed}`).to.be.at.least(best.unmet);
          if (s.unmet === best.unmet) expect(s.gpusUsed, `${plan.algorithm} ${n}/${seed}`).to.be.at.least(best.gpusUsed);
        }
      }
    }
  });

  it('count-only greedy (nos-style) admits a 3g on {2g@0, 1g@4} by counts, then finds no start: unmet; the planner repartitions', () => {
    const gpus = [gpu(A100, [inst('2g.10gb', 0, 'a-1'), inst('1g.5gb', 4, 'b-1')])];
    const demand: ServiceDemand[] = [
      { service: 'a', profiles: ['2g.10gb'], replicas: 1, runningReplicas: ['a-1'] },
      { service: 'b', profiles: ['1g.5gb'], replicas: 1, runningReplicas: ['b-1'] },
      { service: 'c', profiles: ['3g.20gb'], replicas: 1 },
    ];
    expect(planCountGreedy({ gpus, demand }).summary).to.include({ unmet: 1 });
    const plan = planMig({ gpus, demand });
    expect(plan.summary).to.include({ unmet: 0, moves: 1, gpusUsed: 1 });
    expect(plan.moves[0]).to.deep.include({ replica: 'b-1' });
    expect(plan.placements[0]).to.include({ profile: '3g.20gb', start: 4 });
  });

  it('first-fit and best-fit follow first-fit.ts rules: small profiles from the high end, best-fit the tightest GPU', () => {
    const gpus = [gpu(A100, [inst('1g.5gb', 6, 'x-1')]), gpu(A100, [inst('4g.20gb', 0, 'y-1'), inst('2g.10gb', 4, 'y-2')], { index: 1 })];
    const demand: ServiceDemand[] = [{ service: 'n', profiles: ['1g.5gb'], replicas: 1 }];
    expect(planFirstFit({ gpus, demand }).placements[0]).to.include({ gpuIndex: 0, start: 5 });
    expect(planBestFit({ gpus, demand }).placements[0]).to.include({ gpuIndex: 1, start: 6 });
  });
});
