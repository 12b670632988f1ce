/** MIG slices and MPS shares as accelerator types: names, shares of compute, bandwidth, memory and cost. */
import { expect } from 'chai';
import { GPU_MODELS } from '../../../core/mig/geometry';
import { gpuPartitions, mpsClientsOf, mpsProfileName, partitionAcceleratorName } from '../../../core/optimizer/partitions';

describe('core/optimizer/partitions', () => {
  it('lists the whole GPU first, then every MIG profile but +me, each with its shares of the GPU', () => {
    const parts = gpuPartitions('A100-SXM4-40GB');
    expect(parts.map((p) => p.profile)).to.deep.equal(['gpu', '1g.5gb', '1g.10gb', '2g.10gb', '3g.20gb', '4g.20gb', '7g.40gb']);
    const byProfile = new Map(parts.map((p) => [p.profile, p]));
    expect(byProfile.get('gpu')).to.include({ accelerator: 'A100-SXM4-40GB', kind: 'gpu', computeFraction: 1, bandwidthFraction: 1, memoryGiB: 40, costShare: 1 });
    expect(byProfile.get('1g.5gb')).to.include({ accelerator: 'A100-SXM4-40GB:1g.5gb', kind: 'mig', bandwidthFraction: 1 / 8, memoryGiB: 4864 / 1024 });
    expect(byProfile.get('1g.5gb')!.computeFraction).to.equal(1 / 7);
    // Dominant share: a 3g.20gb holds half the memory slots, so it costs half a GPU, not 3/7.
    expect(byProfile.get('3g.20gb')!.costShare).to.equal(0.5);
    expect(byProfile.get('4g.20gb')!.costShare).to.equal(4 / 7);
    expect(byProfile.get('1g.10gb')!.costShare).to.equal(0.25);
  });

  it('follows each model’s own table (A30: four slots, four compute slices; H100 names)', () => {
    expect(gpuPartitions('A30-24GB').map((p) => p.profile)).to.deep.equal(['gpu', '1g.6gb', '2g.12gb', '4g.24gb']);
    expect(gpuPartitions('A30-24GB').find((p) => p.profile === '2g.12gb')).to.include({ computeFraction: 0.5, bandwidthFraction: 0.5, costShare: 0.5 });
    expect(gpuPartitions('H100-80GB').map((p) => p.profile)).to.include('1g.10gb');
    for (const m of GPU_MODELS) for (const p of gpuPartitions(m.name)) expect(p.costShare, `${m.name} ${p.profile}`).to.be.within(0, 1);
  });

  it('offers MPS shares of 1/N compute and memory when asked, and MIG can be switched off', () => {
    const parts = gpuPartitions('H100-80GB', { mig: false, mpsClients: [4, 2, 4] });
    expect(parts.map((p) => p.accelerator)).to.deep.equal(['H100-80GB', 'H100-80GB:mps-1of2', 'H100-80GB:mps-1of4']);
    expect(parts[2]).to.include({ kind: 'mps', computeFraction: 0.25, bandwidthFraction: 0.25, memoryGiB: 20, costShare: 0.25, mpsClients: 4 });
    expect(() => gpuPartitions('H100-80GB', { mpsClients: [1] })).to.throw(RangeError, /integer >= 2/);
  });

  it('names partitions so that the whole GPU keeps the plain model name', () => {
    expect(partitionAcceleratorName('A100-SXM4-40GB', 'gpu')).to.equal('A100-SXM4-40GB');
    expect(partitionAcceleratorName('A100-SXM4-40GB', '2g.10gb')).to.equal('A100-SXM4-40GB:2g.10gb');
    expect(mpsClientsOf(mpsProfileName(7))).to.equal(7);
    expect(mpsClientsOf('2g.10gb')).to.equal(undefined);
  });
});
