import { expect } from 'chai';
import type { AnalysisMetrics, AnalyzerConfig, LlmAnalyzer } from '../../../core/optimizer/analyzer';
import { indexSystem, type Allocation } from '../../../core/optimizer/allocation';
import type { InfernoSystem, SaturationPolicy, ServerSpec } from '../../../core/optimizer/data';
import type { Candidate } from '../../../core/optimizer/capacity-ledger';
import { buildCandidates, MAX_FLOAT32, solve, solveGreedy, solveUnlimited, type ServerCandidates } from '../../../core/optimizer/solver';

const alloc = (accelerator: string, numReplicas: number, cost: number, value = cost): Allocation => ({
  accelerator, numReplicas, batchSize: 8, cost, value, itl: 10, ttft: 100, rho: 0.5, maxArrvRatePerReplica: 0.001,
});
/** Candidate on accelerator `acc` of card type `type` (default: same as acc), `units` cards per replica. */
const cand = (acc: string, replicas: number, cost: number, opts: { type?: string; units?: number; value?: number } = {}): Candidate => ({
  alloc: alloc(acc, replicas, cost, opts.value ?? cost), accType: opts.type ?? acc, unitsPerReplica: opts.units ?? 1,
});
const srv = (name: string): ServerSpec => {
  const load = { arrivalRate: 60, avgInTokens: 128, avgOutTokens: 1024 };
  const a = { accelerator: '', numReplicas: 0, maxBatch: 0, cost: 0, itlAverage: 0, ttftAverage: 0, load };
  return { name, class: 'C', model: 'm', keepAccelerator: false, minNumReplicas: 0, maxBatchSize: 0, currentAlloc: a, desiredAlloc: a };
};
const entry = (name: string, priority: number, candidates: Candidate[]): ServerCandidates => ({ server: srv(name), priority, candidates });
const cap = (o: Record<string, number>) => new Map(Object.entries(o));
const greedy = (entries: ServerCandidates[], capacity: Record<string, number>, saturationPolicy: SaturationPolicy = 'None', delayedBestEffort = false) =>
  solveGreedy(entries, cap(capacity), { saturationPolicy, delayedBestEffort });
const summary = (m: Map<string, Allocation>) => Object.fromEntries([...m].map(([k, a]) => [k, `${a.accelerator}x${a.numReplicas}@${a.cost}`]));

