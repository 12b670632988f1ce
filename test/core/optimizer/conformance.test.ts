/**
 * Conformance with Inferno's published Gen 2 solutions (notes/inferno.md §6, §11, §12; MANIFEST.json): for each
 * dataset our solution equals solution-data.json per server (accelerator, numReplicas, maxBatch, cost exactly;
 * itlAverage and ttftAverage within 1e-3 relative), accepting the MANIFEST-listed cost ties, and the total cost
 * equals the published sum.
 */
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SsisError } from '../../../core/errors';
import { indexSystem } from '../../../core/optimizer/allocation';
import { loadInfernoSystem, parseSolutionData, type AllocationData } from '../../../core/optimizer/data';
import { buildCandidates, solve } from '../../../core/optimizer/solver';

const REF = join(__dirname, '../../../../shared/reference/inferno');
const REL_TOL = 1e-3;

interface ManifestEntry { dir: string; gen?: number; expected?: unknown; ties?: string[] }

const DATASETS: { dir: string; total: number; matched: number }[] = [
  { dir: 'sample-data/small', total: 39743, matched: 15 },
  { dir: 'sample-data/large', total: 27007, matched: 26 },
  { dir: 'sample-data@55bc1b7/small', total: 44464, matched: 15 },
  { dir: 'sample-data@55bc1b7/large', total: 25571, matched: 27 },
];

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}

function loadInputs(dir: string, opts: { system?: boolean } = {}): Record<string, unknown> {
  const files: Record<string, unknown> = {};
  for (const f of readdirSync(join(REF, dir))) {
    if (f === 'solution-data.json') continue;
    if ((f === 'system-data.json') !== (opts.system === true)) continue;
    files[f] = readJson(join(REF, dir, f));
  }
  return files;
}

const relErr = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

function sameRow(got: AllocationData | undefined, exp: AllocationData): boolean {
  return got !== undefined && got.accelerator === exp.accelerator && got.numReplicas === exp.numReplicas && got.maxBatch === exp.maxBatch &&
    got.cost === exp.cost && relErr(got.itlAverage, exp.itlAverage) <= REL_TOL && relErr(got.ttftAverage, exp.ttftAverage) <= REL_TOL;
}

const available = existsSync(join(REF, 'MANIFEST.json'));

(available ? describe : describe.skip)('Inferno conformance (Gen 2 published solutions)', () => {
  const manifest = available ? (readJson(join(REF, 'MANIFEST.json')) as { datasets: ManifestEntry[] }) : { datasets: [] };

  for (const ds of DATASETS) {
    describe(ds.dir, () => {
      const entry = manifest.datasets.find((d) => d.dir === ds.dir);
      const ties = new Set((entry?.ties ?? []).map((t) => t.split(':')[0]!.trim()));
      const system = loadInfernoSystem(loadInputs(ds.dir));
      const solution = solve(system);
      const expected = parseSolutionData(readJson(join(REF, ds.dir, 'solution-data.json')));

      it('is a Gen 2 dataset with a published solution', () => {
        expect(entry?.gen).to.equal(2);
        expect(entry?.expected).to.equal('solution-data.json');
      });

      it('matches every server, ties by cost', () => {
        let exact = 0;
        const mismatches: string[] = [];
        for (const [name, exp] of Object.entries(expected)) {
          const got = solution.data.allocations[name];
          if (sameRow(got, exp)) {
            exact++;
            continue;
          }
          if (ties.has(name) && got !== undefined && got.cost === exp.cost) {
            // The published pick must be one of our candidates with the same value, and match exactly.
            const cands = buildCandidates(indexSystem(system)).find((c) => c.server.name === name)!.candidates;
            const ours = cands.find((c) => c.alloc.accelerator === got.accelerator)!;
            const theirs = cands.find((c) => c.alloc.accelerator === exp.accelerator);
            expect(theirs, `${name}: published tie candidate ${exp.accelerator}`).to.not.equal(undefined);
            expect(theirs!.alloc.value).to.equal(ours.alloc.value);
            expect(theirs!.alloc.numReplicas).to.equal(exp.numReplicas);
            expect(theirs!.alloc.batchSize).to.equal(exp.maxBatch);
            expect(relErr(theirs!.alloc.itl, exp.itlAverage)).to.be.at.most(REL_TOL);
            expect(relErr(theirs!.alloc.ttft, exp.ttftAverage)).to.be.at.most(REL_TOL);
            continue;
          }
          mismatches.push(`${name}: expected ${JSON.stringify(exp)}, got ${JSON.stringify(got)}`);
        }
        expect(mismatches).to.deep.equal([]);
        expect(exact).to.equal(ds.matched);
        expect(Object.keys(solution.data.allocations).sort()).to.deep.equal(Object.keys(expected).sort());
        expect(solution.unallocated).to.deep.equal([]);
      });

      it(`totals ${ds.total} like the published file`, () => {
        const published = Object.values(expected).reduce((s, a) => s + a.cost, 0);
        expect(published).to.equal(ds.total);
        expect(solution.totalCost).to.equal(ds.total);
      });
    });
  }

  for (const [dir, gen] of [['sample-data@849e1e8/small', 'Gen 1'], ['sample-data@5e0e36e/small', 'Gen 0']] as const) {
    it(`${dir} (${gen} perf format) is refused, naming file and field`, () => {
      if (!existsSync(join(REF, dir))) return;
      try {
        loadInfernoSystem(loadInputs(dir));
        expect.fail('should refuse');
      } catch (e) {
        const issues = (e as SsisError).issues;
        expect((e as SsisError).code).to.equal('SSIS_INVALID_CONFIG');
        expect(issues[0]!.field).to.equal('model-data.json:models[0].perfParms');
        expect(issues[0]!.message).to.contain(gen);
      }
    });
  }

  for (const dir of ['sample-data/small', 'sample-data@55bc1b7/small']) {
    it(`${dir}/system-data.json (PriorityRoundRobin) gives the same solution`, () => {
      const system = loadInfernoSystem(loadInputs(dir, { system: true }));
      expect(system.optimizer.saturationPolicy).to.equal('PriorityRoundRobin');
      const fromSystem = solve(system);
      const fromFiles = solve(loadInfernoSystem(loadInputs(dir)));
      expect(fromSystem.data).to.deep.equal(fromFiles.data);
    });
  }
});
