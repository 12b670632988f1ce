/** The run's result from its accounting: distributions, SLO attainment, GPU time, counters, plot series. */
import type { RunResult, ServiceResult } from '../results';
import { quantileSketch, summarise } from '../stats';
import type { Simulation } from './context';

export function runResult(sim: Simulation, run: { readonly seed: number; readonly endMs: number; readonly elapsedWallMs: () => number }): RunResult {
  const { accounting: acc, services, cluster, policy } = sim;
  const completed = acc.completed;
  const j = summarise(acc.jct);
  const makespanSec = completed > 0 ? (acc.lastCompletionMs - acc.firstArrivalMs) / 1000 : 0;
  const clusterGpuSeconds = cluster.size * (run.endMs / 1000);
  const perService: ServiceResult[] = services.map((s) => ({
    service: s.spec.name,
    model: s.model.modelId,
    requests: s.arrivals,
    completed: s.completed,
    jctMeanMs: s.completed > 0 ? s.jctSumMs / s.completed : NaN,
    ttftAttainment: s.completed > 0 ? s.ttftOk / s.completed : NaN,
    itlAttainment: s.completed > 0 ? s.itlOk / s.completed : NaN,
    gpuSeconds: s.gpuSeconds,
  }));
  return {
    scenario: sim.scenario.name,
    policy: policy.id,
    title: policy.title,
    seed: run.seed,
    placement: cluster.placementName,
    requests: acc.arrivals,
    completed,
    unfinished: acc.arrivals - completed,
    truncated: acc.truncated,
    jct: j.dist,
    ttft: summarise(acc.ttft).dist,
    tpot: summarise(acc.tpot).dist,
    makespanSec,
    throughputPerSec: makespanSec > 0 ? completed / makespanSec : 0,
    ttftAttainment: completed > 0 ? acc.ttftOk / completed : NaN,
    itlAttainment: completed > 0 ? acc.itlOk / completed : NaN,
    sloAttainment: completed > 0 ? acc.bothOk / completed : NaN,
    gpuSeconds: acc.gpuSeconds,
    occupiedGpuSeconds: acc.occupiedGpuSeconds,
    clusterGpuSeconds,
    idleWhileQueuedFraction: clusterGpuSeconds > 0 ? acc.idleWhileQueuedSec / clusterGpuSeconds : 0,
    allocatedIdleWhileQueuedFraction: clusterGpuSeconds > 0 ? acc.allocatedIdleWhileQueuedSec / clusterGpuSeconds : 0,
    reconfigurations: acc.reconfigurations,
    replicaMoves: acc.replicaMoves,
    replicasStarted: acc.replicasStarted,
    decisions: acc.decisions,
    placementFailures: acc.placementFailures,
    perService,
    series: sim.plots.series,
    jctQuantilesMs: quantileSketch(j.sorted),
    events: acc.events,
    steps: acc.steps,
    // Read last, so that it covers the summaries too.
    wallMs: run.elapsedWallMs(),
  };
}
