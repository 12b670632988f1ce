import { expect } from 'chai';
import type { AnalysisMetrics, AnalyzerConfig, LlmAnalyzer, SloTargets } from '../../../core/optimizer/analyzer';
import {
  allocationFromData,
  batchSizeFor,
  calculateCandidates,
  candidateAccelerators,
  createAllocation,
  indexSystem,
  serverPriority,
  transitionPenalty,
} from '../../../core/optimizer/allocation';
import type { InfernoSystem, ModelPerfSpec, ServerLoad, ServerSpec } from '../../../core/optimizer/data';

const perf = (acc: string, over: Partial<ModelPerfSpec> = {}): ModelPerfSpec => ({
  name: 'granite_13b', acc, accCount: 1, maxBatchSize: 76, atTokens: 512, perfParms: { alpha: 17.15, beta: 0.034, gamma: 0.0010625 }, ...over,
});
const emptyAlloc = (load: ServerLoad) => ({ accelerator: '', numReplicas: 0, maxBatch: 0, cost: 0, itlAverage: 0, ttftAverage: 0, load });
const server = (over: Partial<ServerSpec> = {}, load: Partial<ServerLoad> = {}): ServerSpec => {
  const l = { arrivalRate: 120, avgInTokens: 128, avgOutTokens: 1024, ...load };
  return { name: 'Bronze-granite_13b', class: 'Bronze', model: 'granite_13b', keepAccelerator: false, minNumReplicas: 0, maxBatchSize: 0, currentAlloc: emptyAlloc(l), desiredAlloc: emptyAlloc(l), ...over };
};
/** sample-data/small (HEAD) Bronze-granite_13b on G2: published 3 replicas, batch 38, cost 69, ITL 36.419655, TTFT 425.16748. */
const system = (servers: ServerSpec[] = [server()], models: ModelPerfSpec[] = [perf('G2'), perf('2xG2', { accCount: 2 })]): InfernoSystem => ({
  accelerators: [
    { name: 'G2', type: 'G2', multiplicity: 1, memSize: 96, memBW: 2400, power: { idle: 0, full: 0, midPower: 0, midUtil: 0 }, cost: 23 },
    { name: '2xG2', type: 'G2', multiplicity: 2, memSize: 192, memBW: 4800, power: { idle: 0, full: 0, midPower: 0, midUtil: 0 }, cost: 46 },
    { name: 'L4', type: 'L4', multiplicity: 1, memSize: 24, memBW: 300, power: { idle: 0, full: 0, midPower: 0, midUtil: 0 }, cost: 6 },
  ],
  capacity: [{ type: 'G2', count: 100 }],
  models,
  serviceClasses: [
    { name: 'Bronze', priority: 2, modelTargets: [{ model: 'granite_13b', sloItl: 80, sloTtft: 2000, sloTps: 0 }] },
    { name: 'Tps', priority: 5, modelTargets: [{ model: 'granite_13b', sloItl: 0, sloTtft: 0, sloTps: 2000 }] },
  ],
  servers,
  optimizer: { unlimited: false, heterogeneous: false, milpSolver: false, useCplex: false, delayedBestEffort: false, saturationPolicy: 'None' },
});

/** Analyzer stub recording its config; rateStar fixed. */
function stub(rateStar: number, seen: AnalyzerConfig[] = [], targetsSeen: SloTargets[] = []): (c: AnalyzerConfig) => LlmAnalyzer {
  const metrics = (r: number): AnalysisMetrics => ({ throughputPerSec: r, avgRespTimeMs: 1, avgWaitTimeMs: 0, avgNumInServ: 1, avgTTFTMs: 100 * r, avgITLMs: 10 * r, maxRatePerSec: 10, utilization: 0.5 });
  return (c) => {
    seen.push(c);
    return {
      analyze: metrics,
      size: (t) => { targetsSeen.push(t); return rateStar > 0 ? { ratePerSec: rateStar, lambdaStarPerSec: rateStar, metrics: metrics(rateStar) } : null; },
      rateRangePerSec: () => ({ min: 0, max: 10 }),
    };
  };
}

