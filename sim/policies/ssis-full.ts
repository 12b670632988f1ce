/**
 * (e) SSIS in full: the optimizer over the whole cluster (core/optimizer/cluster-system: Inferno's
 * queueing model, MIG profiles as accelerator types, capacity packed by MIG geometry) proposes for
 * each service the least-cost partition, replicas and batch size meeting its SLOs; the inferno
 * policy's guards (core/scaling/inferno-policy: one decision in flight, cooldown, scale-down
 * stabilization, placement back-off) decide when to act. Driven as functions/evaluate drives it,
 * except that the joint optimization runs once per sampling tick for all services instead of once
 * per sample (same inputs: every service's latest sample). Placement goes through the placement
 * port (the MIG planner when present, else first-fit).
 */
import { AllocationCache, allocationCost, gpuInventory, optimizeCluster, optimizerSettings, type ClusterService, type ClusterSolution } from '../../core/optimizer/cluster-system';
import { clusterServiceOf, infernoStep, type InfernoPolicySettings } from '../../core/scaling/inferno-policy';
import { EMPTY_MEMORY, ladderOnDecision, ladderOnPlacementFailed, ladderOnRolloutCompleted, type LadderMemory } from '../../core/scaling/ladder';
import { infernoBackoffKey, ladderSettingsFor } from '../../functions/evaluate/index';
import { coldStartAllocations } from './cold-start';
import type { PolicyContext, ScaleCommand, SimPolicy } from './port';

export function ssisFullPolicy(intervalSec: number): SimPolicy {
  const memories = new Map<string, LadderMemory>();
  const memoryOf = (service: string): LadderMemory => memories.get(service) ?? EMPTY_MEMORY;
  const allocationCache = new AllocationCache();

  const solve = (ctx: PolicyContext, samples: Parameters<SimPolicy['decide']>[1], nowMs: number): ClusterSolution => {
    const maxReplicas = ctx.scenario.policies.maxReplicas ?? ctx.config.scaler.maxReplicas;
    const services: ClusterService[] = [];
    for (const s of samples) {
      const cs = clusterServiceOf(s, {
        serviceClass: s.service,
        minReplicas: ctx.config.scaler.minReplicas,
        maxReplicas,
        memory: memoryOf(s.service),
        nowMs,
        backlogDrainSec: ctx.config.optimizer.backlogDrainSec,
        headroom: ctx.config.optimizer.headroom,
      });
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
    id: 'e',
    title: 'SSIS full: optimizer + MIG placement',
    intervalSec,
    needsPlaceability: false,
    initial: coldStartAllocations,
    decide(ctx, samples, nowMs) {
      const sc = ctx.config.scaler;
      const settings: InfernoPolicySettings = { stabilizationWindowMs: sc.stabilizationWindowSec * 1000, upCooldownMs: sc.upCooldownSec * 1000, pendingTimeoutMs: sc.pendingTimeoutSec * 1000 };
      const solution = solve(ctx, samples, nowMs);
      const out: ScaleCommand[] = [];
      for (const sample of samples) {
        if (sample.replicas === 0 || sample.profile === null || sample.gpuModel === null) continue;
        const current = { gpuModel: sample.gpuModel, profile: sample.profile, replicas: sample.replicas };
        const step = infernoStep(settings, memoryOf(sample.service), sample, {
          target: solution.targets.get(sample.service) ?? null,
          currentCostCentsPerHour: allocationCost(solution, current) ?? 0,
        }, nowMs);
        memories.set(sample.service, step.memory);
        if (!step.decision) continue;
        const d = step.decision;
        const where = d.target.gpuModel === sample.gpuModel ? '' : `@${d.target.gpuModel}`;
        const decisionId = `${sample.service}-g${sample.generation}-${d.action}-${d.target.profile}${where}x${d.target.replicas}`;
        memories.set(sample.service, ladderOnDecision(step.memory, decisionId, sample.generation, nowMs));
        out.push({ service: sample.service, gpuModel: d.target.gpuModel, profile: d.target.profile, replicas: d.target.replicas, maxBatch: d.target.maxBatchSize, decisionId, reason: d.reason });
      }
      return out;
    },
    onRolloutCompleted(service, decisionId, nowMs) {
      memories.set(service, ladderOnRolloutCompleted(memoryOf(service), decisionId, nowMs));
    },
    onPlacementFailed(ctx, service, decisionId, gpuModel, profile, nowMs) {
      const settings = ladderSettingsFor({ catalog: ctx.catalog, config: ctx.config, autoscalerConfig: () => ctx.autoscaler }, { modelId: ctx.spec(service).modelId, service, gpuModel });
      memories.set(service, ladderOnPlacementFailed(settings, memoryOf(service), decisionId, infernoBackoffKey(gpuModel, profile), nowMs));
    },
  };
}
