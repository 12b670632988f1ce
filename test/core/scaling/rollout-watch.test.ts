/**
 * The rollout watch on its own (core/scaling/rollout-watch): which rollouts have shown no progress
 * for the timeout, and what a stuck one holds (its revision, the instances set aside for replicas
 * it never started), on hand-made service views.
 */
import { expect } from 'chai';
import type { GpuState } from '../../../core/mig/layout';
import type { ReplicaView, ServiceView } from '../../../core/ports/cluster';
import { createRolloutWatch, freedLayouts, stuckAllocation } from '../../../core/scaling/rollout-watch';

const A100 = 'A100-SXM4-40GB';

function replica(id: string, phase: ReplicaView['phase'] = 'ready'): ReplicaView {
  return { id, revision: id.slice(0, id.lastIndexOf('-')), sliceId: `slice-of-${id}`, node: 'node-a', gpu: 0, phase, url: null };
}

function svc(o: Partial<ServiceView> = {}): ServiceView {
  return {
    name: 'gpt2', modelId: 'openai-community/gpt2', generation: 2, traffic: [{ revision: 'gpt2-00001', percent: 100 }],
    revisions: [{ name: 'gpt2-00001', profile: '1g.5gb', gpuModel: A100, decisionId: 'gpt2-g0-cold-start', replicas: [replica('gpt2-00001-1')] }],
    condition: { ready: true, reason: 'Ready', message: '' }, rollout: 'gpt2-g1-up-2g.10gbx1', ...o,
  };
}

describe('core/scaling/rollout-watch', () => {
  it('names a rollout once it showed no progress for the timeout, only once, and forgets services no longer rolling out', () => {
    const watch = createRolloutWatch(600_000);
    expect(watch.observe([svc()], 0)).to.deep.equal([]);
    expect(watch.observe([svc()], 599_999)).to.deep.equal([]);
    const [stuck, ...rest] = watch.observe([svc()], 600_000);
    expect(rest).to.deep.equal([]);
    expect(stuck).to.deep.include({ decisionId: 'gpt2-g1-up-2g.10gbx1', sinceMs: 0 });
    expect(watch.observe([svc()], 600_001), 'watched anew after it was named').to.deep.equal([]);

    const other = createRolloutWatch(600_000);
    other.observe([svc()], 0);
    other.observe([svc({ rollout: null })], 300_000);
    expect(other.observe([svc()], 600_000), 'a new rollout starts its own clock').to.deep.equal([]);
  });

  it('a change the rollout makes (a replica started or ready, a revision, the traffic) or another decision restarts the clock', () => {
    const watch = createRolloutWatch(600_000);
    watch.observe([svc()], 0);
    const starting = svc({ revisions: [...svc().revisions, { name: 'gpt2-00002', profile: '2g.10gb', gpuModel: A100, decisionId: 'gpt2-g1-up-2g.10gbx1', replicas: [replica('gpt2-00002-1', 'starting')] }] });
    expect(watch.observe([starting], 500_000)).to.deep.equal([]);
    const ready = svc({ revisions: [...svc().revisions, { ...starting.revisions[1]!, replicas: [replica('gpt2-00002-1')] }] });
    expect(watch.observe([ready], 1_000_000)).to.deep.equal([]);
    expect(watch.observe([ready], 1_599_999)).to.deep.equal([]);
    expect(watch.observe([svc({ rollout: 'gpt2-g2-out' })], 1_600_000), 'another decision').to.deep.equal([]);
  });

  it('a stuck rollout holds the revision it made and the instances of its replicas-to-be; instances of running replicas and of other revisions stay', () => {
    const s = svc({ revisions: [...svc().revisions, { name: 'gpt2-00002', profile: '2g.10gb', gpuModel: A100, decisionId: 'gpt2-g1-up-2g.10gbx1', replicas: [] }] });
    const gpus: GpuState[] = [{
      node: 'node-a', index: 0, model: A100, migEnabled: true,
      instances: [
        { id: 'a', profile: '1g.5gb', start: 6, owner: 'gpt2-00001-1' },
        { id: 'b', profile: '2g.10gb', start: 4, owner: 'gpt2-00002-1' },
        { id: 'c', profile: '1g.5gb', start: 3, owner: 'gpt2-00002-extra' },
        { id: 'd', profile: '2g.10gb', start: 0, owner: 'gpt2-000021-1' },
      ],
    }];
    const held = stuckAllocation(s, 'gpt2-g1-up-2g.10gbx1', gpus);
    expect(held).to.deep.equal({ revision: 'gpt2-00002', profile: '2g.10gb', gpuModel: A100, unstarted: [{ node: 'node-a', gpu: 0, instanceId: 'b' }] });
    expect(freedLayouts(gpus, held!.unstarted)[0]!.instances.map((i) => i.owner)).to.deep.equal(['gpt2-00001-1', null, 'gpt2-00002-extra', 'gpt2-000021-1']);
    // A scale out's replicas-to-be belong to the serving revision.
    const out = stuckAllocation(svc({ rollout: 'gpt2-g1-out' }), 'gpt2-g1-out', [{ ...gpus[0]!, instances: [...gpus[0]!.instances, { id: 'e', profile: '1g.5gb', start: 5, owner: 'gpt2-00001-2' }] }]);
    expect(out).to.deep.include({ revision: 'gpt2-00001', unstarted: [{ node: 'node-a', gpu: 0, instanceId: 'e' }] });
    expect(stuckAllocation(svc({ revisions: [], traffic: [] }), 'gpt2-g0-cold-start', gpus), 'nothing made yet').to.equal(null);
  });
});
