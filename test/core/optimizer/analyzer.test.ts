import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { SsisError } from '../../../core/errors';
import {
  createAnalyzer,
  gen2DecodeMs,
  gen2IterTimeMs,
  gen2PrefillMs,
  gen2ServiceTimeMs,
  gen3ChunkTable,
  gen3IterTimeMs,
  gen3ItlMs,
  gen3NumChunks,
  gen3PrefillMs,
  gen3TauMs,
  type AnalysisMetrics,
  type AnalyzerConfig,
} from '../../../core/optimizer/analyzer';

const REF = '../shared/reference/inferno';
function refPath(rel: string): string {
  // test/core/optimizer → repo root → ../shared
  return `${__dirname}/../../../${REF}/${rel}`;
}
const load = (rel: string): Record<string, number> => JSON.parse(readFileSync(refPath(rel), 'utf8')) as Record<string, number>;

/** Go's encoding/json matches keys case-insensitively; so does this lookup. */
function field(obj: Record<string, number>, key: string): number {
  const k = Object.keys(obj).find((x) => x.toLowerCase() === key.toLowerCase());
  if (k === undefined) throw new Error(`missing ${key}`);
  return obj[k]!;
}

function configFrom(problem: Record<string, number>, generation: 2 | 3): AnalyzerConfig {
  return {
    generation,
    maxBatchSize: field(problem, 'maxBatchSize'),
    maxQueueSize: field(problem, 'maxQueueSize'),
    params: { alpha: field(problem, 'alpha'), beta: field(problem, 'beta'), gamma: field(problem, 'gamma') },
    avgInputTokens: field(problem, 'avgInputTokens'),
    avgOutputTokens: field(problem, 'avgOutputTokens'),
  };
}

const relErr = (actual: number, expected: number) => (expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected));

/**
 * Go computes in float32. Where a value is a difference of two ~1e4 numbers (W = T − S̄, and TTFT which contains W)
 * float32 cancellation costs ~5e-4 ms absolute, i.e. up to ~5e-5 relative on W ≈ 10 ms (observed 4.9e-5); the others hold to
 * ~1e-6. Tolerances per field: TIGHT everywhere it holds, 1e-4 (tighter than the allowed 1e-3) for W.
 */
const TIGHT = 2e-5;
const WAIT = 1e-4;

function expectMetrics(m: AnalysisMetrics, sol: Record<string, number>) {
  const pairs: [string, number, number, number][] = [
    ['throughput', m.throughputPerSec, field(sol, 'throughput'), TIGHT],
    ['avgRespTime', m.avgRespTimeMs, field(sol, 'avgRespTime'), TIGHT],
    ['avgWaitTime', m.avgWaitTimeMs, field(sol, 'avgWaitTime'), WAIT],
    ['avgNumInServ', m.avgNumInServ, field(sol, 'avgNumInServ'), TIGHT],
    ['avgTTFT', m.avgTTFTMs, field(sol, 'avgTTFT'), TIGHT],
    ['avgITL', m.avgITLMs, field(sol, 'avgITL'), TIGHT],
    ['maxRPS', m.maxRatePerSec, field(sol, 'maxRPS'), TIGHT],
  ];
  for (const [name, actual, expected, tol] of pairs) {
    expect(relErr(actual, expected), `${name}: ${actual} vs ${expected}`).to.be.at.most(tol);
  }
}