describe('optimizer/solver', () => {
  describe('Unlimited', () => {
    it('takes the minimum-value candidate; first in accelerator order on ties; none without candidates', () => {
      const out = solveUnlimited([
        entry('a', 1, [cand('A', 2, 50), cand('B', 1, 40), cand('C', 3, 45)]),
        entry('b', 1, [cand('MI300X', 2, 130), cand('2xMI300X', 1, 130)]),
        entry('c', 1, []),
      ]);
      expect(summary(out)).to.deep.equal({ a: 'Bx1@40', b: 'MI300Xx2@130' });
    });

    it('ranks by value (transition penalty), not raw cost', () => {
      expect(summary(solveUnlimited([entry('a', 1, [cand('A', 2, 50, { value: 0 }), cand('B', 1, 40, { value: 44 })])]))).to.deep.equal({ a: 'Ax2@50' });
    });
  });

  describe('Greedy allocate', () => {
    it('gives everyone the best candidate when capacity suffices; capacity counted in cards', () => {
      const input = cap({ A: 10 });
      const { allocations, available } = solveGreedy([entry('a', 1, [cand('A', 2, 20, { units: 2 })]), entry('b', 2, [cand('A', 3, 30, { units: 2 })])], input, { saturationPolicy: 'None', delayedBestEffort: false });
      expect(summary(allocations)).to.deep.equal({ a: 'Ax2@20', b: 'Ax3@30' });
      expect(available.get('A')).to.equal(0);
      expect(input.get('A')).to.equal(10);
    });

    it('priority comes first', () => {
      const { allocations } = greedy([
        entry('low', 2, [cand('A', 4, 10), cand('B', 4, 1000)]),
        entry('high', 1, [cand('A', 4, 10), cand('B', 4, 11)]),
      ], { A: 4, B: 8 });
      expect(summary(allocations)).to.deep.equal({ high: 'Ax4@10', low: 'Bx4@1000' });
    });

    it('within a priority, larger regret (delta) first; then larger current value', () => {
      expect(summary(greedy([
        entry('s1', 1, [cand('A', 4, 10), cand('B', 4, 11)]),
        entry('s2', 1, [cand('A', 4, 10), cand('B', 4, 50)]),
      ], { A: 4, B: 8 }).allocations)).to.deep.equal({ s2: 'Ax4@10', s1: 'Bx4@11' });
      expect(summary(greedy([
        entry('s1', 1, [cand('A', 4, 10), cand('B', 4, 20)]),
        entry('s2', 1, [cand('A', 4, 30), cand('B', 4, 40)]),
      ], { A: 4, B: 8 }).allocations)).to.deep.equal({ s2: 'Ax4@30', s1: 'Bx4@20' });
      // full tie: server-data order
      expect(summary(greedy([entry('s1', 1, [cand('A', 4, 10)]), entry('s2', 1, [cand('A', 4, 10)])], { A: 4 }).allocations)).to.deep.equal({ s1: 'Ax4@10' });
    });

    it('a server that does not fit moves to its next candidate and is re-inserted by its new delta', () => {
      // s1 goes first (delta 40) but A is full; at B its delta is 1 < s2's 10, so s2 takes B first.
      expect(summary(greedy([
        entry('s1', 1, [cand('A', 4, 10), cand('B', 4, 50), cand('C', 4, 51)]),
        entry('s2', 1, [cand('B', 4, 20), cand('C', 4, 30)]),
      ], { A: 0, B: 4, C: 8 }).allocations)).to.deep.equal({ s2: 'Bx4@20', s1: 'Cx4@51' });
      // the last remaining candidate gets delta MaxFloat32 and goes to the head of its group
      expect(MAX_FLOAT32).to.equal(Math.fround(MAX_FLOAT32));
      expect(summary(greedy([
        entry('s1', 1, [cand('A', 4, 10), cand('B', 4, 1000)]),
        entry('s2', 1, [cand('B', 4, 20), cand('C', 4, 500)]),
      ], { A: 0, B: 4, C: 8 }).allocations)).to.deep.equal({ s1: 'Bx4@1000', s2: 'Cx4@500' });
    });

    it('None: servers whose candidates all fail get nothing', () => {
      const { allocations } = greedy([entry('big', 1, [cand('A', 6, 60)]), entry('small', 1, [cand('A', 3, 30)])], { A: 5 });
      expect(summary(allocations)).to.deep.equal({ small: 'Ax3@30' });
    });

    it('drops the zero-load "" allocation (Inferno skips unknown accelerators) while Unlimited keeps it', () => {
      const zero: Candidate = { alloc: alloc('', 0, 0), accType: undefined, unitsPerReplica: 0 };
      expect(summary(greedy([entry('z', 1, [zero])], { A: 5 }, 'RoundRobin').allocations)).to.deep.equal({});
      expect(summary(solveUnlimited([entry('z', 1, [zero])]))).to.deep.equal({ z: 'x0@0' });
    });
  });

  describe('Greedy best effort (saturation policies)', () => {
    // big (value 80, 8 replicas × 2 cards) fails; mid (6 × 1) fits, leaving 4 cards.
    const pe = () => [entry('big', 1, [cand('A', 8, 80, { units: 2 })]), entry('mid', 1, [cand('A', 6, 60)])];

    it('PriorityExhaustive: min(floor(room/units), required) replicas, cost and value scaled', () => {
      const input = pe();
      const { allocations, available } = greedy(input, { A: 10 }, 'PriorityExhaustive');
      expect(summary(allocations)).to.deep.equal({ mid: 'Ax6@60', big: 'Ax2@20' });
      expect(allocations.get('big')!.value).to.equal(20);
      expect(available.get('A')).to.equal(0);
      expect(input[0]!.candidates[0]!.alloc.numReplicas).to.equal(8); // inputs untouched
    });

    it('PriorityExhaustive: in order, each exhausts what it can; falls to a later candidate with room', () => {
      const { allocations } = greedy([
        entry('s1', 1, [cand('A', 8, 80)]),
        entry('s2', 1, [cand('A', 7, 70), cand('B', 9, 90)]),
      ], { A: 5, B: 3 }, 'PriorityExhaustive');
      expect(summary(allocations)).to.deep.equal({ s1: 'Ax5@50', s2: 'Bx3@30' });
    });

    it('RoundRobin: one replica per member in turn while room remains', () => {
      const input = [entry('s1', 1, [cand('A', 6, 60)]), entry('s2', 1, [cand('A', 8, 80)])];
      expect(summary(greedy(input, { A: 5 }, 'RoundRobin').allocations)).to.deep.equal({ s2: 'Ax3@30', s1: 'Ax2@20' });
      expect(summary(greedy(input, { A: 5 }, 'PriorityExhaustive').allocations)).to.deep.equal({ s2: 'Ax5@50' });
      // members on different types; a member drops out when its type is exhausted
      expect(summary(greedy([
        entry('s1', 1, [cand('A', 9, 90)]),
        entry('s2', 1, [cand('B', 8, 80, { units: 2 })]),
      ], { A: 4, B: 5 }, 'RoundRobin').allocations)).to.deep.equal({ s1: 'Ax4@40', s2: 'Bx2@20' });
    });

    it('RoundRobin over all leftovers vs PriorityRoundRobin per priority group (delayedBestEffort)', () => {
      const input = [entry('p1a', 1, [cand('A', 6, 60)]), entry('p1b', 1, [cand('A', 6, 60)]), entry('p2', 2, [cand('A', 6, 60)])];
      expect(summary(greedy(input, { A: 5 }, 'RoundRobin', true).allocations)).to.deep.equal({ p1a: 'Ax2@20', p1b: 'Ax2@20', p2: 'Ax1@10' });
      expect(summary(greedy(input, { A: 5 }, 'PriorityRoundRobin', true).allocations)).to.deep.equal({ p1a: 'Ax3@30', p1b: 'Ax2@20' });
      expect(summary(greedy(input, { A: 5 }, 'None', true).allocations)).to.deep.equal({});
    });

    it('delayedBestEffort: false serves each priority group best effort before the next group allocates; true allocates all first', () => {
      const input = [entry('p1', 1, [cand('A', 6, 60)]), entry('p2', 2, [cand('A', 3, 30)])];
      expect(summary(greedy(input, { A: 5 }, 'RoundRobin', false).allocations)).to.deep.equal({ p1: 'Ax5@50' });
      expect(summary(greedy(input, { A: 5 }, 'RoundRobin', true).allocations)).to.deep.equal({ p2: 'Ax3@30', p1: 'Ax2@20' });
      expect(summary(greedy(input, { A: 5 }, 'PriorityExhaustive', true).allocations)).to.deep.equal({ p2: 'Ax3@30', p1: 'Ax2@20' });
    });
  });

  describe('solve', () => {
    const metrics = (r: number): AnalysisMetrics => ({ throughputPerSec: r, avgRespTimeMs: 1, avgWaitTimeMs: 0, avgNumInServ: 1, avgTTFTMs: 200, avgITLMs: 20, maxRatePerSec: 10, utilization: 0.5 });
    /** rateStar 0.25 req/s per replica ⇒ 60 req/min needs 4 replicas. */
    const analyzerFactory = (_c: AnalyzerConfig): LlmAnalyzer => ({ analyze: metrics, size: () => ({ ratePerSec: 0.25, lambdaStarPerSec: 0.25, metrics: metrics(0.25) }), rateRangePerSec: () => ({ min: 0, max: 1 }) });
    const power = { idle: 0, full: 0, midPower: 0, midUtil: 0 };
    const sys = (over: Partial<InfernoSystem['optimizer']> = {}, capacity = 100): InfernoSystem => ({
      accelerators: [
        { name: 'G2', type: 'G2', multiplicity: 1, memSize: 0, memBW: 0, power, cost: 23 },
        { name: '2xG2', type: 'G2', multiplicity: 2, memSize: 0, memBW: 0, power, cost: 46 },
      ],
      capacity: [{ type: 'G2', count: capacity }],
      models: [
        { name: 'm', acc: 'G2', accCount: 2, maxBatchSize: 8, atTokens: 1024, perfParms: { alpha: 1, beta: 1, gamma: 1 } },
        { name: 'm', acc: '2xG2', accCount: 0, maxBatchSize: 8, atTokens: 1024, perfParms: { alpha: 1, beta: 1, gamma: 1 } },
      ],
      serviceClasses: [{ name: 'C', priority: 1, modelTargets: [{ model: 'm', sloItl: 50, sloTtft: 1000, sloTps: 0 }] }],
      servers: [srv('s1'), { ...srv('s2'), model: 'unknown' }],
      optimizer: { unlimited: false, heterogeneous: false, milpSolver: false, useCplex: false, delayedBestEffort: false, saturationPolicy: 'None', ...over },
    });

    it('cards per replica = accCount·multiplicity; equal-cost tie resolved in accelerator order', () => {
      const cands = buildCandidates(indexSystem(sys()), { analyzerFactory });
      expect(cands[0]!.candidates.map((c) => [c.alloc.accelerator, c.unitsPerReplica, c.alloc.cost])).to.deep.equal([['G2', 2, 184], ['2xG2', 2, 184]]);
      expect(cands[1]!.candidates).to.deep.equal([]);
      const sol = solve(sys(), { analyzerFactory });
      expect(sol.data.allocations).to.have.keys(['s1']);
      expect(sol.data.allocations.s1).to.include({ accelerator: 'G2', numReplicas: 4, maxBatch: 8, cost: 184, itlAverage: 20, ttftAverage: 200 });
      expect(sol.totalCost).to.equal(184);
      expect(sol.byType.get('G2')).to.deep.equal({ cards: 8, cost: 184 });
      expect(sol.unallocated).to.deep.equal(['s2']);
      expect(sol.diffs.get('s1')).to.deep.equal({ oldAccelerator: '', newAccelerator: 'G2', oldNumReplicas: 0, newNumReplicas: 4, costDiff: 184 });
      expect(sol.diffs.get('s2')!.newAccelerator).to.equal('none');
    });

    it('unlimited ignores capacity; greedy respects it; options override optimizer-data', () => {
      expect(solve(sys({ unlimited: true }, 0), { analyzerFactory }).data.allocations.s1!.numReplicas).to.equal(4);
      expect(solve(sys({}, 0), { analyzerFactory }).data.allocations).to.deep.equal({});
      expect(solve(sys({}, 6), { analyzerFactory, optimizer: { saturationPolicy: 'PriorityExhaustive' } }).data.allocations.s1).to.include({ numReplicas: 3, cost: 138 });
      expect(solve(sys({ saturationPolicy: 'PriorityExhaustive' }, 6), { analyzerFactory, optimizer: { unlimited: true } }).data.allocations.s1!.numReplicas).to.equal(4);
    });
  });
});
