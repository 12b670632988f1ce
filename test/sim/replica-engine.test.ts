import { expect } from 'chai';
import { BatchingEngine, type EngineConfig } from '../../core/perf/batching-engine';
import { seededRandom } from '../../sim/random';
import { ReplicaEngine } from '../../sim/replica-engine';
import { RequestTable } from '../../sim/request-table';

/** Drives both engines with the same arrivals and returns first-token and finish times per request. */
function runBoth(config: EngineConfig, requests: { at: number; input: number; output: number }[]): { core: Map<string, [number, number]>; sim: Map<string, [number, number]> } {
  const core = new Map<string, [number, number]>();
  const coreEngine = new BatchingEngine(config);
  let now = 0;
  let i = 0;
  const firstTokens = new Map<string, number>();
  while (i < requests.length || !coreEngine.idle) {
    while (i < requests.length && requests[i]!.at <= now) {
      const r = requests[i]!;
      coreEngine.submit({ id: String(i), inputTokens: r.input, maxNewTokens: r.output, arrivedMs: r.at });
      i++;
    }
    const d = coreEngine.startStep(now);
    if (d === null) {
      now = requests[i]!.at;
      continue;
    }
    const out = coreEngine.finishStep();
    for (const t of out.tokens) if (t.interTokenMs === null) firstTokens.set(t.id, t.atMs);
    for (const f of out.finished) core.set(f.id, [f.firstTokenMs, f.finishedMs]);
    now = out.endedMs;
  }

  const sim = new Map<string, [number, number]>();
  const table = new RequestTable(4);
  const engine = new ReplicaEngine(config, table);
  const ids = new Map<number, string>();
  const listener = { onFirstToken: () => undefined, onFinished: (slot: number, at: number) => { sim.set(ids.get(slot)!, [table.firstTokenMs[slot]!, at]); table.release(slot); } };
  now = 0;
  i = 0;
  while (i < requests.length || !engine.idle) {
    while (i < requests.length && requests[i]!.at <= now) {
      const r = requests[i]!;
      const slot = table.allocate(0, r.input, r.output, r.at);
      ids.set(slot, String(i));
      engine.submit(slot);
      i++;
    }
    const d = engine.startStep(now);
    if (d < 0) {
      now = requests[i]!.at;
      continue;
    }
    engine.finishStep(listener);
    now += d;
  }
  return { core, sim };
}

describe('sim/replica-engine', () => {
  it('matches core/perf/batching-engine step for step (first token and finish of every request)', () => {
    const r = seededRandom(3);
    const requests: { at: number; input: number; output: number }[] = [];
    let t = 0;
    for (let k = 0; k < 400; k++) {
      t += -Math.log(1 - r.next()) * 40;
      requests.push({ at: t, input: 1 + Math.floor(r.next() * 3000), output: 1 + Math.floor(r.next() * 200) });
    }
    const config: EngineConfig = { params: { alphaMs: 8, betaMsPerToken: 0.05, gammaMsPerKvToken: 0.0015 }, maxBatchSize: 16, maxTokensPerStep: 2048, kvCapacityTokens: 40_000 };
    const { core, sim } = runBoth(config, requests);
    expect(sim.size).to.equal(requests.length);
    for (const [id, [first, end]] of core) {
      const s = sim.get(id)!;
      expect(s[0], `first token of ${id}`).to.be.closeTo(first, 1e-6);
      expect(s[1], `finish of ${id}`).to.be.closeTo(end, 1e-6);
    }
  });
});
