import { expect } from 'chai';
import { SsisError } from '../../../core/errors.js';
import { firstFit, type FirstFitRequest } from '../../../core/mig/first-fit.js';
import { gpuFragmentation } from '../../../core/mig/fragmentation.js';
import { getGpuModel } from '../../../core/mig/geometry.js';
import { cloneGpu, validateCluster, type GpuState } from '../../../core/mig/layout.js';
import { feasiblePatterns, patternKey } from '../../../core/mig/patterns.js';
import { deepFreeze, gpu, inst } from './fixtures.js';

const A100 = 'A100-SXM4-40GB';

function request(profile: string, count: number, extra: Partial<FirstFitRequest> = {}): FirstFitRequest {
  return { profile, count, ownerIds: Array.from({ length: count }, (_, i) => `r${i + 1}`), ...extra };
}

/** Runs first-fit on a frozen input and checks the input is untouched and the output valid. */
function run(gpus: GpuState[], req: FirstFitRequest): ReturnType<typeof firstFit> {
  const before = gpus.map(cloneGpu);
  const result = firstFit(deepFreeze(gpus), req);
  expect(gpus, 'input unchanged').to.deep.equal(before);
  expect(validateCluster(result.gpus), 'output valid').to.deep.equal([]);
  return result;
}

describe('core/mig/first-fit', () => {
  it('reuses a free instance of exactly the requested profile before creating one', () => {
    const gpus = [gpu(A100, [], { index: 0 }), gpu(A100, [inst('1g.5gb', 3, null, 'kept-id')], { index: 1 })];
    const result = run(gpus, request('1g.5gb', 1));
    expect(result.placements).to.deep.equal([
      { node: 'node-a', gpuIndex: 1, gpuModel: A100, profile: '1g.5gb', start: 3, instanceId: 'kept-id', owner: 'r1', reused: true },
    ]);
    expect(result.destroyed).to.deep.equal([]);
    expect(result.gpus[1]?.instances[0]?.owner).to.equal('r1');
    expect(result.unplaced).to.equal(0);
    expect(result.reason).to.equal(undefined);
  });

  it('prefers the highest start for profiles under 4 memory slots and the lowest otherwise', () => {
    const cases: readonly (readonly [string, number])[] = [
      ['1g.5gb', 6],
      ['1g.10gb', 6],
      ['2g.10gb', 4],
      ['3g.20gb', 0],
      ['4g.20gb', 0],
      ['7g.40gb', 0],
    ];
    for (const [profile, start] of cases) {
      const [placement] = run([gpu(A100)], request(profile, 1)).placements;
      expect(placement?.start, profile).to.equal(start);
      expect(placement?.instanceId).to.equal(`node-a/gpu0/${profile}@${start}`);
      expect(placement?.reused).to.equal(false);
    }
  });

  it('fills small profiles from the high end, keeping 3g@0 and 4g@0 placeable', () => {
    const result = run([gpu(A100)], request('1g.5gb', 3));
    expect(result.placements.map((p) => p.start)).to.deep.equal([6, 5, 4]);
    const after = result.gpus[0];
    expect(after && gpuFragmentation(after).largestPlaceableProfile).to.equal('4g.20gb');
  });

  it('never touches owned instances and destroys only the free ones in the way', () => {
    const gpus = [gpu(A100, [inst('2g.10gb', 4, 'owner-x'), inst('3g.20gb', 0)])];
    const result = run(gpus, request('1g.5gb', 1));
    // 1g@6 is clear; the free 3g stays.
    expect(result.placements[0]?.start).to.equal(6);
    expect(result.destroyed).to.deep.equal([]);

    const big = run(gpus, request('4g.20gb', 1));
    expect(big.placements[0]?.start).to.equal(0);
    expect(big.destroyed).to.deep.equal([{ node: 'node-a', gpuIndex: 0, instanceId: 'node-a/gpu0/3g.20gb@0', profile: '3g.20gb', start: 0 }]);
    expect(big.gpus[0]?.instances.map((i) => [i.profile, i.start, i.owner])).to.deep.equal([
      ['4g.20gb', 0, 'r1'],
      ['2g.10gb', 4, 'owner-x'],
    ]);
  });

  it('replaces a free whole-GPU layout (e.g. all-7g) by the requested profile', () => {
    const result = run([gpu(A100, [inst('7g.40gb', 0)])], request('3g.20gb', 2));
    expect(result.placements.map((p) => p.start)).to.deep.equal([0, 4]);
    expect(result.destroyed.map((d) => d.profile)).to.deep.equal(['7g.40gb']);
  });

  it('scans GPUs in (node, index) order whatever the input order', () => {
    const gpus = [
      gpu(A100, [inst('7g.40gb', 0, 'busy')], { node: 'node-b', index: 0 }),
      gpu(A100, [], { node: 'node-b', index: 1 }),
      gpu(A100, [], { node: 'node-a', index: 2 }),
      gpu(A100, [], { node: 'node-a', index: 1 }),
    ];
    const result = run(gpus, request('4g.20gb', 3));
    expect(result.placements.map((p) => `${p.node}/gpu${p.gpuIndex}`)).to.deep.equal(['node-a/gpu1', 'node-a/gpu2', 'node-b/gpu1']);
    expect(result.gpus.map((g) => `${g.node}/gpu${g.index}`)).to.deep.equal(gpus.map((g) => `${g.node}/gpu${g.index}`));
  });

  it('places only on acceptable GPU models, with each model’s own geometry for a name', () => {
    const gpus = [gpu(A100, [], { index: 0 }), gpu('H100-80GB', [], { index: 1 })];
    // '1g.10gb' is the TWO-slot 1g on A100-40GB but the one-slot 1g on H100 (§1.2, §1.4).
    const anywhere = run(gpus, request('1g.10gb', 1));
    expect(anywhere.placements[0]).to.include({ gpuIndex: 0, gpuModel: A100, start: 6 });
    const h100Only = run(gpus, request('1g.10gb', 1, { gpuModels: ['H100-80GB'] }));
    expect(h100Only.placements[0]).to.include({ gpuIndex: 1, gpuModel: 'H100-80GB', start: 6 });
    expect(h100Only.gpus[1]?.instances).to.have.length(1);
  });

  it('gives a whole GPU only where nothing is owned, disabling MIG and destroying free instances', () => {
    const gpus = [gpu(A100, [inst('1g.5gb', 6, 'someone')], { index: 0 }), gpu(A100, [inst('2g.10gb', 0), inst('1g.5gb', 6)], { index: 1 })];
    const result = run(gpus, request('gpu', 1));
    expect(result.placements[0]).to.deep.equal({
      node: 'node-a',
      gpuIndex: 1,
      gpuModel: A100,
      profile: 'gpu',
      start: 0,
      instanceId: 'node-a/gpu1/gpu@0',
      owner: 'r1',
      reused: false,
    });
    expect(result.destroyed.map((d) => d.instanceId)).to.deep.equal(['node-a/gpu1/2g.10gb@0', 'node-a/gpu1/1g.5gb@6']);
    expect(result.migModeChanges).to.deep.equal([{ node: 'node-a', gpuIndex: 1, migEnabled: false }]);
    expect(result.gpus[1]).to.include({ migEnabled: false });
  });

  it('enables MIG on an unowned MIG-disabled GPU and reports the mode change', () => {
    const result = run([gpu(A100, [], { migEnabled: false })], request('3g.20gb', 1));
    expect(result.placements[0]?.start).to.equal(0);
    expect(result.migModeChanges).to.deep.equal([{ node: 'node-a', gpuIndex: 0, migEnabled: true }]);
  });

  it('does not place a +me instance next to an owned +me', () => {
    const gpus = [gpu(A100, [inst('1g.5gb+me', 0, 'a')], { index: 0 }), gpu(A100, [], { index: 1 })];
    expect(run(gpus, request('1g.5gb+me', 1)).placements[0]).to.include({ gpuIndex: 1, start: 6 });
  });

  it('reports what it cannot place, with a reason, and keeps what it could', () => {
    const result = run([gpu(A100, [inst('3g.20gb', 4, 'a')])], request('3g.20gb', 3));
    expect(result.placements).to.have.length(1);
    expect(result.unplaced).to.equal(2);
    expect(result.reason).to.contain('2 of 3 3g.20gb replica(s) unplaced');
    expect(result.reason).to.contain('node-a/gpu0');
  });

  it('reports a profile no acceptable GPU offers', () => {
    const result = run([gpu('H100-80GB')], request('1g.5gb', 1));
    expect(result.unplaced).to.equal(1);
    expect(result.reason).to.contain('no GPU of any model offers profile 1g.5gb');
  });

  it('leaves the proposal case unplaced: free 2/7 + 1/7 fragments cannot host a 3g (the optimal planner repartitions)', () => {
    // Owned 2g@0, 1g@4, 1g@5 pin slots 0,1,4,5; the free fragments are 2g@2 (2/7) and 1g@6 (1/7).
    const fragmented = gpu(A100, [inst('2g.10gb', 0, 'svc-a'), inst('2g.10gb', 2), inst('1g.5gb', 4, 'svc-b'), inst('1g.5gb', 5, 'svc-c'), inst('1g.5gb', 6)]);
    expect(gpuFragmentation(fragmented, { ignoreFreeInstances: true })).to.include({ freeComputeSlices: 3, largePlacements: 0 });

    const result = run([fragmented], request('3g.20gb', 1));
    expect(result.placements).to.deep.equal([]);
    expect(result.destroyed).to.deep.equal([]);
    expect(result.unplaced).to.equal(1);
    expect(result.gpus).to.deep.equal([fragmented]);
    expect(result.reason).to.contain('3g.20gb@0 on node-a/gpu0: memory slots 0, 1 taken by 2g.10gb@0 (owner svc-a)');
    expect(result.reason).to.contain('3g.20gb@4 on node-a/gpu0: memory slots 4, 5 taken by 1g.5gb@4 (owner svc-b), 1g.5gb@5 (owner svc-c)');

    // Yet the demand fits one GPU once repartitioned: 3g + 2g + 1g×2 is a maximal layout (§1.7).
    const order = getGpuModel(A100).profiles.map((p) => p.name);
    const keys = new Set(feasiblePatterns(A100).map((p) => patternKey(p.counts, order)));
    expect(keys.has(patternKey({ '1g.5gb': 2, '2g.10gb': 1, '3g.20gb': 1 }, order))).to.equal(true);
  });

  it('rejects a request whose owner ids do not match the count, and an invalid layout', () => {
    expect(() => firstFit([gpu(A100)], { profile: '1g.5gb', count: 2, ownerIds: ['only-one'] })).to.throw(SsisError, /owner ids/);
    let error: unknown;
    try {
      firstFit([gpu(A100, [inst('3g.20gb', 2, 'a')])], request('1g.5gb', 1));
    } catch (e) {
      error = e;
    }
    expect((error as SsisError).code).to.equal('SSIS_GEOMETRY_VIOLATION');
  });

  it('is deterministic', () => {
    const gpus = [gpu(A100, [inst('2g.10gb', 0, 'x')], { index: 0 }), gpu('H200-141GB', [], { index: 1 })];
    expect(run(gpus, request('1g.5gb', 4))).to.deep.equal(run(gpus, request('1g.5gb', 4)));
  });
});
