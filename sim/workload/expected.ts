/**
 * The load each service will see over the run, from the workload description alone (no
 * simulation): what a static configuration is sized from, and the report's workload summary.
 */
import type { ExpectedLoad } from '../policies/port';
import type { AzureTraceName, Scenario, TokenDistribution } from '../scenario';
import type { AzureTrace } from './azure-trace';

function clampedMean(d: TokenDistribution): number {
  return Math.min(d.max, Math.max(d.min, d.mean));
}

export function expectedLoad(scenario: Scenario, traces: Partial<Record<AzureTraceName, AzureTrace>>): ExpectedLoad[] {
  const acc = new Map(scenario.services.map((s) => [s.name, { requests: 0, input: 0, output: 0 }]));
  for (const w of scenario.workload) {
    const total = w.weights.reduce((a, b) => a + b, 0);
    let requests = 0;
    let meanIn = 0;
    let meanOut = 0;
    if (w.kind === 'gamma') {
      const burstShare = w.bursts ? (w.bursts.factor - 1) * (w.bursts.durationSec / w.bursts.everySec) : 0;
      requests = w.ratePerSec * (1 + burstShare) * scenario.durationSec;
      meanIn = clampedMean(w.inputTokens);
      meanOut = clampedMean(w.outputTokens);
    } else {
      const trace = traces[w.trace];
      if (!trace) continue;
      let sumIn = 0;
      let sumOut = 0;
      for (let i = 0; i < trace.offsetSec.length; i++) {
        const t = (trace.offsetSec[i]! - w.startSec) / w.speedup;
        if (t < 0 || t >= scenario.durationSec) continue;
        requests++;
        sumIn += trace.inputTokens[i]!;
        sumOut += trace.outputTokens[i]!;
      }
      meanIn = requests > 0 ? sumIn / requests : 0;
      meanOut = requests > 0 ? sumOut / requests : 0;
    }
    w.services.forEach((name, i) => {
      const a = acc.get(name)!;
      const n = (requests * w.weights[i]!) / total;
      a.requests += n;
      a.input += n * meanIn;
      a.output += n * meanOut;
    });
  }
  return scenario.services.map((s) => {
    const a = acc.get(s.name)!;
    return {
      service: s.name,
      ratePerSec: a.requests / scenario.durationSec,
      avgInputTokens: a.requests > 0 ? a.input / a.requests : 0,
      avgOutputTokens: a.requests > 0 ? a.output / a.requests : 0,
    };
  });
}
