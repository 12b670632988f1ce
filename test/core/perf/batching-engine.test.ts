import { expect } from 'chai';
import { BatchingEngine, type EngineConfig } from '../../../core/perf/batching-engine';
import { gen2IterationMs, scaleToSlice, stepTimeMs } from '../../../core/perf/iteration-model';

const params = { alphaMs: 5, betaMsPerToken: 0.1, gammaMsPerKvToken: 0.001 };
const config = (over: Partial<EngineConfig> = {}): EngineConfig => ({ params, maxBatchSize: 4, maxTokensPerStep: 8192, kvCapacityTokens: 10_000, ...over });

/** Runs the engine in virtual time until idle; returns finished requests. */
function drain(engine: BatchingEngine, startMs = 0) {
  let now = startMs;
  const finished = [];
  for (let guard = 0; guard < 100_000 && !engine.idle; guard++) {
    const d = engine.startStep(now);
    if (d === null) break;
    const out = engine.finishStep();
    now = out.endedMs;
    finished.push(...out.finished);
  }
  return finished;
}

describe('core/perf iteration model', () => {
  it('is alpha + beta·computed + gamma·KV read per step', () => {
    expect(stepTimeMs(params, { prefillTokens: 10, prefillKvTokens: 10, decodeRequests: 2, decodeKvTokens: 40 })).to.be.closeTo(5 + 0.1 * 12 + 0.001 * 50, 1e-12);
    expect(stepTimeMs(params, { prefillTokens: 0, prefillKvTokens: 0, decodeRequests: 0, decodeKvTokens: 0 })).to.equal(0);
  });

  it('scales beta by compute share and gamma by bandwidth share, keeping alpha', () => {
    const s = scaleToSlice(params, { computeFraction: 1 / 7, memoryBandwidthFraction: 1 / 8 });
    expect(s.alphaMs).to.equal(5);
    expect(s.betaMsPerToken).to.be.closeTo(0.7, 1e-12);
    expect(s.gammaMsPerKvToken).to.be.closeTo(0.008, 1e-12);
    expect(() => scaleToSlice(params, { computeFraction: 0, memoryBandwidthFraction: 1 })).to.throw(RangeError);
  });

  it('matches Inferno Gen 2 T(b) on average for a full batch in steady decode', () => {
    // b requests decoding at mean context in + out/2 cost α + b(β + γ·m); Gen 2 adds the prefill share via c.
    const inTok = 100;
    const outTok = 100;
    const b = 8;
    const decodeOnly = params.alphaMs + b * (params.betaMsPerToken + params.gammaMsPerKvToken * (inTok + outTok / 2));
    const gen2 = gen2IterationMs(params, b, inTok, outTok);
    // c = 200/101 ≈ 1.98 tokens per iteration per request: Gen 2 spreads the prefill over the iterations.
    expect(gen2).to.be.greaterThan(decodeOnly);
    expect(gen2).to.be.closeTo(params.alphaMs + b * (params.betaMsPerToken * (200 / 101) + params.gammaMsPerKvToken * 150), 1e-9);
  });
});

describe('core/perf batching engine', () => {
  it('serves one request: prefill step yields the first token, then one token per step', () => {
    const e = new BatchingEngine(config());
    e.submit({ id: 'a', inputTokens: 10, maxNewTokens: 3, arrivedMs: 0 });
    const [f] = drain(e);
    // prefill: 5 + 0.1·10 + 0.001·10 = 6.01; decode at ctx 11: 5.111; ctx 12: 5.112
    expect(f!.firstTokenMs).to.be.closeTo(6.01, 1e-9);
    expect(f!.finishedMs).to.be.closeTo(6.01 + 5.111 + 5.112, 1e-9);
    expect(f!.outputTokens).to.equal(3);
  });

  it('batches up to maxBatchSize and queues the rest FCFS', () => {
    const e = new BatchingEngine(config({ maxBatchSize: 2 }));
    for (const id of ['a', 'b', 'c']) e.submit({ id, inputTokens: 4, maxNewTokens: 2, arrivedMs: 0 });
    e.startStep(0);
    expect(e.runningCount).to.equal(2);
    expect(e.waitingCount).to.equal(1);
    e.finishStep();
    const finished = drain(e, 10);
    expect(finished.map((f) => f.id)).to.deep.equal(['a', 'b', 'c']);
    expect(finished[2]!.scheduledMs).to.be.greaterThan(0);
  });

  it('admits only what the KV cache can hold and refuses what can never fit', () => {
    const e = new BatchingEngine(config({ kvCapacityTokens: 30 }));
    e.submit({ id: 'a', inputTokens: 10, maxNewTokens: 10, arrivedMs: 0 });
    e.submit({ id: 'b', inputTokens: 10, maxNewTokens: 10, arrivedMs: 0 });
    e.startStep(0);
    expect(e.runningCount).to.equal(1);
    expect(e.kvCacheUsage).to.be.closeTo(20 / 30, 1e-12);
    e.finishStep();
    expect(() => e.submit({ id: 'x', inputTokens: 25, maxNewTokens: 10, arrivedMs: 0 })).to.throw(RangeError);
    expect(drain(e, 10).map((f) => f.id)).to.deep.equal(['a', 'b']);
  });

  it('chunks a prompt longer than the step budget over several steps', () => {
    const e = new BatchingEngine(config({ maxTokensPerStep: 4 }));
    e.submit({ id: 'a', inputTokens: 10, maxNewTokens: 1, arrivedMs: 0 });
    let steps = 0;
    while (!e.idle) {
      e.startStep(steps * 10);
      e.finishStep();
      steps++;
    }
    expect(steps).to.equal(3); // 4 + 4 + 2 prompt tokens; the last chunk also samples the only output token
  });

  it('per-token latency grows with the batch (the load the autoscaler sees)', () => {
    const itlAt = (n: number): number => {
      const e = new BatchingEngine(config({ maxBatchSize: 64 }));
      for (let i = 0; i < n; i++) e.submit({ id: `r${i}`, inputTokens: 6, maxNewTokens: 20, arrivedMs: 0 });
      const f = drain(e);
      return (f[0]!.finishedMs - f[0]!.firstTokenMs) / 19;
    };
    expect(itlAt(20)).to.be.greaterThan(itlAt(1) * 1.3);
  });

  it('cancels a waiting request and frees nothing twice', () => {
    const e = new BatchingEngine(config({ maxBatchSize: 1 }));
    e.submit({ id: 'a', inputTokens: 4, maxNewTokens: 2, arrivedMs: 0 });
    e.submit({ id: 'b', inputTokens: 4, maxNewTokens: 2, arrivedMs: 0 });
    expect(e.cancel('b')).to.equal(true);
    expect(e.cancel('b')).to.equal(false);
    expect(drain(e).map((f) => f.id)).to.deep.equal(['a']);
    expect(e.kvCacheUsage).to.equal(0);
  });
});
