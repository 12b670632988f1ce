/**
 * The MIG planner (core/mig/planner): the proposal example, the objective order, make-before-break
 * moves, refusals that name GPU, slot and profile, and properties over seeded random instances.
 */
import { expect } from 'chai';
import { randomInstance } from '../../../../sim/workload/mig-instances';
import { SsisError } from '../../../../core/errors';
import { assertValidCluster } from '../../../../core/mig/layout';
import { planBestFit, planCountGreedy, planFirstFit, planMig, type PlannerInput, type ServiceDemand } from '../../../../core/mig/planner/index';
import { gpu, inst } from '../fixtures';
import { proposal, replaySteps } from './helpers';

const A100 = 'A100-SXM4-40GB';


function thrown(f: () => unknown): SsisError {
  try {
    f();
  } catch (err) {
    if (err instanceof SsisError) return err;
    throw err;
  }
  throw new Error('expected an SsisError');
}

describe('core/mig/planner: planMig', () => {
  it('solves the proposal example: free 2g + 1g fragments and a 3g request → moves only the 2g at slot 4 to slot 2', () => {
    const input = proposal();
    const plan = planMig(input);
    expect(plan.unmet).to.deep.equal([]);
    expect(plan.moves.map((m) => `${m.replica}: ${m.from.profile}@${m.from.start} → ${m.to.profile}@${m.to.start} on ${m.to.node}/gpu${m.to.gpuIndex}`)).to.deep.equal(['embed-00001-1: 2g.10gb@4 → 2g.10gb@2 on node-a/gpu0']);
    expect(plan.placements.map((p) => `${p.replica} ${p.profile}@${p.start} ${p.action}`)).to.deep.equal(['summarize-00001-1 3g.20gb@4 created']);
    expect(plan.changed).to.deep.equal(['node-a/gpu0']);
    expect(plan.gpus[0]!.instances.map((i) => `${i.profile}@${i.start}:${i.owner}`)).to.deep.equal(['2g.10gb@0:chat-00001-1', '2g.10gb@2:embed-00001-1', '3g.20gb@4:summarize-00001-1']);
    // Make-before-break order: the moved replica starts on its new slice before the old one stops.
    expect(plan.steps.map((s) => `${s.kind} ${s.instanceId}`)).to.deep.equal([
      'create node-a/gpu0/2g.10gb@2', 'start node-a/gpu0/2g.10gb@2', 'stop node-a/gpu0/2g.10gb@4', 'destroy node-a/gpu0/2g.10gb@4',
      'create node-a/gpu0/3g.20gb@4', 'start node-a/gpu0/3g.20gb@4',
    ]);
    replaySteps(input, plan);
    expect(plan.summary).to.include({ gpusUsedBefore: 2, gpusUsed: 2, placed: 1, unmet: 0, moves: 1, changedGpus: 1 });
    // Actuation: one mig-parted config for the changed node and its label value.
    expect(plan.migParted.config['mig-configs'][plan.migParted.nodeLabels['node-a']!]).to.deep.equal([
      { devices: [0], 'mig-enabled': true, 'mig-devices': { '2g.10gb': 2, '3g.20gb': 1 } },
      { devices: [1], 'mig-enabled': true, 'mig-devices': { '7g.40gb': 1 } },
    ]);
  });

  it('the baselines cannot place the proposal 3g: first-fit, best-fit and the count-only greedy leave it unmet', () => {
    for (const plan of [planFirstFit(proposal()), planBestFit(proposal()), planCountGreedy(proposal())]) {
      expect(plan.summary, plan.algorithm).to.include({ unmet: 1, moves: 0, placed: 0 });
      expect(plan.unmet[0]!.reason, plan.algorithm).to.match(/^1 of 1 3g\.20gb replica\(s\) unplaced: /).and.include('node-a/gpu0');
    }
  });

  it('prefers repartitioning a GPU in use to opening an empty one (fewest GPUs before fewest moves)', () => {
    const input = proposal();
    const withSpare: PlannerInput = { ...input, gpus: [...input.gpus, gpu(A100, [], { index: 2 })] };
    const plan = planMig(withSpare);
    expect(plan.summary).to.include({ gpusUsed: 2, moves: 1 });
    expect(plan.placements[0]).to.include({ gpuIndex: 0, start: 4 });
  });

  it('does not move an immovable service: the 3g then opens the empty GPU instead', () => {
    const input = proposal();
    const demand = input.demand.map((d) => (d.service === 'embed' || d.service === 'chat' ? { ...d, movable: false } : d));
    const plan = planMig({ gpus: [...input.gpus, gpu(A100, [], { index: 2 })], demand });
    expect(plan.moves).to.deep.equal([]);
    // At 4, not 0: 3g@4 keeps 4g@0 placeable.
    expect(plan.placements[0]).to.include({ gpuIndex: 2, profile: '3g.20gb', start: 4 });
  });

  it('places higher priority first: with room for one 4g, the priority-2 service gets it', () => {
    const gpus = [gpu(A100, [inst('3g.20gb', 4, 'pinned-1')])];
    const demand: ServiceDemand[] = [
      { service: 'low', profiles: ['4g.20gb'], replicas: 1, priority: 0 },
      { service: 'high', profiles: ['4g.20gb'], replicas: 1, priority: 2 },
    ];
    const plan = planMig({ gpus, demand });
    expect(plan.placements.map((p) => p.service)).to.deep.equal(['high']);
    expect(plan.unmet.map((u) => [u.service, u.unmet])).to.deep.equal([['low', 1]]);
    expect(plan.unmet[0]!.reason).to.include('4g.20gb@0: slots held by 4g.20gb@0 (high-new-1, not movable)');
  });

  it('consolidates: a GPU whose movable replicas fit elsewhere is drained, and listed to drain', () => {
    const gpus = [gpu(A100, [inst('1g.5gb', 6, 'a-1'), inst('2g.10gb', 4, 'b-1')]), gpu(A100, [inst('1g.5gb', 6, 'a-2')], { index: 1 })];
    const demand: ServiceDemand[] = [
      { service: 'a', profiles: ['1g.5gb'], replicas: 2, runningReplicas: ['a-1', 'a-2'] },
      { service: 'b', profiles: ['2g.10gb'], replicas: 1, runningReplicas: ['b-1'] },
    ];
    const plan = planMig({ gpus, demand });
    expect(plan.summary).to.include({ gpusUsedBefore: 2, gpusUsed: 1, moves: 1 });
    expect(plan.drain).to.deep.equal([{ node: 'node-a', gpuIndex: 1, replicas: ['a-2'] }]);
    expect(planMig({ gpus, demand, options: { consolidate: false } }).summary).to.include({ gpusUsed: 2, moves: 0 });
  });

  it('reuses a free instance of the wanted profile and releases running replicas beyond the wanted count', () => {
    const gpus = [gpu(A100, [inst('1g.5gb', 5, null), inst('1g.5gb', 6, 'a-1'), inst('1g.5gb', 4, 'a-2')])];
    const plan = planMig({ gpus, demand: [{ service: 'a', profiles: ['1g.5gb'], replicas: 1, runningReplicas: ['a-1', 'a-2'] }, { service: 'n', profiles: ['1g.5gb'], replicas: 1 }] });
    expect(plan.released.map((r) => r.replica)).to.deep.equal(['a-2']);
    expect(plan.placements.map((p) => `${p.replica} ${p.profile}@${p.start} ${p.action}`)).to.deep.equal(['n-new-1 1g.5gb@5 reused']);
  });

  it('accepts demand by memory need: the smallest profile with enough memory on each model', () => {
    const gpus = [gpu('H100-80GB', [inst('3g.40gb', 0, 'x-1')])];
    const plan = planMig({ gpus, demand: [{ service: 'm', memoryGiB: 15, replicas: 2 }] });
    expect(plan.placements.map((p) => p.profile)).to.deep.equal(['1g.20gb', '1g.20gb']);
  });

  describe('refuses input that breaks the geometry, naming GPU, slot and profile', () => {
    it('overlapping slots', () => {
      const e = thrown(() => planMig({ gpus: [gpu(A100, [inst('2g.10gb', 2, 'a'), inst('3g.20gb', 0, 'b')])], demand: [] }));
      expect(e.code).to.equal('SSIS_GEOMETRY_VIOLATION');
      expect(e.message).to.include('node-a/gpu0').and.include('3g.20gb@0').and.include('memory slots 2, 3');
    });
    it('a start the profile does not allow', () => {
      const e = thrown(() => planMig({ gpus: [gpu(A100, [inst('3g.20gb', 2, 'a')])], demand: [] }));
      expect(e.code).to.equal('SSIS_GEOMETRY_VIOLATION');
      expect(e.message).to.include('node-a/gpu0').and.include('start 2 not allowed for 3g.20gb');
      expect(e.issues[0]!.field).to.equal('nodes[node-a].gpus[0].instances[0].start');
    });
    it('an unknown profile in the state or in the demand', () => {
      const state = thrown(() => planMig({ gpus: [gpu(A100, [inst('5g.30gb', 0, 'a')])], demand: [] }));
      expect(state.code).to.equal('SSIS_GEOMETRY_VIOLATION');
      expect(state.message).to.include('node-a/gpu0').and.include('5g.30gb@0');
      const demand = thrown(() => planMig({ gpus: [gpu(A100)], demand: [{ service: 's', profiles: ['5g.30gb'], replicas: 1 }] }));
      expect(demand.code).to.equal('SSIS_GEOMETRY_VIOLATION');
      expect(demand.issues[0]).to.deep.include({ field: 'demand[0].profiles[0]' });
      expect(demand.message).to.include('"5g.30gb"');
    });
    it('a malformed demand (SSIS_INVALID_CONFIG, each field named)', () => {
      const e = thrown(() => planMig({ gpus: [gpu(A100)], demand: [{ service: 's', profiles: ['1g.5gb'], replicas: -1 }, { service: 't', replicas: 1, runningReplicas: ['ghost'] }] }));
      expect(e.code).to.equal('SSIS_INVALID_CONFIG');
      expect(e.issues.map((i) => i.field)).to.deep.equal(['demand[0].replicas', 'demand[1].profiles']);
    });
  });

  describe('properties over seeded random instances (8–64 GPUs, mixed models)', () => {
    for (const n of [8, 16, 32, 64]) {
      it(`${n} GPUs: valid target layouts, valid make-before-break schedule, all demand accounted for, never worse than first-fit`, () => {
        for (let seed = 1; seed <= 4; seed++) {
          const input = randomInstance({ gpus: n, seed });
          const plan = planMig(input);
          assertValidCluster(plan.gpus);
          replaySteps(input, plan);
          const requested = input.demand.reduce((s, d) => s + Math.max(0, d.replicas - (d.runningReplicas?.length ?? 0)), 0);
          expect(plan.summary.placed + plan.summary.unmet, `seed ${seed}`).to.equal(requested);
          const ff = planFirstFit(input);
          expect(plan.summary.unmet <= ff.summary.unmet, `seed ${seed}: unmet ${plan.summary.unmet} vs first-fit ${ff.summary.unmet}`).to.equal(true);
          // Immovable running replicas never move.
          const immovable = new Set(input.demand.filter((d) => d.movable === false).flatMap((d) => d.runningReplicas ?? []));
          expect(plan.moves.filter((m) => immovable.has(m.replica))).to.deep.equal([]);
        }
      });
    }
  });
});
