/**
 * (e) SSIS in full: the optimizer over the whole cluster (core/optimizer/cluster-system: Inferno's
 * queueing model, MIG profiles as accelerator types, capacity packed by MIG geometry) proposes for
 * each service the least-cost partition, replicas and batch size meeting its SLOs; the inferno
 * policy's guards (core/scaling/inferno-policy: one decision in flight, cooldown, scale-down
 * stabilization, placement back-off) decide when to act. Driven by the same code as functions/evaluate
 * drives it (core/scaling/policy-driver), except that the joint optimization runs once per sampling
 * tick for all services instead of once per sample (same inputs: every service's latest sample), with
 * one service class per scenario service. Placement goes through the placement port (the MIG planner
 * when present, else first-fit).
 */
import { AllocationCache, gpuInventory, optimizeCluster, optimizerSettings, type ClusterService, type ClusterSolution } from '../../core/optimizer/cluster-system';
import type { PolicyDriver } from '../../core/scaling/policy-driver';
import { coldStartAllocations } from './cold-start';
import { scaleCommandOf, simEvaluateStage } from './evaluate-stage';
import type { PolicyContext, ScaleCommand, SimPolicy } from './port';

export function ssisFullPolicy(intervalSec: number): SimPolicy {
  const stage = simEvaluateStage();
  const allocationCache = new AllocationCache();

  const solve = (ctx: PolicyContext, driver: PolicyDriver, samples: Parameters<SimPolicy['decide']>[1], nowMs: number): ClusterSolution => {
    const services: ClusterService[] = [];
    for (const s of samples) {
      const cs = driver.clusterService(s, { serviceClass: s.service, nowMs });
      if (cs) services.push(cs);
    }
    // One service class per scenario service, carrying that service's SLOs.
    const classes = ctx.services.map((s) => ({ name: s.name, priority: 1, sloFor: () => ({ ttftMs: s.slo.ttftMs, itlMs: s.slo.itlMs }) }));
    const gpus = gpuInventory(ctx.gpus());
    return optimizeCluster({
      catalog: ctx.catalog,
      gpus,
      services,
      classes,
      ...optimizerSettings(ctx.config.optimizer),
      unlimited: false,
      reserved: [],
    }, allocationCache);
  };

  return {
    id: 'ssis-full',
    title: 'SSIS full: optimizer + MIG placement',
    intervalSec,
    needsPlaceability: false,
    initial: coldStartAllocations,
    decide(ctx, samples, nowMs) {
      const driver = stage.driver(ctx);
      const solution = solve(ctx, driver, samples, nowMs);
      const out: ScaleCommand[] = [];
      for (const sample of samples) {
        const decision = driver.inferno(sample, nowMs, () => solution)?.decision;
        if (decision) out.push(scaleCommandOf(sample.service, decision));
      }
      return out;
    },
    onRolloutCompleted(service, decisionId, nowMs) {
      stage.made().rolloutCompleted(service, decisionId, nowMs);
    },
    onPlacementFailed(ctx, service, decisionId, gpuModel, profile, nowMs) {
      stage.driver(ctx).placementFailed({ service, modelId: ctx.spec(service).modelId, decisionId, gpuModel, profile }, nowMs);
    },
  };
}