describe('core/optimizer/analyzer Gen 2 (queue-analysis v0.3.0)', () => {
  const problem = load('queue-analysis@v0.3.0/examples/problem-data.json');
  const analyzer = createAnalyzer(configFrom(problem, 2));

  it('reproduces examples/solution-solve.json field by field', () => {
    const sol = load('queue-analysis@v0.3.0/examples/solution-solve.json');
    expectMetrics(analyzer.analyze(field(problem, 'RPS')), sol);
    expect(field(sol, 'RPSTargetTTFT')).to.equal(0);
    expect(field(sol, 'RPSTargetITL')).to.equal(0);
  });

  it('reproduces examples/solution-target.json field by field (TTFT 60, ITL 20: ITL binds)', () => {
    const sol = load('queue-analysis@v0.3.0/examples/solution-target.json');
    const r = analyzer.size({ ttftMs: field(problem, 'targetTTFT'), itlMs: field(problem, 'targetITL') });
    expect(r).to.not.equal(null);
    expectMetrics(r!.metrics, sol);
    expect(relErr(r!.ratePerSec, field(sol, 'throughput'))).to.be.at.most(TIGHT);
    expect(relErr(r!.rateTargetTTFTPerSec!, field(sol, 'RPSTargetTTFT'))).to.be.at.most(TIGHT);
    expect(relErr(r!.rateTargetITLPerSec!, field(sol, 'RPSTargetITL'))).to.be.at.most(TIGHT);
    expect(r!.lambdaStarPerSec).to.equal(r!.rateTargetITLPerSec);
    // The SLO is met at λ* to the bisection tolerance.
    expect(relErr(r!.metrics.avgITLMs, 20)).to.be.at.most(1e-6);
    expect(r!.metrics.avgTTFTMs).to.be.below(60);
  });

  it('the same files are shipped at HEAD (examples/ solve/target are Gen 2 outputs)', () => {
    for (const f of ['problem-data.json', 'solution-solve.json', 'solution-target.json']) {
      expect(load(`queue-analysis/examples/${f}`)).to.deep.equal(load(`queue-analysis@v0.3.0/examples/${f}`));
    }
  });

  it('builds servRate from S(b) = prefill(b) + out·decode(b) with the v0.3.0 decode term', () => {
    const w = { params: { alpha: 12, beta: 0.05, gamma: 0.0005 }, inTokens: 128, outTokens: 512 };
    const c = 640 / 513;
    const m = 128 + 256;
    expect(gen2IterTimeMs(w, 10)).to.be.closeTo(12 + 10 * (0.05 * c + 0.0005 * m), 1e-12);
    expect(gen2PrefillMs(w, 10)).to.be.closeTo(gen2IterTimeMs(w, 10) + 0.0505 * 128, 1e-12);
    expect(gen2DecodeMs(w, 10)).to.be.closeTo(gen2IterTimeMs(w, 10) + 0.05 + 0.0005 * (128 + 256), 1e-12);
    expect(gen2ServiceTimeMs(w, 10)).to.be.closeTo(gen2PrefillMs(w, 10) + 512 * gen2DecodeMs(w, 10), 1e-9);
    expect(gen2PrefillMs({ ...w, inTokens: 0 }, 10)).to.equal(0);
    const range = analyzer.rateRangePerSec();
    expect(range.max).to.be.closeTo(0.999 * 1000 * (48 / gen2ServiceTimeMs(w, 48)), 1e-12);
    expect(range.min).to.be.closeTo(0.001 * 1000 * (1 / gen2ServiceTimeMs(w, 1)), 1e-15);
  });

  it('rejects rates above λmax (v0.3.0) with a RangeError naming the rate, and negative rates', () => {
    const max = analyzer.rateRangePerSec().max;
    expect(() => analyzer.analyze(max * 1.01)).to.throw(RangeError, String(max * 1.01));
    expect(() => analyzer.analyze(-1)).to.throw(RangeError);
    expect(() => analyzer.analyze(Number.NaN)).to.throw(RangeError);
    expect(analyzer.analyze(max).maxRatePerSec).to.equal(max);
  });
});

