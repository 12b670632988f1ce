/**
 * A run before its first event: the cluster (with the policy's static partition, if any) and the
 * policy's initial allocation placed, ready at t = 0; the arrival sources opened; the control loop
 * and the plot record scheduled.
 */
import { rulesFor } from '../../core/config/autoscaler-config';
import { SsisError } from '../../core/errors';
import type { GpuState } from '../../core/mig/layout';
import { buildGpus, SimCluster } from '../cluster';
import { EventQueue } from '../event-queue';
import { classifyQuery } from '../metric-queries';
import { firstFitPlacement } from '../placement';
import { policyTag } from '../policies/ids';
import type { PolicyContext } from '../policies/port';
import { RequestTable } from '../request-table';
import { expectedLoad } from '../workload/expected';
import { RunAccounting } from './accounting';
import { newArrivalFeed, openArrivalSources } from './arrivals';
import type { Simulation } from './context';
import { scheduleFirstTick } from './control-loop';
import type { SimulationInput } from './input';
import { createPlotRecorder, scheduleFirstRecord } from './plot-series';
import { placeReplicas } from './replicas';
import { newServiceRuntime, type ServiceRuntime } from './runtime';

export function setUpSimulation(input: SimulationInput, seed: number): Simulation {
  const { scenario, catalog, config, autoscaler, policy } = input;
  const cluster = new SimCluster(buildGpus(scenario), input.placement ?? firstFitPlacement);
  const requests = new RequestTable();
  const services: ServiceRuntime[] = scenario.services.map((spec, index) => newServiceRuntime(
    index, spec, catalog.get(spec.model)!, rulesFor(autoscaler, spec.name).map((r) => ({ name: r.name, kind: classifyQuery(r.query)! })),
  ));
  const serviceByName = new Map(services.map((s) => [s.spec.name, s]));
  const policyContext: PolicyContext = {
    scenario,
    catalog,
    config,
    autoscaler,
    services: scenario.services,
    expectedLoad: expectedLoad(scenario, input.traces),
    gpuModels: [...new Set(cluster.gpus.map((g) => g.model))],
    gpuCount: cluster.size,
    spec: (name) => serviceByName.get(name)!.model,
    gpus: () => cluster.gpus,
    placeable: (gpuModel, profile) => cluster.placeable(gpuModel, profile),
  };
  const sim: Simulation = {
    scenario,
    policy,
    policyContext,
    cluster,
    requests,
    queue: new EventQueue(),
    services,
    serviceByName,
    replicas: [],
    commands: [],
    arrivals: newArrivalFeed(),
    plots: createPlotRecorder(scenario),
    accounting: new RunAccounting(cluster, requests),
  };
  placeInitialAllocation(sim);
  openArrivalSources(sim, input.traces, new Map(services.map((s) => [s.spec.name, s.index])), seed);
  scheduleFirstTick(sim);
  scheduleFirstRecord(sim);
  return sim;
}

/** The policy's static partition and initial replicas; every policy starts warm, so none pays a cold start. */
function placeInitialAllocation(sim: Simulation): void {
  const { scenario, policy, policyContext, cluster } = sim;
  const layout: GpuState[] | null = policy.initialLayout?.(policyContext) ?? null;
  if (layout) cluster.setLayout(layout);
  for (const a of policy.initial(policyContext)) {
    const s = sim.serviceByName.get(a.service);
    if (!s) throw new SsisError('SSIS_INTERNAL', `policy ${policy.id} allocated unknown service ${a.service}`);
    const placed = placeReplicas(sim, s, a, a.replicas, 0, { allOrNothing: true, readyAtStart: true });
    if (typeof placed === 'string') {
      throw new SsisError('SSIS_PLACEMENT_INFEASIBLE', `scenario ${scenario.name}: policy ${policyTag(policy.id)} ${policy.title} cannot place its initial ${a.replicas} × ${a.profile} for ${a.service}: ${placed}`, {
        details: { scenario: scenario.name, policy: policy.id, service: a.service },
      });
    }
    if (s.profile === null) {
      s.profile = a.profile;
      s.gpuModel = a.gpuModel;
    }
  }
}
