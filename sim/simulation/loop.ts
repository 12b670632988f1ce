/**
 * The event loop: pops events in time order until the workload is done (every source exhausted,
 * no request in flight) or the drain limit passes, integrating the accounting before each event.
 */
import { actuate, replicaReady } from './actuation';
import { admitArrival } from './arrivals';
import { EventKind, type Simulation } from './context';
import { controlTick } from './control-loop';
import { completionListener, endStep } from './engines';
import { recordPlotPoint } from './plot-series';

/** Runs the simulation to its end; returns the virtual time it ended at (ms). */
export function runEventLoop(sim: Simulation, onProgress?: (fraction: number) => void): number {
  const { queue, accounting, scenario } = sim;
  const durationMs = scenario.durationSec * 1000;
  const hardEndMs = durationMs + scenario.drainLimitSec * 1000;
  const listener = completionListener(sim);
  let nextProgress = 0;
  while (queue.pop()) {
    const t = queue.time;
    if (t > hardEndMs) break;
    accounting.advance(t);
    accounting.events++;
    switch (queue.kind) {
      case EventKind.arrival:
        admitArrival(sim, queue.ref, t);
        break;
      case EventKind.stepEnd:
        endStep(sim, sim.replicas[queue.ref]!, t, listener);
        break;
      case EventKind.tick:
        controlTick(sim, t);
        break;
      case EventKind.actuate:
        actuate(sim, sim.commands[queue.ref]!, t);
        break;
      case EventKind.ready:
        replicaReady(sim, sim.replicas[queue.ref]!, t);
        break;
      case EventKind.record:
        recordPlotPoint(sim, t);
        break;
    }
    if (onProgress && accounting.events >= nextProgress) {
      nextProgress = accounting.events + 50_000;
      onProgress(Math.min(1, t / durationMs));
    }
    if (sim.arrivals.sourcesLeft === 0 && sim.requests.inFlight === 0) break;
  }
  const endMs = accounting.lastMs;
  // Settle every service's GPU-seconds up to the end.
  for (const s of sim.services) accounting.setServiceAllocation(s, 0, endMs);
  onProgress?.(1);
  return endMs;
}
