/**
 * Free (unowned) instances in a plan's steps: a replica moved onto a free instance that exists
 * with its profile and start is started on it, never told to create it, and the replay of
 * test/support/mig-planner.ts, which models every instance, owned or free, refuses steps hardware
 * would refuse.
 */
import { expect } from 'chai';
import { randomInstance } from '../../../../sim/workload/mig-instances';
import { planMig, type MigPlan, type PlannerInput, type PlanStep } from '../../../../core/mig/planner/index';
import { gpu, inst } from '../fixtures';
import { replaySteps } from './helpers';

const A100 = 'A100-SXM4-40GB';

/** gpu0: a movable a-1 on 2g@0; gpu1: a free 2g@0 and an immovable b-1 on 3g@4. Consolidation moves a-1 onto the free 2g. */
function moveOntoFreeInstance(): PlannerInput {
  return {
    gpus: [gpu(A100, [inst('2g.10gb', 0, 'a-1')], { index: 0 }), gpu(A100, [inst('2g.10gb', 0), inst('3g.20gb', 4, 'b-1')], { index: 1 })],
    demand: [
      { service: 'a', profiles: ['2g.10gb'], replicas: 1, runningReplicas: ['a-1'] },
      { service: 'b', profiles: ['3g.20gb'], replicas: 1, runningReplicas: ['b-1'], movable: false },
    ],
  };
}

const text = (steps: readonly PlanStep[]): string[] => steps.map((s) => `${s.kind} ${s.instanceId}`);

function withSteps(plan: MigPlan, steps: PlanStep[]): MigPlan {
  return { ...plan, steps };
}

describe('core/mig/planner: moves onto free instances', () => {
  it('a replica moved onto an existing free instance of its profile and start is started on it, not created again', () => {
    const input = moveOntoFreeInstance();
    const plan = planMig(input);
    expect(plan.moves.map((m) => `${m.replica} → ${m.to.instanceId}`)).to.deep.equal(['a-1 → node-a/gpu1/2g.10gb@0']);
    expect(text(plan.steps)).to.deep.equal(['start node-a/gpu1/2g.10gb@0', 'stop node-a/gpu0/2g.10gb@0', 'destroy node-a/gpu0/2g.10gb@0']);
    replaySteps(input, plan);
  });

  it('the replay models free instances: a create of an instance that exists, a destroy of one that does not, a create over a free one left in place all fail', () => {
    const input = moveOntoFreeInstance();
    const plan = planMig(input);
    const step = (kind: PlanStep['kind'], gpuIndex: number, profile: string, start: number, replica?: string): PlanStep => ({
      kind, node: 'node-a', gpuIndex, profile, start, instanceId: `node-a/gpu${gpuIndex}/${profile}@${start}`, ...(replica === undefined ? {} : { replica, service: 'a' }),
    });
    expect(() => replaySteps(input, withSteps(plan, [step('create', 1, '2g.10gb', 0, 'a-1'), ...plan.steps]))).to.throw(/exists already/);
    expect(() => replaySteps(input, withSteps(plan, [step('destroy-free', 1, '2g.10gb', 2), ...plan.steps]))).to.throw(/no such instance/);
    expect(() => replaySteps(input, withSteps(plan, [step('create', 1, '1g.5gb', 1, 'a-1')]))).to.throw(/slots an instance still covers/);
    // A running replica's instance cannot go before the replica stops.
    expect(() => replaySteps(input, withSteps(plan, [step('destroy', 0, '2g.10gb', 0, 'a-1')]))).to.throw(/still runs/);
    // Steps that leave a layout other than the target are refused too.
    expect(() => replaySteps(input, withSteps(plan, plan.steps.slice(0, 1)))).to.throw(/after the steps/);
  });

  for (const size of [512, 2048]) {
    it(`large fragmented clusters (${size} GPUs, free instances left by departures): every step can run on hardware`, function () {
      this.timeout(60_000);
      const input = randomInstance({ gpus: size, seed: 1 });
      const plan = planMig(input);
      expect(plan.moves.length).to.be.greaterThan(0);
      replaySteps(input, plan);
    });
  }
});
