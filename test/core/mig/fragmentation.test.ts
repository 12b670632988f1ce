import { expect } from 'chai';
import { clusterFragmentation, gpuFragmentation } from '../../../core/mig/fragmentation.js';
import { gpu, inst } from './fixtures.js';

const A100 = 'A100-SXM4-40GB';
const seven1g = [0, 1, 2, 3, 4, 5, 6].map((s) => inst('1g.5gb', s, `r${s}`));

describe('core/mig/fragmentation', () => {
  it('sees an empty GPU as unfragmented: 3g@0, 3g@4, 4g@0 and 7g@0 placeable', () => {
    expect(gpuFragmentation(gpu(A100))).to.deep.equal({
      gpu: 'node-a/gpu0',
      model: A100,
      freeMemorySlots: 8,
      freeComputeSlices: 7,
      strandedMemorySlots: 0,
      strandedComputeSlices: 0,
      largestPlaceableProfile: '7g.40gb',
      largePlacements: 4,
    });
  });

  it('strands slot 7 after 7×1g (§1.8 rule 4)', () => {
    expect(gpuFragmentation(gpu(A100, seven1g))).to.include({ freeMemorySlots: 1, strandedMemorySlots: 1, freeComputeSlices: 0, largestPlaceableProfile: null });
  });

  it('strands one compute slice after 3g×2 (rule 3) and three after four two-slot 1g (rule 5)', () => {
    expect(gpuFragmentation(gpu(A100, [inst('3g.20gb', 0, 'a'), inst('3g.20gb', 4, 'b')]))).to.include({ freeMemorySlots: 0, freeComputeSlices: 1, strandedComputeSlices: 1 });
    const fourTwoSlot = [0, 2, 4, 6].map((s) => inst('1g.10gb', s, `r${s}`));
    expect(gpuFragmentation(gpu(A100, fourTwoSlot))).to.include({ freeComputeSlices: 3, strandedComputeSlices: 3 });
  });

  it('tells the worked example apart: {2g@0, 1g@4} has no large placement, {2g@4, 1g@6} keeps two', () => {
    const bad = gpuFragmentation(gpu(A100, [inst('2g.10gb', 0, 'a'), inst('1g.5gb', 4, 'b')]));
    expect(bad).to.include({ freeMemorySlots: 5, freeComputeSlices: 4, strandedMemorySlots: 0, strandedComputeSlices: 0, largestPlaceableProfile: '2g.10gb', largePlacements: 0 });
    const good = gpuFragmentation(gpu(A100, [inst('2g.10gb', 4, 'a'), inst('1g.5gb', 6, 'b')]));
    expect(good).to.include({ largestPlaceableProfile: '4g.20gb', largePlacements: 2 });
  });

  it('counts free instances as occupying unless told to ignore them', () => {
    const g = gpu(A100, [inst('7g.40gb', 0)]);
    expect(gpuFragmentation(g)).to.include({ freeMemorySlots: 0, largePlacements: 0 });
    expect(gpuFragmentation(g, { ignoreFreeInstances: true })).to.include({ freeMemorySlots: 8, largePlacements: 4 });
  });

  it('gives an owned whole GPU nothing free', () => {
    expect(gpuFragmentation(gpu(A100, [inst('gpu', 0, 'a')], { migEnabled: false }))).to.include({ freeMemorySlots: 0, freeComputeSlices: 0, largestPlaceableProfile: null });
  });

  it('counts half-GPU-or-larger placements on the A30 as 2g and 4g', () => {
    expect(gpuFragmentation(gpu('A30-24GB'))).to.include({ largePlacements: 3, largestPlaceableProfile: '4g.24gb' });
  });

  it('sums a cluster and rates stranded memory against free memory', () => {
    const cluster = clusterFragmentation([gpu(A100, seven1g, { index: 0 }), gpu(A100, [], { index: 1 })]);
    expect(cluster).to.include({ freeMemorySlots: 9, strandedMemorySlots: 1, largePlacements: 4, gpusWithLargePlacement: 1 });
    expect(cluster.strandedMemoryFraction).to.equal(1 / 9);
    expect(cluster.gpus).to.have.length(2);
  });
});