describe('optimizer/allocation: CreateAllocation', () => {
  it('reproduces the published Gen 2 row (sample-data small Bronze-granite_13b on G2)', () => {
    const a = createAllocation(indexSystem(system()), server(), 'G2')!;
    expect(a).to.include({ accelerator: 'G2', numReplicas: 3, batchSize: 38, cost: 69, value: 69 });
    expect(Math.abs(a.itl / 36.419655 - 1)).to.be.below(1e-3);
    expect(Math.abs(a.ttft / 425.16748 - 1)).to.be.below(1e-3);
    expect(a.maxArrvRatePerReplica).to.be.above(2 / 3 / 1000); // 3 replicas carry 2 req/s
  });

  it('N = floor(maxBatchSize·atTokens/K) in integer division, at least 1; server override wins', () => {
    expect(batchSizeFor(server(), perf('G2'), 1024)).to.equal(38);
    expect(batchSizeFor(server(), perf('G2', { maxBatchSize: 18 }), 1000)).to.equal(9); // 9.216 → 9
    expect(batchSizeFor(server(), perf('G2', { maxBatchSize: 1, atTokens: 1 }), 1024)).to.equal(1);
    expect(batchSizeFor(server({ maxBatchSize: 7 }), perf('G2'), 1024)).to.equal(7);
  });

  it('passes N, maxQueue = 10·N (or server.maxQueueSize), params and tokens to the analyzer', () => {
    const seen: AnalyzerConfig[] = [];
    createAllocation(indexSystem(system()), server(), 'G2', { analyzerFactory: stub(1, seen) });
    createAllocation(indexSystem(system()), server({ maxQueueSize: 5 }), 'G2', { analyzerFactory: stub(1, seen), maxQueue: { kind: 'server' }, generation: 3 });
    createAllocation(indexSystem(system()), server(), 'G2', { analyzerFactory: stub(1, seen), maxQueue: { kind: 'server' } });
    expect(seen.map((c) => [c.generation, c.maxBatchSize, c.maxQueueSize, c.avgInputTokens, c.avgOutputTokens])).to.deep.equal([
      [2, 38, 380, 128, 1024], [3, 38, 5, 128, 1024], [2, 38, 0, 128, 1024],
    ]);
    expect(seen[0]!.params).to.deep.equal({ alpha: 17.15, beta: 0.034, gamma: 0.0010625 });
  });

  it('replicas = max(ceil(totalRate/rateStar), minNumReplicas); cost = cost·accCount·replicas', () => {
    const idx = indexSystem(system());
    expect(createAllocation(idx, server(), 'G2', { analyzerFactory: stub(0.5) })).to.include({ numReplicas: 4, cost: 92 }); // 2 req/s / 0.5
    expect(createAllocation(idx, server(), 'G2', { analyzerFactory: stub(0.6) })).to.include({ numReplicas: 4 }); // ceil(3.33)
    expect(createAllocation(idx, server({ minNumReplicas: 6 }), 'G2', { analyzerFactory: stub(0.5) })).to.include({ numReplicas: 6, cost: 138 });
    // accCount 2 on 2xG2 (cost 46, multiplicity already in the cost): 46·2·4
    expect(createAllocation(idx, server(), '2xG2', { analyzerFactory: stub(0.5) })).to.include({ numReplicas: 4, cost: 368 });
    // analyzed at the per-replica rate
    expect(createAllocation(idx, server(), 'G2', { analyzerFactory: stub(0.5) })!.itl).to.equal(5);
  });

  it('with slo-tps the total rate is tps/K', () => {
    const targets: SloTargets[] = [];
    const a = createAllocation(indexSystem(system()), server({ class: 'Tps' }), 'G2', { analyzerFactory: stub(0.5, [], targets) })!;
    expect(targets[0]).to.deep.equal({ ttftMs: 0, itlMs: 0, tps: 2000 });
    expect(a.numReplicas).to.equal(Math.ceil(2000 / 1024 / 0.5));
  });

  it('zero load: minNumReplicas 0 → empty allocation; else min replicas with ITL α+β, TTFT α+β+γ·batch', () => {
    const idx = indexSystem(system());
    for (const load of [{ arrivalRate: 0 }, { avgOutTokens: 0 }]) {
      expect(createAllocation(idx, server({}, load), 'G2')).to.deep.equal({ accelerator: '', numReplicas: 0, batchSize: 0, cost: 0, value: 0, itl: 0, ttft: 0, rho: 0, maxArrvRatePerReplica: 0 });
    }
    const a = createAllocation(idx, server({ minNumReplicas: 2 }, { arrivalRate: 0 }), 'G2')!;
    const f = Math.fround;
    expect(a).to.include({ accelerator: 'G2', numReplicas: 2, batchSize: 76, cost: 46, value: 46, rho: 0 });
    expect(a.itl).to.equal(f(17.15 + 0.034));
    expect(a.ttft).to.equal(f(f(17.15 + 0.034) + f(0.0010625 * 76)));
    expect(a.maxArrvRatePerReplica).to.be.closeTo(76 / (a.ttft + 17.15 + 0.034 * 76), 1e-6);
    expect(createAllocation(idx, server({ minNumReplicas: 1, maxBatchSize: 10 }, { arrivalRate: 0 }), 'G2')!.batchSize).to.equal(10);
  });

  it('infeasible: unknown accelerator/perf/class/target, negative load, all-zero params, SLO below reach', () => {
    const idx = indexSystem(system([server()], [perf('G2'), perf('L4', { perfParms: { alpha: 0, beta: 0, gamma: 0 } })]));
    expect(createAllocation(idx, server(), 'H100')).to.equal(null);
    expect(createAllocation(idx, server(), '2xG2')).to.equal(null); // no perf data
    expect(createAllocation(idx, server({ class: 'Gold' }), 'G2')).to.equal(null);
    expect(createAllocation(idx, server({ model: 'other' }), 'G2')).to.equal(null);
    expect(createAllocation(idx, server({}, { arrivalRate: -1 }), 'G2')).to.equal(null);
    expect(createAllocation(idx, server(), 'L4')).to.equal(null);
    expect(createAllocation(idx, server(), 'G2', { analyzerFactory: stub(0) })).to.equal(null);
    // real analyzer: an ITL target below α is unreachable
    const tight = system();
    const idx2 = indexSystem({ ...tight, serviceClasses: [{ name: 'Bronze', priority: 2, modelTargets: [{ model: 'granite_13b', sloItl: 5, sloTtft: 0, sloTps: 0 }] }] });
    expect(createAllocation(idx2, server(), 'G2')).to.equal(null);
  });

  it('an analyzer that refuses the perf data or the rate drops the candidate; any other failure surfaces', () => {
    // The real analyzer rejects α = 0 with β > 0 (SSIS_INVALID_CONFIG): no candidate on that accelerator.
    const idx = indexSystem(system([server()], [perf('G2', { perfParms: { alpha: 0, beta: 0.034, gamma: 0.0010625 } })]));
    expect(createAllocation(idx, server(), 'G2')).to.equal(null);
    const failing = (err: Error, when: 'build' | 'analyze') => (c: AnalyzerConfig): LlmAnalyzer => {
      if (when === 'build') throw err;
      const ok = stub(0.5)(c);
      return { ...ok, analyze: () => { throw err; } };
    };
    const full = indexSystem(system());
    for (const when of ['build', 'analyze'] as const) {
      expect(createAllocation(full, server(), 'G2', { analyzerFactory: failing(new RangeError('rate above λmax'), when) }), when).to.equal(null);
      expect(() => createAllocation(full, server(), 'G2', { analyzerFactory: failing(new TypeError('a bug'), when) }), when).to.throw(TypeError, 'a bug');
    }
  });

  it('transition penalty', () => {
    const a = { accelerator: 'G2', numReplicas: 2, cost: 46 };
    expect(transitionPenalty(a, { accelerator: 'G2', numReplicas: 2, cost: 46 })).to.equal(0);
    expect(transitionPenalty(a, { accelerator: 'G2', numReplicas: 3, cost: 69 })).to.equal(23);
    expect(transitionPenalty(a, { accelerator: 'G2', numReplicas: 1, cost: 23 })).to.equal(-23);
    expect(transitionPenalty(a, { accelerator: 'A100', numReplicas: 1, cost: 40 })).to.equal(Math.fround(Math.fround(Math.fround(0.1) * 86) - 6));
    // no current allocation: value = 1.1·cost (float32), so equal costs give equal values
    const none = allocationFromData(emptyAlloc({ arrivalRate: 0, avgInTokens: 0, avgOutTokens: 0 }));
    expect(transitionPenalty(none, { accelerator: 'MI300X', numReplicas: 2, cost: 130 })).to.equal(transitionPenalty(none, { accelerator: '2xMI300X', numReplicas: 1, cost: 130 }));
    expect(transitionPenalty(none, { accelerator: 'G2', numReplicas: 1, cost: 100 })).to.be.closeTo(110, 1e-4);
    expect(transitionPenalty(none, { accelerator: '', numReplicas: 0, cost: 0 })).to.equal(0);
  });

  it('candidates: all accelerators in file order, or only the current one with keepAccelerator; valued by the penalty', () => {
    const idx = indexSystem(system());
    expect(candidateAccelerators(idx, server()).map((a) => a.name)).to.deep.equal(['G2', '2xG2', 'L4']);
    const cur = { ...emptyAlloc({ arrivalRate: 120, avgInTokens: 128, avgOutTokens: 1024 }), accelerator: '2xG2', numReplicas: 1, cost: 92 };
    expect(candidateAccelerators(idx, server({ keepAccelerator: true, currentAlloc: cur })).map((a) => a.name)).to.deep.equal(['2xG2']);
    expect(candidateAccelerators(idx, server({ keepAccelerator: true })).map((a) => a.name)).to.have.length(3); // no current accelerator
    expect(candidateAccelerators(idx, server({ keepAccelerator: true, currentAlloc: { ...cur, accelerator: 'gone' } }))).to.deep.equal([]);
    const cands = calculateCandidates(idx, server({ currentAlloc: cur }), { analyzerFactory: stub(0.5) });
    expect(cands.map((c) => [c.accelerator, c.cost, c.value])).to.deep.equal([
      ['G2', 92, transitionPenalty(allocationFromData(cur), { accelerator: 'G2', numReplicas: 4, cost: 92 })],
      ['2xG2', 368, Math.fround(368 - 92)],
    ]);
    expect(serverPriority(idx, server())).to.equal(2);
    expect(serverPriority(idx, server({ class: 'Unknown' }))).to.equal(100);
  });
});
