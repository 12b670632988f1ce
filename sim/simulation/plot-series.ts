/**
 * The time series behind the report's plots: arrivals and GPUs held per service, and requests
 * waiting, recorded at a fixed interval (about 240 points over the arrival window).
 */
import type { Scenario } from '../scenario';
import { EventKind, type Simulation } from './context';

export interface PlotRecorder {
  readonly intervalMs: number;
  readonly series: { readonly tSec: number[]; readonly arrivalsPerSec: number[][]; readonly allocatedGpus: number[][]; readonly queued: number[] };
}

export function createPlotRecorder(scenario: Scenario): PlotRecorder {
  const services = scenario.services;
  return {
    intervalMs: Math.max(5, Math.round(scenario.durationSec / 240)) * 1000,
    series: { tSec: [], arrivalsPerSec: services.map(() => []), allocatedGpus: services.map(() => []), queued: [] },
  };
}

export function scheduleFirstRecord(sim: Simulation): void {
  sim.queue.push(sim.plots.intervalMs, EventKind.record, 0);
}

/** Records one point of every series at `t` and schedules the next. */
export function recordPlotPoint(sim: Simulation, t: number): void {
  const { series, intervalMs } = sim.plots;
  series.tSec.push(t / 1000);
  for (const s of sim.services) {
    series.arrivalsPerSec[s.index]!.push(s.recordArrivals / (intervalMs / 1000));
    series.allocatedGpus[s.index]!.push(s.allocated);
    s.recordArrivals = 0;
  }
  series.queued.push(sim.accounting.arrivals - sim.requests.admitted);
  sim.queue.push(t + intervalMs, EventKind.record, 0);
}
