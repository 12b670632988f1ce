import { expect } from 'chai';
import { getGpuModel } from '../../../core/mig/geometry.js';
import { placeableStarts, validateGpu } from '../../../core/mig/layout.js';
import { feasiblePatterns, maximalPatterns, patternKey, patternProfiles, type LayoutPattern } from '../../../core/mig/patterns.js';
import { EIGHT_SLOT_MODELS, gpu, inst, roles, type Roles } from './fixtures.js';

type Role = keyof Roles;
/** A layout as explicit placements in §1.7's generic names. */
type GenericLayout = readonly (readonly [Role, number])[];

/** The 12 maximal layouts of §1.7 (without 2s), each with one hand-made placement. */
const TWELVE_MAXIMAL: readonly GenericLayout[] = [
  [['g7', 0]],
  [['g4', 0], ['g3', 4]],
  [['g4', 0], ['g2', 4], ['g1', 6]],
  [['g4', 0], ['g1', 4], ['g1', 5], ['g1', 6]],
  [['g3', 0], ['g3', 4]],
  [['g3', 4], ['g2', 0], ['g2', 2]],
  [['g3', 4], ['g2', 0], ['g1', 2], ['g1', 3]],
  [['g3', 4], ['g1', 0], ['g1', 1], ['g1', 2], ['g1', 3]],
  [['g2', 0], ['g2', 2], ['g2', 4], ['g1', 6]],
  [['g2', 0], ['g2', 2], ['g1', 4], ['g1', 5], ['g1', 6]],
  [['g2', 0], ['g1', 2], ['g1', 3], ['g1', 4], ['g1', 5], ['g1', 6]],
  [['g1', 0], ['g1', 1], ['g1', 2], ['g1', 3], ['g1', 4], ['g1', 5], ['g1', 6]],
];

/** The 16 extra maximal layouts of §1.7 once 2s is allowed, as role counts. */
const SIXTEEN_EXTRA: readonly Partial<Record<Role, number>>[] = [
  { g1: 6, s2: 1 },
  { g1: 4, s2: 2 },
  { g1: 4, s2: 1, g2: 1 },
  { g1: 2, s2: 3 },
  { g1: 2, s2: 2, g2: 1 },
  { g1: 2, s2: 1, g2: 2 },
  { g1: 2, s2: 1, g3: 1 },
  { g1: 2, s2: 1, g4: 1 },
  { s2: 4 },
  { s2: 3, g2: 1 },
  { s2: 2, g2: 2 },
  { s2: 2, g3: 1 },
  { s2: 2, g4: 1 },
  { s2: 1, g2: 3 },
  { s2: 1, g2: 1, g3: 1 },
  { s2: 1, g2: 1, g4: 1 },
];

function countsOf(layout: GenericLayout): Partial<Record<Role, number>> {
  const counts: Partial<Record<Role, number>> = {};
  for (const [role] of layout) counts[role] = (counts[role] ?? 0) + 1;
  return counts;
}

function named(r: Roles, counts: Partial<Record<Role, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([role, n]) => [r[role as Role], n]));
}

function keysOf(model: string, patterns: readonly LayoutPattern[]): string[] {
  const order = getGpuModel(model).profiles.map((p) => p.name);
  return patterns.map((p) => patternKey(p.counts, order)).sort();
}

function keysOfCounts(model: string, counts: readonly Record<string, number>[]): string[] {
  const order = getGpuModel(model).profiles.map((p) => p.name);
  return counts.map((c) => patternKey(c, order)).sort();
}

describe('core/mig/patterns: valid whole-GPU layouts of §1.7', () => {
  for (const model of EIGHT_SLOT_MODELS) {
    describe(model, () => {
      const r = roles(model);

      it('counts 38 feasible multisets without the two-slot 1g and 78 with it (empty included, no +me)', () => {
        expect(feasiblePatterns(model, { includeTwoSlotOneG: false })).to.have.length(38);
        expect(feasiblePatterns(model)).to.have.length(78);
      });

      it('finds exactly the 12 maximal layouts of §1.7 without the two-slot 1g', () => {
        const expected = keysOfCounts(model, TWELVE_MAXIMAL.map((l) => named(r, countsOf(l))));
        expect(keysOf(model, maximalPatterns(model, { includeTwoSlotOneG: false }))).to.deep.equal(expected);
      });

      it('finds the 28 maximal layouts with it: the 12 plus the 16 extra of §1.7', () => {
        const expected = keysOfCounts(model, [...TWELVE_MAXIMAL.map((l) => named(r, countsOf(l))), ...SIXTEEN_EXTRA.map((c) => named(r, c))]);
        expect(keysOf(model, maximalPatterns(model))).to.deep.equal(expected);
      });

      TWELVE_MAXIMAL.forEach((layout, i) => {
        it(`layout ${i + 1} (${layout.map(([role, start]) => `${role}@${start}`).join(' + ')}) is valid and one more instance of any profile does not fit`, () => {
          const g = gpu(model, layout.map(([role, start], k) => inst(r[role], start, `replica-${k}`)));
          expect(validateGpu(g)).to.deep.equal([]);
          for (const profile of getGpuModel(model).profiles) expect(placeableStarts(g, profile.name), profile.name).to.deep.equal([]);
        });
      });

      it('gives each feasible multiset a witness placement that validates', () => {
        for (const pattern of feasiblePatterns(model)) {
          const g = gpu(model, pattern.placement.map((p, k) => inst(p.profile, p.start, `replica-${k}`)));
          expect(validateGpu(g), JSON.stringify(pattern.counts)).to.deep.equal([]);
        }
      });

      it('never needs more than 7 compute slices: overlap alone decides feasibility (§0 fact 3)', () => {
        const profiles = new Map(patternProfiles(model).map((p) => [p.name, p]));
        for (const pattern of feasiblePatterns(model)) {
          const compute = Object.entries(pattern.counts).reduce((sum, [name, n]) => sum + n * (profiles.get(name)?.shape.computeSlices ?? Infinity), 0);
          expect(compute, JSON.stringify(pattern.counts)).to.be.at.most(7);
        }
      });
    });
  }

  describe('A30-24GB', () => {
    it('has the 4 maximal layouts 4g; 2g + 1g×2; 2g×2; 1g×4', () => {
      const expected = keysOfCounts('A30-24GB', [{ '4g.24gb': 1 }, { '2g.12gb': 1, '1g.6gb': 2 }, { '2g.12gb': 2 }, { '1g.6gb': 4 }]);
      expect(keysOf('A30-24GB', maximalPatterns('A30-24GB'))).to.deep.equal(expected);
    });
  });

  it('allows at most one +me per multiset when +me profiles are included', () => {
    const withMe = feasiblePatterns('A30-24GB', { includeMediaExtensions: true });
    for (const pattern of withMe) {
      const me = Object.entries(pattern.counts).filter(([name]) => name.endsWith('+me')).reduce((sum, [, n]) => sum + n, 0);
      expect(me).to.be.at.most(1);
    }
    expect(withMe.some((p) => p.counts['2g.12gb+me'] === 1 && p.counts['2g.12gb'] === 1)).to.equal(true);
  });
});
