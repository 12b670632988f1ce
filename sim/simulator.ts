/**
 * The discrete-event simulator: one scenario under one policy, in virtual time.
 *
 * Events (binary heap, ./event-queue): an arrival per workload source, the end of each replica's
 * engine step (per-iteration stepping: a step advances the whole batch; tokens are never events),
 * the policy's control-loop tick, a decision's actuation after the decision delay, a replica
 * becoming ready after pod start + model load (+ MIG repartition when its GPU's layout changed),
 * and a periodic record for the plots. The policy sees the MetricsSampled records the sample
 * function would publish; placement is the core's (first-fit, or the planner through the
 * placement port). Pure: no I/O, no wall clock; the same inputs and seed give the same result.
 *
 * The parts live in ./simulation/: setup (the run at t = 0), loop (the event dispatch), arrivals,
 * engines (routing and stepping), replicas and actuation (the policy's commands carried out),
 * sampling and control-loop (what the policy sees and when), accounting, plot-series and result.
 */
import { canServe } from '../core/catalog/engine-config';
import type { ModelCatalog } from '../core/catalog/model-catalog';
import { validationError, type FieldIssue } from '../core/errors';
import { checkSimulatable } from './metric-queries';
import type { RunResult } from './results';
import type { Scenario } from './scenario';
import type { SimulationInput } from './simulation/input';
import { runEventLoop } from './simulation/loop';
import { runResult } from './simulation/result';
import { setUpSimulation } from './simulation/setup';

export type { SimulationInput } from './simulation/input';

/** Every service's model must be in the catalog and servable on some GPU of the cluster. */
export function checkScenarioAgainstCatalog(scenario: Scenario, catalog: ModelCatalog, where = 'scenario'): void {
  const issues: FieldIssue[] = [];
  const gpuModels = [...new Set(scenario.cluster.gpus.map((g) => g.model))];
  scenario.services.forEach((s, i) => {
    const spec = catalog.get(s.model);
    if (!spec) issues.push({ field: `${where}.services[${i}].model`, message: `"${s.model}" is not in the model catalog (known: ${[...catalog.keys()].join(', ')})` });
    else if (!gpuModels.some((g) => canServe(spec, g, 'gpu'))) {
      issues.push({ field: `${where}.services[${i}].model`, message: `"${s.model}" has no performance data or does not fit on ${gpuModels.join(', ')}` });
    }
  });
  if (issues.length > 0) throw validationError('SSIS_INVALID_CONFIG', `invalid scenario (${where})`, issues);
}

export function simulate(input: SimulationInput): RunResult {
  const wall = input.wallClockMs ?? ((): number => 0);
  const wallStart = wall();
  const seed = input.seed ?? input.scenario.seed;
  checkScenarioAgainstCatalog(input.scenario, input.catalog);
  checkSimulatable(input.autoscaler);
  const sim = setUpSimulation(input, seed);
  const endMs = runEventLoop(sim, input.onProgress);
  return runResult(sim, { seed, endMs, elapsedWallMs: () => wall() - wallStart });
}
