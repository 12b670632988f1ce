/**
 * Layout counting at data-centre scale: the maximal layouts (core/mig/planner/layouts.ts), the
 * layout-count ILP that bounds every plan's GPU count (layout-count.ts, solved with HiGHS), and
 * the planner's pattern packing of GPUs free at plan start (pattern-pack.ts), measured against it.
 */
import { expect } from 'chai';
import { emptyClusterInstance, randomInstance } from '../../../../sim/workload/mig-instances';
import type { LpSolver } from '../../../../core/ports/lp-solver';
import { loadHighsSolver } from '../../../../infra/solver/highs';
import { assertValidCluster, type GpuState } from '../../../../core/mig/layout';
import { planFirstFit, planMig, solveLayoutCountIlp, type PlannerInput } from '../../../../core/mig/planner/index';
import { maximalLayouts } from '../../../../core/mig/planner/layouts';
import { modelGeometry } from '../../../../core/mig/planner/tables';
import { replaySteps } from './helpers';

const A100 = 'A100-SXM4-40GB';

function emptyGpus(model: string, count: number): GpuState[] {
  return Array.from({ length: count }, (_, k) => ({ node: `node-${String(Math.floor(k / 4)).padStart(3, '0')}`, index: k % 4, model, migEnabled: true, instances: [] }));
}

/** Within 1 % of the optimum, or one GPU where 1 % is less. */
const nearOptimal = (gpus: number, optimum: number): boolean => gpus - optimum <= Math.max(1, 0.01 * optimum);

describe('core/mig/planner: layout counts and pattern packing', function () {
  this.timeout(120_000);
  let solver: LpSolver;
  before(async () => {
    solver = await loadHighsSolver();
  });

  it('maximal layouts: 28 on an A100 with the two-slot 1g, 12 without, 4 on an A30; pinned slots leave the layouts of the rest', () => {
    const a100 = modelGeometry(A100);
    const plain = a100.model.profiles.filter((p) => !p.mediaExtensions).map((p) => a100.profile(p.name)!);
    expect(maximalLayouts(a100, 0, false, plain)).to.have.length(28);
    expect(maximalLayouts(a100, 0, false, plain.filter((p) => p.name !== '1g.10gb'))).to.have.length(12);
    const a30 = modelGeometry('A30-24GB');
    expect(maximalLayouts(a30, 0, false, a30.model.profiles.filter((p) => !p.mediaExtensions).map((p) => a30.profile(p.name)!))).to.have.length(4);
    // 4g@0 pinned: slots 4–7 take 3g@4, or 2g/1g mixes; nothing whole-GPU.
    const onTop = maximalLayouts(a100, 0b1111, false, plain).map((counts) => plain.flatMap((p, k) => ((counts[k] ?? 0) > 0 ? [`${p.name}×${counts[k]}`] : [])).join('+'));
    expect(onTop).to.include('3g.20gb×1').and.not.include('7g.40gb×1');
  });

  it('the layout-count ILP: seven 1-slot replicas fill a GPU, an eighth opens another unless a 2-slot one takes slots 6–7', () => {
    const gpus = emptyGpus(A100, 2);
    const count = (demand: PlannerInput['demand']): number => solveLayoutCountIlp({ gpus, demand }, solver).gpus;
    expect(count([{ service: 's', profiles: ['1g.5gb'], replicas: 7 }])).to.equal(1);
    expect(count([{ service: 's', profiles: ['1g.5gb'], replicas: 8 }])).to.equal(2);
    expect(count([{ service: 's', profiles: ['1g.5gb'], replicas: 6 }, { service: 'm', memoryGiB: 9, replicas: 1 }])).to.equal(1);
    const short = solveLayoutCountIlp({ gpus, demand: [{ service: 'big', profiles: ['7g.40gb'], replicas: 3 }] }, solver);
    expect(short).to.include({ status: 'optimal', gpus: 2, unmet: 1 });
  });

  it('the layout-count ILP bounds every plan: never more GPUs at no more unmet (seeded 8–32 GPU fragmented instances)', () => {
    for (const size of [8, 16, 32]) {
      for (let seed = 1; seed <= 3; seed++) {
        const input = randomInstance({ gpus: size, seed });
        const bound = solveLayoutCountIlp(input, solver);
        const plan = planMig(input);
        expect(bound.status, `${size}/${seed}`).to.equal('optimal');
        expect(bound.unmet, `${size}/${seed}`).to.be.at.most(plan.summary.unmet);
        if (bound.unmet === plan.summary.unmet) expect(bound.gpus, `${size}/${seed}`).to.be.at.most(plan.summary.gpusUsed);
      }
    }
  });

  it('slot 7 on 128 A100s: 1-slot replicas share GPUs with the 2-slot ones that can take slots 6–7 (optimum 16 GPUs; largest first needs 18)', () => {
    const input: PlannerInput = { gpus: emptyGpus(A100, 128), demand: [{ service: 'small', profiles: ['1g.5gb'], replicas: 96 }, { service: 'medium', memoryGiB: 9, replicas: 16 }] };
    expect(solveLayoutCountIlp(input, solver).gpus).to.equal(16);
    const plan = planMig(input);
    expect(plan.summary).to.include({ gpusUsed: 16, unmet: 0, moves: 0 });
    expect(planFirstFit(input).summary.gpusUsed).to.equal(18);
    assertValidCluster(plan.gpus);
    replaySteps(input, plan);
  });

  for (const size of [128, 256]) {
    it(`empty ${size}-GPU clusters, mixed models (seeded): GPUs within 1 % (or one) of the layout-count optimum, unmet no higher`, () => {
      for (const seed of [1, 2, 3]) {
        const input = emptyClusterInstance({ gpus: size, seed });
        const optimum = solveLayoutCountIlp(input, solver);
        const plan = planMig(input);
        expect(plan.summary.unmet, `seed ${seed}`).to.be.at.most(optimum.unmet);
        expect(nearOptimal(plan.summary.gpusUsed, optimum.gpus), `seed ${seed}: ${plan.summary.gpusUsed} GPUs, optimum ${optimum.gpus}`).to.equal(true);
        assertValidCluster(plan.gpus);
        replaySteps(input, plan);
      }
    });
  }

  it('fragmented 256-GPU clusters (seeded): valid plans, better than first-fit on GPUs or unmet and worse on neither', () => {
    for (const seed of [1, 2]) {
      const input = randomInstance({ gpus: 256, seed });
      const plan = planMig(input);
      const ff = planFirstFit(input);
      assertValidCluster(plan.gpus);
      replaySteps(input, plan);
      expect(plan.summary.unmet, `seed ${seed}`).to.be.at.most(ff.summary.unmet);
      expect(plan.summary.gpusUsed, `seed ${seed}`).to.be.at.most(ff.summary.gpusUsed);
      expect(plan.summary.unmet < ff.summary.unmet || plan.summary.gpusUsed < ff.summary.gpusUsed, `seed ${seed}`).to.equal(true);
    }
  });
});
