/**
 * Limited-mode capacity in GPUs and memory slots: the MIG packer against the geometry's own feasible
 * layouts (every §1.7 multiset fits one GPU), classic fragmentation cases, MPS and whole GPUs, and the
 * ledger the Greedy solver consults.
 */
import { expect } from 'chai';
import { GPU_MODELS } from '../../../core/mig/geometry';
import { feasiblePatterns } from '../../../core/mig/patterns';
import type { Allocation } from '../../../core/optimizer/allocation';
import { gpusNeeded, migGpusNeeded, partitionLedger } from '../../../core/optimizer/partition-capacity';
import { gpuPartitions, type PartitionSpec } from '../../../core/optimizer/partitions';
import type { Candidate } from '../../../core/optimizer/capacity-ledger';

const A100 = 'A100-SXM4-40GB';
const counts = (o: Record<string, number>): Map<string, number> => new Map(Object.entries(o));

function candidate(accelerator: string, numReplicas: number): Candidate {
  const alloc: Allocation = { accelerator, numReplicas, batchSize: 8, cost: 1, value: 1, itl: 1, ttft: 1, rho: 0.5, maxArrvRatePerReplica: 1 };
  return { alloc, accType: accelerator.split(':')[0], unitsPerReplica: 1 };
}

describe('core/optimizer/partition-capacity', () => {
  it('packs every feasible single-GPU layout of every GPU model onto exactly one GPU', () => {
    for (const model of GPU_MODELS) {
      const patterns = feasiblePatterns(model.name).filter((p) => Object.keys(p.counts).length > 0);
      expect(patterns.length, model.name).to.be.greaterThan(3);
      for (const p of patterns) expect(migGpusNeeded(model.name, counts(p.counts)), `${model.name} ${JSON.stringify(p.counts)}`).to.equal(1);
    }
  });

  it('packs any two feasible layouts of the A100 onto at most two GPUs', () => {
    const patterns = feasiblePatterns(A100).filter((p) => Object.keys(p.counts).length > 0);
    for (const a of patterns) {
      for (const b of patterns) {
        const sum = new Map<string, number>();
        for (const c of [a.counts, b.counts]) for (const [k, v] of Object.entries(c)) sum.set(k, (sum.get(k) ?? 0) + v);
        expect(migGpusNeeded(A100, sum)).to.be.at.most(2);
      }
    }
  });

  it('counts by geometry, not by slices: slot 7 takes no 1g.5gb, two 4g never share a GPU', () => {
    expect(migGpusNeeded(A100, counts({ '1g.5gb': 7 }))).to.equal(1);
    expect(migGpusNeeded(A100, counts({ '1g.5gb': 8 }))).to.equal(2);
    expect(migGpusNeeded(A100, counts({ '2g.10gb': 3, '1g.5gb': 1 }))).to.equal(1);
    // 3×2 + 2×1 = 8 slots, but a 1g.5gb cannot start at slot 7.
    expect(migGpusNeeded(A100, counts({ '2g.10gb': 3, '1g.5gb': 2 }))).to.equal(2);
    expect(migGpusNeeded(A100, counts({ '4g.20gb': 2 }))).to.equal(2);
    expect(migGpusNeeded(A100, counts({ '4g.20gb': 1, '3g.20gb': 1 }))).to.equal(1);
    expect(migGpusNeeded(A100, counts({ '3g.20gb': 3 }))).to.equal(2);
    expect(migGpusNeeded(A100, counts({ '1g.10gb': 4 }))).to.equal(1);
    // Two A100s take twelve 1g.5gb and two 1g.10gb only as 6 + 1 each (first-fit alone needs three).
    expect(migGpusNeeded(A100, counts({ '1g.5gb': 12, '1g.10gb': 2 }))).to.equal(2);
    // 4g@0 + 1g.10gb@6 + two 1g.5gb, and six 1g.5gb + 1g.10gb@6 (the greedy alone needs three).
    expect(migGpusNeeded(A100, counts({ '1g.5gb': 8, '1g.10gb': 2, '4g.20gb': 1 }))).to.equal(2);
    expect(() => migGpusNeeded(A100, counts({ '1g.6gb': 1 }))).to.throw(RangeError, /not a MIG profile of A100-SXM4-40GB/);
  });

  it('gives whole GPUs one GPU each and MPS shares N to a GPU, apart from MIG GPUs', () => {
    const parts = new Map(gpuPartitions(A100, { mpsClients: [4] }).map((p) => [p.profile, p] as const));
    const use = (o: Record<string, number>): Map<string, { spec: PartitionSpec; count: number }> =>
      new Map(Object.entries(o).map(([profile, count]) => [profile, { spec: parts.get(profile)!, count }]));
    expect(gpusNeeded(A100, use({ gpu: 2, 'mps-1of4': 5, '3g.20gb': 2 }))).to.equal(2 + 2 + 1);
    expect(gpusNeeded(A100, use({ 'mps-1of4': 4 }))).to.equal(1);
    expect(gpusNeeded(A100, use({}))).to.equal(0);
  });

  describe('partitionLedger', () => {
    const parts = new Map(gpuPartitions(A100).map((p) => [p.accelerator, p] as const));
    const ledger = (gpus: number, reserved: [string, number][] = []): ReturnType<typeof partitionLedger> =>
      partitionLedger(new Map([[A100, gpus]]), (n) => parts.get(n), reserved);

    it('fits what the geometry can place and takes it', () => {
      const l = ledger(1);
      expect(l.fit(candidate(`${A100}:3g.20gb`, 2), 2)).to.equal(2);
      l.take(candidate(`${A100}:3g.20gb`, 1), 1);
      expect(l.fit(candidate(`${A100}:4g.20gb`, 1), 1)).to.equal(1);
      expect(l.fit(candidate(`${A100}:3g.20gb`, 2), 2), 'one 3g slot left').to.equal(1);
      expect(l.fit(candidate(A100, 1), 1), 'no whole GPU left').to.equal(0);
      expect(l.remaining().get(A100)).to.equal(0);
    });

    it('answers the largest count that fits for a partial (best-effort) grant', () => {
      const l = ledger(2);
      expect(l.fit(candidate(`${A100}:2g.10gb`, 10), 10)).to.equal(6);
      expect(l.fit(candidate(`${A100}:1g.5gb`, 20), 20)).to.equal(14);
    });

    it('counts reserved instances (services under another policy) against the GPUs', () => {
      const l = ledger(1, [[`${A100}:4g.20gb`, 1]]);
      expect(l.fit(candidate(`${A100}:4g.20gb`, 1), 1)).to.equal(0);
      expect(l.fit(candidate(`${A100}:2g.10gb`, 2), 2)).to.equal(1);
    });

    it('never fits an accelerator that is not a partition of the inventory', () => {
      expect(ledger(4).fit(candidate('L40S', 1), 1)).to.equal(0);
      expect(partitionLedger(new Map(), (n) => parts.get(n)).fit(candidate(`${A100}:1g.5gb`, 1), 1)).to.equal(0);
    });
  });
});
