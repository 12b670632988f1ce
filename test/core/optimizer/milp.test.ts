import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { indexSystem, type Allocation, type SystemIndex } from '../../../core/optimizer/allocation';
import { type AcceleratorSpec, type InfernoSystem, type ModelPerfSpec, type ServerSpec } from '../../../core/optimizer/data';
import { buildMilpModel, solveMilp, type MilpOptions } from '../../../core/optimizer/milp';
import type { LpSolver } from '../../../core/ports/lp-solver';
import { loadHighsSolver } from '../../../infra/solver/highs';
import { loadInfernoFolder } from '../../../infra/optimizer/inferno-files';
import { buildCandidates, solve, type ServerCandidates } from '../../../core/optimizer/solver';

const REF = join(__dirname, '../../../../shared/reference/inferno');
const available = existsSync(join(REF, 'sample-data/large'));

function loadDataset(dir: string): InfernoSystem {
  return loadInfernoFolder(join(REF, dir), { includeSystemData: false });
}

// ---- hand-made 2 servers × 2 accelerators (A: 10 ¢/h, B: 25 ¢/h; 1 card each) ----
const accSpec = (name: string, cost: number): AcceleratorSpec => ({
  name, type: name, multiplicity: 1, memSize: 0, memBW: 0, power: { idle: 0, full: 0, midPower: 0, midUtil: 0 }, cost,
});
const perf = (acc: string): ModelPerfSpec => ({ name: 'm', acc, accCount: 1, maxBatchSize: 8, atTokens: 128, perfParms: { alpha: 1, beta: 1, gamma: 1 } });
const server = (name: string, arrivalRate: number): ServerSpec => {
  const a = { accelerator: '', numReplicas: 0, maxBatch: 0, cost: 0, itlAverage: 0, ttftAverage: 0, load: { arrivalRate, avgInTokens: 128, avgOutTokens: 128 } };
  return { name, class: 'C', model: 'm', keepAccelerator: false, minNumReplicas: 0, maxBatchSize: 0, currentAlloc: a, desiredAlloc: a };
};
const alloc = (accelerator: string, numReplicas: number, cost: number, ratePerMs: number): Allocation => ({
  accelerator, numReplicas, batchSize: 8, cost, value: cost, itl: 10, ttft: 100, rho: 0.5, maxArrvRatePerReplica: ratePerMs,
});
function toyIndex(capacity: Record<string, number>): SystemIndex {
  return {
    system: {} as InfernoSystem,
    accelerators: new Map([['A', accSpec('A', 10)], ['B', accSpec('B', 25)]]),
    perf: new Map([['m', new Map([['A', perf('A')], ['B', perf('B')]])]]),
    serviceClasses: new Map(),
    capacity: new Map(Object.entries(capacity)),
  };
}
/** s1: 60 req/min = 0.001 req/ms → A×3 (30) or B×1 (25); s2: 120 req/min → A×4 (40) or B×2 (50). */
const toyEntries: ServerCandidates[] = [
  { server: server('s1', 60), priority: 1, candidates: [{ alloc: alloc('A', 3, 30, 0.0004), accType: 'A', unitsPerReplica: 1 }, { alloc: alloc('B', 1, 25, 0.001), accType: 'B', unitsPerReplica: 1 }] },
  { server: server('s2', 120), priority: 1, candidates: [{ alloc: alloc('A', 4, 40, 0.0005), accType: 'A', unitsPerReplica: 1 }, { alloc: alloc('B', 2, 50, 0.001), accType: 'B', unitsPerReplica: 1 }] },
];
const summary = (m: ReadonlyMap<string, readonly Allocation[]>) => Object.fromEntries([...m].map(([k, as]) => [k, as.map((a) => `${a.accelerator}x${a.numReplicas}@${a.cost}`).join('+')]));

