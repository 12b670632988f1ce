import { expect } from 'chai';
import { SsisError } from '../../../core/errors.js';
import { getGpuModel } from '../../../core/mig/geometry.js';
import {
  assertValidCluster,
  canPlace,
  occupiedMask,
  placeableStarts,
  placementBlocker,
  slotMask,
  validateCluster,
  validateGpu,
  type GeometryIssue,
} from '../../../core/mig/layout.js';
import { EIGHT_SLOT_MODELS, gpu, inst, roles } from './fixtures.js';

const A100 = 'A100-SXM4-40GB';

describe('core/mig/layout', () => {
  describe('slot masks', () => {
    it('sets one bit per memory slot of (start, size)', () => {
      expect(slotMask(0, 1)).to.equal(0b1);
      expect(slotMask(6, 2)).to.equal(0b1100_0000);
      expect(slotMask(4, 4)).to.equal(0b1111_0000);
      expect(slotMask(0, 8)).to.equal(0xff);
    });

    it('unions the slots of every instance, or of owned ones only', () => {
      const g = gpu(A100, [inst('2g.10gb', 0, 'r1'), inst('1g.5gb', 6)]);
      expect(occupiedMask(g)).to.equal(0b0100_0011);
      expect(occupiedMask(g, { ignoreFreeInstances: true })).to.equal(0b0000_0011);
    });
  });

  describe('placements on an empty GPU follow the tables exactly', () => {
    for (const modelName of [...EIGHT_SLOT_MODELS, 'A30-24GB']) {
      it(modelName, () => {
        const model = getGpuModel(modelName);
        const empty = gpu(modelName);
        for (const profile of model.profiles) {
          const everyStart = [-1, ...Array.from({ length: model.memorySlots + 1 }, (_, s) => s)];
          expect(everyStart.filter((s) => canPlace(empty, profile.name, s)), profile.name).to.deep.equal([...profile.starts]);
        }
      });
    }
  });

  for (const modelName of EIGHT_SLOT_MODELS) {
    describe(`worked example of §1.8 rule 8 on ${modelName}`, () => {
      const r = roles(modelName);

      it(`{2g@0, 1g@4} leaves 4 compute slices free yet blocks 3g, 4g and 7g`, () => {
        const g = gpu(modelName, [inst(r.g2, 0, 'a'), inst(r.g1, 4, 'b')]);
        expect(placeableStarts(g, r.g3)).to.deep.equal([]);
        expect(placeableStarts(g, r.g4)).to.deep.equal([]);
        expect(placeableStarts(g, r.g7)).to.deep.equal([]);
        expect(placeableStarts(g, r.g1)).to.deep.equal([2, 3, 5, 6]);
        expect(placeableStarts(g, r.s2)).to.deep.equal([2, 6]);
        expect(placeableStarts(g, r.g2)).to.deep.equal([2]);
      });

      it('{2g@4, 1g@6} keeps 3g@0 and 4g@0', () => {
        const g = gpu(modelName, [inst(r.g2, 4, 'a'), inst(r.g1, 6, 'b')]);
        expect(placeableStarts(g, r.g3)).to.deep.equal([0]);
        expect(placeableStarts(g, r.g4)).to.deep.equal([0]);
      });

      it('{1g@0, 1g@4} blocks 3g and 4g; {1g@5, 1g@6} does not', () => {
        const bad = gpu(modelName, [inst(r.g1, 0, 'a'), inst(r.g1, 4, 'b')]);
        expect(placeableStarts(bad, r.g3)).to.deep.equal([]);
        expect(placeableStarts(bad, r.g4)).to.deep.equal([]);
        const good = gpu(modelName, [inst(r.g1, 5, 'a'), inst(r.g1, 6, 'b')]);
        expect(placeableStarts(good, r.g3)).to.deep.equal([0]);
        expect(placeableStarts(good, r.g4)).to.deep.equal([0]);
      });
    });
  }

  describe('canPlace', () => {
    it('allows at most one +me instance per GPU, even of different profiles (A30)', () => {
      const a100 = gpu(A100, [inst('1g.5gb+me', 0, 'a')]);
      expect(canPlace(a100, '1g.5gb+me', 6)).to.equal(false);
      expect(canPlace(a100, '1g.5gb', 6)).to.equal(true);
      const a30 = gpu('A30-24GB', [inst('2g.12gb+me', 0, 'a')]);
      expect(canPlace(a30, '1g.6gb+me', 3)).to.equal(false);
      expect(placementBlocker(a30, '1g.6gb+me', 3)).to.contain('+me');
    });

    it('lets free instances block unless told to ignore them', () => {
      const g = gpu(A100, [inst('7g.40gb', 0)]);
      expect(canPlace(g, '3g.20gb', 0)).to.equal(false);
      expect(canPlace(g, '3g.20gb', 0, { ignoreFreeInstances: true })).to.equal(true);
    });

    it('explains a blocked placement with the slots and the instances in the way', () => {
      const g = gpu(A100, [inst('2g.10gb', 0, 'r1')]);
      expect(placementBlocker(g, '3g.20gb', 0)).to.equal('3g.20gb@0 on node-a/gpu0: memory slots 0, 1 taken by 2g.10gb@0 (owner r1)');
      expect(placementBlocker(g, '3g.20gb', 2)).to.contain('start 2 not allowed (allowed: 0, 4)');
    });

    it('treats the whole GPU as covering every slot', () => {
      const owned = gpu(A100, [inst('gpu', 0, 'r1')], { migEnabled: false });
      expect(placeableStarts(owned, '1g.5gb')).to.deep.equal([]);
      expect(canPlace(gpu(A100, [], { migEnabled: false }), 'gpu', 0)).to.equal(true);
      expect(canPlace(gpu(A100, [inst('1g.5gb', 6)]), 'gpu', 0)).to.equal(false);
    });
  });

  describe('validation', () => {
    const kinds = (issues: readonly GeometryIssue[]): string[] => issues.map((i) => i.kind);

    it('accepts a valid layout', () => {
      expect(validateGpu(gpu(A100, [inst('3g.20gb', 0, 'a'), inst('2g.10gb', 4), inst('1g.5gb', 6, 'b')]))).to.deep.equal([]);
    });

    it('names both instances, the GPU and the slots of an overlap', () => {
      const g = gpu(A100, [inst('2g.10gb', 4, 'a', 'big'), inst('1g.5gb', 0), inst('1g.5gb', 5, 'b', 'small')], { node: 'node-a', index: 1 });
      const issues = validateGpu(g);
      expect(kinds(issues)).to.deep.equal(['overlap']);
      const [issue] = issues;
      expect(issue?.field).to.equal('nodes[node-a].gpus[1].instances[2].start');
      expect(issue?.message).to.contain('node-a/gpu1');
      expect(issue?.message).to.contain('1g.5gb@5 (instances[2], id "small")');
      expect(issue?.message).to.contain('2g.10gb@4 (instances[0], id "big")');
      expect(issue?.message).to.contain('memory slots 5');
    });

    it('reports an unknown profile, a start not allowed and a second +me, each with its field', () => {
      const g = gpu(A100, [inst('5g.30gb', 0), inst('3g.20gb', 2), inst('1g.5gb+me', 0, 'a'), inst('1g.5gb+me', 1, 'b')], { index: 3 });
      const issues = validateGpu(g);
      const byKind = new Map(issues.map((i) => [i.kind, i]));
      expect(byKind.get('unknown-profile')?.field).to.equal('nodes[node-a].gpus[3].instances[0].profile');
      expect(byKind.get('unknown-profile')?.message).to.contain('5g.30gb');
      expect(byKind.get('start-not-allowed')?.field).to.equal('nodes[node-a].gpus[3].instances[1].start');
      expect(byKind.get('start-not-allowed')?.message).to.match(/node-a\/gpu3: 3g\.20gb@2 .*start 2 not allowed for 3g\.20gb \(allowed: 0, 4\)/);
      expect(byKind.get('media-extensions-limit')?.field).to.equal('nodes[node-a].gpus[3].instances[3].profile');
      // The second +me also exceeds the +me profile's maxCount of 1.
      expect(kinds(issues)).to.deep.equal(['unknown-profile', 'start-not-allowed', 'media-extensions-limit', 'max-count']);
    });

    it('reports an unknown GPU model', () => {
      const issues = validateGpu(gpu('V100-32GB', [inst('1g.5gb', 0)]));
      expect(issues).to.deep.equal([{ field: 'nodes[node-a].gpus[0].model', kind: 'unknown-gpu-model', message: 'node-a/gpu0: unknown GPU model "V100-32GB"' }]);
    });

    it('reports a profile that does not match the MIG mode', () => {
      expect(kinds(validateGpu(gpu(A100, [inst('gpu', 0, 'a')], { migEnabled: true })))).to.deep.equal(['mig-mode-mismatch']);
      expect(kinds(validateGpu(gpu(A100, [inst('1g.5gb', 0, 'a')], { migEnabled: false })))).to.deep.equal(['mig-mode-mismatch']);
    });

    it('reports duplicate instance ids and GPUs listed twice', () => {
      const g = gpu(A100, [inst('1g.5gb', 0, null, 'x'), inst('1g.5gb', 1, null, 'x')]);
      expect(kinds(validateGpu(g))).to.deep.equal(['duplicate-instance-id']);
      expect(kinds(validateCluster([gpu(A100), gpu(A100)]))).to.deep.equal(['duplicate-gpu']);
    });

    it('collects the violations of every GPU of a cluster', () => {
      const cluster = [gpu(A100, [inst('3g.20gb', 2)], { index: 0 }), gpu('H100-80GB', [inst('1g.5gb', 0)], { node: 'node-b', index: 2 })];
      expect(validateCluster(cluster).map((i) => i.field)).to.deep.equal([
        'nodes[node-a].gpus[0].instances[0].start',
        'nodes[node-b].gpus[2].instances[0].profile',
      ]);
    });

    it('throws SSIS_GEOMETRY_VIOLATION with every issue from assertValidCluster', () => {
      const cluster = [gpu(A100, [inst('4g.20gb', 0, 'a'), inst('3g.20gb', 2, 'b')], { index: 1 })];
      let error: unknown;
      try {
        assertValidCluster(cluster);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(SsisError);
      const ssis = error as SsisError;
      expect(ssis.code).to.equal('SSIS_GEOMETRY_VIOLATION');
      expect(ssis.httpStatus).to.equal(400);
      expect(ssis.issues.map((i) => i.field)).to.deep.equal(['nodes[node-a].gpus[1].instances[1].start', 'nodes[node-a].gpus[1].instances[1].start']);
      expect(ssis.message).to.contain('memory slots 2, 3');
      expect(() => assertValidCluster([gpu(A100, [inst('4g.20gb', 0, 'a'), inst('3g.20gb', 4, 'b')])])).not.to.throw();
    });
  });
});
