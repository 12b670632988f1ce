import { expect } from 'chai';
import { carryOutSteps, type ActuationPort } from '../../../core/mig/actuator';
import { assertValidCluster, type GpuState } from '../../../core/mig/layout';
import type { PlanStep } from '../../../core/mig/planner/types';

const A100 = 'A100-SXM4-40GB';

/** FAKE cluster behind the actuation port: GPUs in memory (checked by the real geometry), calls recorded. */
class RecordingCluster implements ActuationPort {
  readonly calls: string[] = [];
  running = new Set<string>();
  failStart: string | null = null;
  constructor(private state: GpuState[]) {}
  gpus(): readonly GpuState[] {
    return this.state;
  }
  applyGpuLayouts(layouts: readonly GpuState[]): Promise<void> {
    const next = this.state.map((g) => layouts.find((l) => l.node === g.node && l.index === g.index) ?? g);
    assertValidCluster(next);
    this.state = next;
    this.calls.push(`apply ${layouts.map((g) => `${g.node}/${g.index}[${g.instances.map((i) => `${i.profile}@${i.start}:${i.owner ?? '-'}`).join(' ')}]`).join(' ')}`);
    return Promise.resolve();
  }
  startReplica(replica: string): Promise<void> {
    this.calls.push(`start ${replica}`);
    if (replica === this.failStart) return Promise.reject(new Error('image pull failed'));
    this.running.add(replica);
    return Promise.resolve();
  }
  stopReplica(replica: string): Promise<void> {
    this.calls.push(`stop ${replica}`);
    this.running.delete(replica);
    return Promise.resolve();
  }
}

function gpu(index: number, instances: GpuState['instances']): GpuState {
  return { node: 'n0', index, model: A100, migEnabled: true, instances };
}
function step(kind: PlanStep['kind'], gpuIndex: number, profile: string, start: number, replica?: string): PlanStep {
  return { kind, node: 'n0', gpuIndex, profile, start, instanceId: `n0/gpu${gpuIndex}/${profile}@${start}`, ...(replica === undefined ? {} : { replica, service: 'rev-a' }) };
}

/** A move of `a-1` from gpu0 2g@0 to gpu1 2g@0, make-before-break. */
const MOVE: PlanStep[] = [step('create', 1, '2g.10gb', 0, 'a-1'), step('start', 1, '2g.10gb', 0, 'a-1'), step('stop', 0, '2g.10gb', 0, 'a-1'), step('destroy', 0, '2g.10gb', 0, 'a-1')];

describe('core/mig/actuator: a plan\'s steps carried out through the port', () => {
  it('moves make-before-break in the plan\'s order, one apply per run of layout steps, under the new id', async () => {
    const cluster = new RecordingCluster([gpu(0, [{ id: 'n0/gpu0/2g.10gb@0', profile: '2g.10gb', start: 0, owner: 'a-1' }]), gpu(1, [])]);
    cluster.running.add('a-1');
    await carryOutSteps(MOVE, cluster, { replicaIdOf: (s) => (s.replica === 'a-1' ? 'a-2' : (s.replica ?? '')) });
    expect(cluster.calls).to.deep.equal(['apply n0/1[2g.10gb@0:a-2]', 'start a-2', 'stop a-1', 'apply n0/0[]']);
    expect([...cluster.running]).to.deep.equal(['a-2']);
  });

  it('run again after it finished, it changes nothing: no layout is applied', async () => {
    const cluster = new RecordingCluster([gpu(0, [{ id: 'n0/gpu0/2g.10gb@0', profile: '2g.10gb', start: 0, owner: 'a-1' }]), gpu(1, [])]);
    cluster.running.add('a-1');
    await carryOutSteps(MOVE, cluster);
    const first = cluster.calls.length;
    await carryOutSteps(MOVE, cluster);
    // The moved replica (same id here) is started again, which the port takes as a no-op, and not stopped.
    expect(cluster.calls.slice(first)).to.deep.equal(['start a-1']);
    expect([...cluster.running]).to.deep.equal(['a-1']);
  });

  it('a create where a free instance of that profile already stands claims it instead of creating it twice', async () => {
    const cluster = new RecordingCluster([gpu(0, [{ id: 'n0/gpu0/2g.10gb@0', profile: '2g.10gb', start: 0, owner: 'a-1' }]), gpu(1, [{ id: 'n0/gpu1/2g.10gb@0', profile: '2g.10gb', start: 0, owner: null }])]);
    await carryOutSteps(MOVE, cluster);
    expect(cluster.gpus()[1]!.instances).to.deep.equal([{ id: 'n0/gpu1/2g.10gb@0', profile: '2g.10gb', start: 0, owner: 'a-1' }]);
  });

  it('a start that fails takes its new instance away again and leaves the old replica as it was', async () => {
    const cluster = new RecordingCluster([gpu(0, [{ id: 'n0/gpu0/2g.10gb@0', profile: '2g.10gb', start: 0, owner: 'a-1' }]), gpu(1, [])]);
    cluster.running.add('a-1');
    cluster.failStart = 'a-2';
    let error: unknown;
    await carryOutSteps(MOVE, cluster, { replicaIdOf: () => 'a-2' }).catch((e: unknown) => (error = e));
    expect(String(error)).to.match(/image pull failed/);
    expect(cluster.gpus()[1]!.instances).to.deep.equal([]);
    expect(cluster.gpus()[0]!.instances.map((i) => i.owner)).to.deep.equal(['a-1']);
    expect([...cluster.running]).to.deep.equal(['a-1']);
  });

  it('a deferred start claims its instance for the replica without starting it', async () => {
    const cluster = new RecordingCluster([gpu(0, [])]);
    await carryOutSteps([step('create', 0, '3g.20gb', 4, 'b-1'), step('start', 0, '3g.20gb', 4, 'b-1')], cluster, { deferStart: () => true });
    expect(cluster.calls).to.deep.equal(['apply n0/0[3g.20gb@4:b-1]']);
  });

  it('refuses to destroy an instance another replica still uses, naming it', async () => {
    const cluster = new RecordingCluster([gpu(0, [{ id: 'n0/gpu0/2g.10gb@0', profile: '2g.10gb', start: 0, owner: 'c-1' }])]);
    let error: unknown;
    await carryOutSteps([step('destroy-free', 0, '2g.10gb', 0)], cluster).catch((e: unknown) => (error = e));
    expect(error).to.deep.include({ code: 'SSIS_GEOMETRY_VIOLATION' });
    expect(String((error as Error).message)).to.include('still used by c-1');
  });

  it('turns MIG off for a whole-GPU placement and on again for an instance, as the plan\'s layouts say', async () => {
    const cluster = new RecordingCluster([gpu(0, [])]);
    await carryOutSteps([step('create', 0, 'gpu', 0, 'w-1')], cluster);
    expect(cluster.gpus()[0]).to.deep.include({ migEnabled: false });
    await carryOutSteps([step('destroy', 0, 'gpu', 0, 'w-1'), step('create', 0, '1g.5gb', 6, 'm-1')], cluster);
    expect(cluster.gpus()[0]).to.deep.include({ migEnabled: true });
  });
});