describe('optimizer/milp (HiGHS)', function () {
  this.timeout(60_000);
  let solver: LpSolver;
  before(async () => {
    solver = await loadHighsSolver();
  });
  const opts = (mode: MilpOptions['mode'], limited: boolean): MilpOptions => ({ mode, limited, mipRelGap: 0 });

  describe('hand-made 2 servers × 2 accelerators', () => {
    it('SINGLE unlimited: each server its cheapest (s1→B, s2→A), total 65', () => {
      const sol = solveMilp(toyIndex({}), toyEntries, solver, opts('single', false));
      expect(sol.status).to.equal('optimal');
      expect(summary(sol.allocations)).to.deep.equal({ s1: 'Bx1@25', s2: 'Ax4@40' });
      expect(sol.totalCost).to.equal(65);
      expect(sol.objective).to.equal(65);
    });

    it('SINGLE limited A:3 B:2 → optimum 80 (s1→A×3, s2→B×2)', () => {
      const sol = solveMilp(toyIndex({ A: 3, B: 2 }), toyEntries, solver, opts('single', true));
      expect(summary(sol.allocations)).to.deep.equal({ s1: 'Ax3@30', s2: 'Bx2@50' });
      expect(sol.totalCost).to.equal(80);
    });

    it('MULTI limited A:2 B:3 → 70 with s2 split over A×2 + B×1 (SINGLE: 75); every (i,j) with r>0 reported', () => {
      const single = solveMilp(toyIndex({ A: 2, B: 3 }), toyEntries, solver, opts('single', true));
      expect(single.totalCost).to.equal(75);
      const multi = solveMilp(toyIndex({ A: 2, B: 3 }), toyEntries, solver, opts('multi', true));
      expect(multi.status).to.equal('optimal');
      expect(summary(multi.allocations)).to.deep.equal({ s1: 'Bx1@25', s2: 'Ax2@20+Bx1@25' });
      expect(multi.totalCost).to.equal(70);
      expect(multi.cardsByType.get('A')).to.equal(2);
      expect(multi.cardsByType.get('B')).to.equal(2);
    });

    it('writes the §5.3 model in LP format', () => {
      const m = buildMilpModel(toyIndex({ A: 3, B: 2 }), toyEntries, opts('single', true));
      expect(m.lp).to.match(/Minimize\n obj: {2}30 x0_0 \+ 25 x0_1 \+ 40 x1_0 \+ 50 x1_1/);
      expect(m.lp).to.include(' d0:  1 x0_0 + 1 x0_1 = 1');
      expect(m.lp).to.include(' c0:  3 x0_0 + 4 x1_0 <= 3');
      expect(m.lp).to.include('Binary');
      const mm = buildMilpModel(toyIndex({}), toyEntries, opts('multi', false));
      expect(mm.lp).to.include(' d1:  30 r1_0 + 60 r1_1 >= 120'); // req/min scaling
      expect(mm.lp).to.include('General');
      expect(mm.lp).not.to.include(' c0:');
    });

    it('infeasible capacity (A:2 B:1): reports the unmet server, allocates the rest', () => {
      for (const mode of ['single', 'multi'] as const) {
        const sol = solveMilp(toyIndex({ A: 2, B: 1 }), toyEntries, solver, opts(mode, true));
        expect(sol.status, mode).to.equal('partial');
        expect(sol.unmet, mode).to.deep.equal(['s2']);
        expect(summary(sol.allocations), mode).to.deep.equal({ s1: 'Bx1@25' });
      }
    });

    it('a server without any feasible pair is unmet', () => {
      const entries = [...toyEntries, { server: server('s3', 60), priority: 1, candidates: [] }];
      const sol = solveMilp(toyIndex({}), entries, solver, opts('single', false));
      expect(sol.unmet).to.deep.equal(['s3']);
      expect(sol.totalCost).to.equal(65);
    });
  });

  (available ? describe : describe.skip)('sample data (Gen 2 HEAD)', () => {
    for (const ds of ['small', 'large']) {
      describe(ds, () => {
        const system = available ? loadDataset(`sample-data/${ds}`) : ({} as InfernoSystem);
        const index = available ? indexSystem(system) : ({} as SystemIndex);
        const entries = available ? buildCandidates(index) : [];

        it('unlimited SINGLE equals the Unlimited solver cost and is ≤ Greedy', () => {
          const milp = solveMilp(index, entries, solver, opts('single', false));
          expect(milp.status).to.equal('optimal');
          expect(milp.unmet).to.deep.equal(solve(system, { optimizer: { unlimited: true } }).unallocated);
          const unlimited = solve(system, { optimizer: { unlimited: true } }).totalCost;
          expect(milp.totalCost).to.be.closeTo(unlimited, 1e-6 * unlimited);
          expect(milp.objective).to.be.closeTo(unlimited, 1e-6 * unlimited); // maxRep_ij = candidate replicas here
          expect(milp.totalCost).to.be.at.most(solve(system).totalCost + 1e-6);
        });

        it('limited SINGLE respects capacity (cards per type)', () => {
          const milp = solveMilp(index, entries, solver, opts('single', true));
          expect(['optimal', 'partial']).to.include(milp.status);
          const used = new Map<string, number>();
          for (const [name, as] of milp.allocations) {
            const model = system.servers.find((s) => s.name === name)!.model;
            for (const a of as) {
              const acc = index.accelerators.get(a.accelerator)!;
              const accCount = Math.max(index.perf.get(model)!.get(acc.name)!.accCount, 1);
              used.set(acc.type, (used.get(acc.type) ?? 0) + a.numReplicas * accCount * acc.multiplicity);
            }
          }
          for (const [t, n] of used) expect(n, t).to.be.at.most(index.capacity.get(t) ?? 0);
          expect(Object.fromEntries(used)).to.deep.equal(Object.fromEntries(milp.cardsByType));
        });

        it('MULTI ≤ SINGLE (unlimited and limited)', () => {
          for (const limited of [false, true]) {
            const single = solveMilp(index, entries, solver, opts('single', limited));
            const multi = solveMilp(index, entries, solver, opts('multi', limited));
            expect(multi.unmet.length).to.be.at.most(single.unmet.length);
            if (multi.unmet.length === single.unmet.length) expect(multi.objective).to.be.at.most(single.objective + 1e-6);
          }
        });

        it('tiny capacity: names unmet servers and fits what it allocates', () => {
          const tiny: SystemIndex = { ...index, capacity: new Map([...index.capacity].map(([t, n]) => [t, Math.floor(n / 50)])) };
          const milp = solveMilp(tiny, entries, solver, opts('single', true));
          expect(milp.status).to.equal('partial');
          expect(milp.unmet.length).to.be.greaterThan(0);
          for (const [t, n] of milp.cardsByType) expect(n, t).to.be.at.most(tiny.capacity.get(t) ?? 0);
          expect(milp.allocations.size + milp.unmet.length).to.equal(system.servers.length);
        });
      });
    }
  });
});
