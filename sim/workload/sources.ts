/**
 * Arrival sources: each yields its requests in time order into a reused Arrival record (no
 * allocation per request). The simulator keeps one pending arrival per source in its event queue.
 */
import { gammaInterArrival, lognormal, seededRandom, streamId, type Random } from '../random';
import type { AzureWorkload, BurstSpec, GammaWorkload, ServiceMix, TokenDistribution } from '../scenario';
import type { AzureTrace } from './azure-trace';

export interface Arrival {
  timeMs: number;
  /** Index of the service in the scenario's service list. */
  service: number;
  inputTokens: number;
  outputTokens: number;
}

export interface ArrivalSource {
  readonly name: string;
  /** Fills `out` with the next request; false when the source has no more before the end. */
  next(out: Arrival): boolean;
}

/** Picks services by weight with one uniform draw. */
function servicePicker(mix: ServiceMix, serviceIndex: ReadonlyMap<string, number>, r: Random): () => number {
  const total = mix.weights.reduce((a, b) => a + b, 0);
  const cumulative: number[] = [];
  let acc = 0;
  for (const w of mix.weights) cumulative.push((acc += w / total));
  const indices = mix.services.map((s) => serviceIndex.get(s)!);
  if (indices.length === 1) return () => indices[0]!;
  return () => {
    const u = r.next();
    for (let i = 0; i < cumulative.length; i++) if (u < cumulative[i]!) return indices[i]!;
    return indices[indices.length - 1]!;
  };
}

function drawTokens(r: Random, d: TokenDistribution): number {
  const v = Math.round(lognormal(r, d.mean, d.cv));
  return v < d.min ? d.min : v > d.max ? d.max : v;
}

/**
 * Burst-modulated rate as operational time: Λ(t) = ∫ rate. Inter-arrivals are drawn in Λ units at
 * unit rate and mapped back, so a Gamma renewal process keeps its CV inside and outside bursts.
 */
function operationalClock(baseRatePerSec: number, bursts: BurstSpec | null): (tSec: number, dLambda: number) => number {
  if (!bursts) return (t, dl) => t + dl / baseRatePerSec;
  const { everySec, durationSec, factor, offsetSec } = bursts;
  return (t, dl) => {
    let left = dl;
    let now = t;
    for (;;) {
      // Position in the burst cycle (bursts at offset + k·every, lasting durationSec).
      const phase = (((now - offsetSec) % everySec) + everySec) % everySec;
      const inBurst = now >= offsetSec && phase < durationSec;
      const rate = baseRatePerSec * (inBurst ? factor : 1);
      const segmentEnd = now < offsetSec ? offsetSec : inBurst ? now + (durationSec - phase) : now + (everySec - phase);
      const capacity = (segmentEnd - now) * rate;
      if (left <= capacity) return now + left / rate;
      left -= capacity;
      now = segmentEnd;
    }
  };
}

export function gammaSource(w: GammaWorkload, serviceIndex: ReadonlyMap<string, number>, seed: number, durationSec: number): ArrivalSource {
  const r = seededRandom(seed, streamId(`workload:${w.name}`));
  const pick = servicePicker(w, serviceIndex, r);
  const advance = operationalClock(w.ratePerSec, w.bursts);
  let tSec = 0;
  return {
    name: w.name,
    next(out: Arrival): boolean {
      tSec = advance(tSec, gammaInterArrival(r, 1, w.cv));
      if (tSec >= durationSec) return false;
      out.timeMs = tSec * 1000;
      out.service = pick();
      out.inputTokens = drawTokens(r, w.inputTokens);
      out.outputTokens = drawTokens(r, w.outputTokens);
      return true;
    },
  };
}

export function azureSource(w: AzureWorkload, trace: AzureTrace, serviceIndex: ReadonlyMap<string, number>, seed: number, durationSec: number): ArrivalSource {
  const r = seededRandom(seed, streamId(`workload:${w.name}`));
  const pick = servicePicker(w, serviceIndex, r);
  let i = 0;
  while (i < trace.offsetSec.length && trace.offsetSec[i]! < w.startSec) i++;
  return {
    name: w.name,
    next(out: Arrival): boolean {
      if (i >= trace.offsetSec.length) return false;
      const tSec = (trace.offsetSec[i]! - w.startSec) / w.speedup;
      if (tSec >= durationSec) return false;
      out.timeMs = tSec * 1000;
      out.service = pick();
      out.inputTokens = Math.max(1, trace.inputTokens[i]!);
      out.outputTokens = Math.max(1, trace.outputTokens[i]!);
      i++;
      return true;
    },
  };
}
