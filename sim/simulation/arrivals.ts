/**
 * The workload fed into the run: one arrival source per workload entry, each with its next
 * request pending in the event queue, and the admission of a request when it arrives.
 */
import { SsisError } from '../../core/errors';
import type { AzureTraceName } from '../scenario';
import type { AzureTrace } from '../workload/azure-trace';
import { azureSource, gammaSource, type Arrival, type ArrivalSource } from '../workload/sources';
import { EventKind, type Simulation } from './context';
import { route } from './engines';

export interface ArrivalFeed {
  readonly sources: ArrivalSource[];
  /** Each source's next request (reused records), referenced by its arrival event. */
  readonly next: Arrival[];
  /** Sources with requests still to come. */
  sourcesLeft: number;
}

/** No source open yet: the run's initial allocation is placed first. */
export function newArrivalFeed(): ArrivalFeed {
  return { sources: [], next: [], sourcesLeft: 0 };
}

/** Opens one arrival source per workload entry and queues each one's first request. */
export function openArrivalSources(sim: Simulation, traces: Partial<Record<AzureTraceName, AzureTrace>>, serviceIndex: ReadonlyMap<string, number>, seed: number): void {
  const { scenario, arrivals: feed } = sim;
  const sources: ArrivalSource[] = scenario.workload.map((w) => {
    if (w.kind === 'gamma') return gammaSource(w, serviceIndex, seed, scenario.durationSec);
    const trace = traces[w.trace];
    if (!trace) throw new SsisError('SSIS_INVALID_CONFIG', `scenario ${scenario.name}: workload ${w.name} needs the Azure ${w.trace} trace`, { issues: [{ field: `workload.${w.name}.trace`, message: 'trace not loaded' }] });
    return azureSource(w, trace, serviceIndex, seed, scenario.durationSec);
  });
  feed.sources.push(...sources);
  feed.next.push(...sources.map((): Arrival => ({ timeMs: 0, service: 0, inputTokens: 0, outputTokens: 0 })));
  sources.forEach((src, i) => {
    if (src.next(feed.next[i]!)) {
      sim.queue.push(feed.next[i]!.timeMs, EventKind.arrival, i);
      feed.sourcesLeft++;
    }
  });
}

/** Admits the source's pending request at `t`, routes it, and schedules the source's next one. */
export function admitArrival(sim: Simulation, source: number, t: number): void {
  const { arrivals: feed, accounting } = sim;
  const a = feed.next[source]!;
  const s = sim.services[a.service]!;
  // Requests longer than the model's context are cut to it (counted), as a client would have to.
  let out = a.outputTokens;
  let inp = a.inputTokens;
  const maxLen = s.model.maxModelLen;
  if (out > maxLen >> 1 || inp + out > maxLen) {
    accounting.truncated++;
    out = Math.min(out, maxLen >> 1);
    inp = Math.max(1, Math.min(inp, maxLen - out));
  }
  const slot = sim.requests.allocate(s.index, inp, out, t);
  if (t < accounting.firstArrivalMs) accounting.firstArrivalMs = t;
  s.arrivals++;
  s.recordArrivals++;
  accounting.arrivals++;
  route(sim, s, slot, t);
  if (feed.sources[source]!.next(a)) sim.queue.push(Math.max(a.timeMs, t), EventKind.arrival, source);
  else feed.sourcesLeft--;
}