describe('core/optimizer/analyzer sizing rules (§3.6)', () => {
  const problem = load('queue-analysis@v0.3.0/examples/problem-data.json');
  const analyzer = createAnalyzer(configFrom(problem, 2));
  const { min, max } = analyzer.rateRangePerSec();

  it('without targets λ* = λmax; rateStar is the throughput there', () => {
    const r = analyzer.size({})!;
    expect(r.lambdaStarPerSec).to.be.closeTo(max, 1e-12);
    expect(r.ratePerSec).to.equal(r.metrics.throughputPerSec);
    expect(r.ratePerSec).to.be.at.most(max);
    expect(r.rateTargetTTFTPerSec).to.equal(undefined);
    expect(r.rateTargetITLPerSec).to.equal(undefined);
  });

  it('a target above the region is not binding (λmax); below the region is infeasible (null)', () => {
    const loose = analyzer.size({ ttftMs: 1e9, itlMs: 1e9 })!;
    expect(loose.rateTargetTTFTPerSec).to.be.closeTo(max, 1e-12);
    expect(loose.rateTargetITLPerSec).to.be.closeTo(max, 1e-12);
    const ttftAtMin = analyzer.analyze(min).avgTTFTMs;
    expect(analyzer.size({ ttftMs: ttftAtMin * 0.9 })).to.equal(null);
    expect(analyzer.size({ itlMs: analyzer.analyze(min).avgITLMs * 0.9 })).to.equal(null);
    expect(analyzer.size({ ttftMs: 60, itlMs: 1 })).to.equal(null);
  });

  it('an end within 1e-6 of the target is returned as is', () => {
    const r = analyzer.size({ ttftMs: analyzer.analyze(min).avgTTFTMs })!;
    expect(r.rateTargetTTFTPerSec).to.be.closeTo(min, 1e-15);
  });

  it('slo-tps sizes at 0.9·λmax; λ* is the min over the targets', () => {
    expect(analyzer.size({ tps: 100 })!.lambdaStarPerSec).to.be.closeTo(0.9 * max, 1e-12);
    const both = analyzer.size({ tps: 100, ttftMs: 60 })!;
    expect(both.lambdaStarPerSec).to.be.closeTo(Math.min(0.9 * max, both.rateTargetTTFTPerSec!), 1e-12);
    // Non-positive targets are absent (Go tests `> 0`).
    expect(analyzer.size({ tps: 0, ttftMs: -1, itlMs: 0 })!.lambdaStarPerSec).to.be.closeTo(max, 1e-12);
    expect(() => analyzer.size({ ttftMs: Number.NaN })).to.throw(RangeError);
  });
});

describe('core/optimizer/analyzer Gen 3 (queue-analysis v0.7.0+)', () => {
  interface Golden {
    B: number; alpha: number; beta: number; gamma: number; AvgInputTokens: number; AvgOutputTokens: number;
    nc: number; iter_time: number; prefill: number; itl: number; tau: number;
  }
  const golden = JSON.parse(readFileSync(refPath('queue-analysis/nous/harness/tests/golden_primitives.json'), 'utf8')) as Golden[];

  it('reproduces every record of golden_primitives.json', () => {
    expect(golden.length).to.equal(8);
    for (const g of golden) {
      const w = { params: { alpha: g.alpha, beta: g.beta, gamma: g.gamma }, inTokens: g.AvgInputTokens, outTokens: g.AvgOutputTokens };
      const nc = gen3NumChunks(gen3ChunkTable(g.AvgInputTokens, g.AvgOutputTokens, 8192, g.B), g.B);
      const tag = `B=${g.B} in=${g.AvgInputTokens} out=${g.AvgOutputTokens}`;
      expect(nc, tag).to.equal(g.nc);
      // Go float32: ~1e-7 relative.
      expect(relErr(gen3IterTimeMs(w, nc, g.B), g.iter_time), `${tag} iter_time`).to.be.at.most(1e-6);
      expect(relErr(gen3PrefillMs(w, nc, g.B), g.prefill), `${tag} prefill`).to.be.at.most(1e-6);
      expect(relErr(gen3ItlMs(w, nc, g.B), g.itl), `${tag} itl`).to.be.at.most(1e-6);
      expect(relErr(gen3TauMs(w, nc, g.B), g.tau), `${tag} tau`).to.be.at.most(1e-6);
    }
  });

  it('chunk table: stops at the first b_k ≥ N; nc is the first k with b_k ≥ B, else the table length', () => {
    const t = gen3ChunkTable(4096, 64, 8192, 200);
    expect(t.length).to.equal(39);
    expect(t[38]).to.be.at.least(200);
    expect(t[37]).to.be.below(200);
    expect(t[0]).to.equal(Math.floor((1 + 64) * (8192 - 4096) / (4096 + 64)));
    expect(gen3NumChunks(t, 1)).to.equal(1);
    expect(gen3NumChunks(t, 1000)).to.equal(39);
    expect(gen3NumChunks(t, 128)).to.equal(7);
  });

  const problem = load('queue-analysis/examples/problem-data.json');
  const analyzer = createAnalyzer(configFrom(problem, 3));

  it('/solve of examples/problem-data.json gives the derived values of §3.7', () => {
    const m = analyzer.analyze(3);
    const expected: [string, number, number][] = [
      ['throughput', m.throughputPerSec, 3.0],
      ['avgRespTime', m.avgRespTimeMs, 10348.37],
      ['avgWaitTime', m.avgWaitTimeMs, 21.405],
      ['avgNumInServ', m.avgNumInServ, 30.981],
      ['avgTTFT', m.avgTTFTMs, 67.615],
      ['avgITL', m.avgITLMs, 20.1189],
      ['maxRPS', m.maxRatePerSec, 3.86093],
    ];
    // The notes give 4–7 significant digits.
    for (const [name, actual, want] of expected) expect(relErr(actual, want), `${name}: ${actual} vs ${want}`).to.be.at.most(2e-5);
  });

  it('sizing at TTFT 60 / ITL 20 reproduces examples/solution-optimize.json (ceiling 48 ⇒ concurrency 48 = N)', () => {
    const sol = load('queue-analysis/examples/solution-optimize.json');
    expect(field(sol, 'concurrency')).to.equal(48);
    const r = analyzer.size({ ttftMs: 60, itlMs: 20 })!;
    expectMetrics(r.metrics, sol);
    expect(r.lambdaStarPerSec).to.equal(r.rateTargetTTFTPerSec); // TTFT binds in Gen 3
  });

  it('accepts rates above λmax (v0.4.0+ behaviour: the finite queue drops the excess)', () => {
    const max = analyzer.rateRangePerSec().max;
    const m = analyzer.analyze(2 * max);
    expect(m.throughputPerSec).to.be.below(max / 0.999 + 1e-9);
    expect(m.utilization).to.be.at.most(1);
  });

  it('honours maxNumTokens (a smaller budget means more chunks and a slower replica)', () => {
    // M = 150: b_1 = floor(513·22/640) = 17 < 48, so batches above 17 need 2 chunks.
    expect(gen3ChunkTable(128, 512, 150, 48)).to.deep.equal([17, 69]);
    const small = createAnalyzer({ ...configFrom(problem, 3), maxNumTokens: 150 });
    expect(small.rateRangePerSec().max).to.be.below(analyzer.rateRangePerSec().max);
  });
});

describe('core/optimizer/analyzer config validation', () => {
  const good: AnalyzerConfig = {
    generation: 2, maxBatchSize: 8, maxQueueSize: 0, params: { alpha: 5, beta: 0.1, gamma: 0.001 }, avgInputTokens: 100, avgOutputTokens: 50,
  };
  const bad: [string, Record<string, unknown>][] = [
    ['generation', { generation: 1 }],
    ['maxBatchSize', { maxBatchSize: 0 }],
    ['maxBatchSize', { maxBatchSize: 2.5 }],
    ['maxQueueSize', { maxQueueSize: -1 }],
    ['maxQueueSize', { maxQueueSize: Number.NaN }],
    ['params', { params: undefined }],
    ['params.alpha', { params: { alpha: 0, beta: 0.1, gamma: 0.001 } }],
    ['params.beta', { params: { alpha: 1, beta: -0.1, gamma: 0.001 } }],
    ['params.gamma', { params: { alpha: 1, beta: 0.1, gamma: Number.POSITIVE_INFINITY } }],
    ['avgInputTokens', { avgInputTokens: -1 }],
    ['avgOutputTokens', { avgOutputTokens: 0 }],
    ['maxNumTokens', { maxNumTokens: 0 }],
  ];
  for (const [fieldName, over] of bad) {
    it(`throws SSIS_INVALID_CONFIG naming ${fieldName} for ${JSON.stringify(over)}`, () => {
      let caught: unknown;
      try {
        createAnalyzer({ ...good, ...over });
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(SsisError);
      const e = caught as SsisError;
      expect(e.code).to.equal('SSIS_INVALID_CONFIG');
      expect(e.issues.map((i) => i.field)).to.deep.equal([fieldName]);
      expect(e.message).to.contain(fieldName);
    });
  }

  it('accepts maxQueueSize 0 (Kmax = N) and input-free workloads', () => {
    const a = createAnalyzer({ ...good, avgInputTokens: 0 });
    expect(a.analyze(a.rateRangePerSec().max).utilization).to.be.within(0, 1);
    const g3 = createAnalyzer({ ...good, generation: 3, avgInputTokens: 0 });
    expect(Number.isFinite(g3.analyze(1).avgTTFTMs)).to.equal(true);
  });
});
