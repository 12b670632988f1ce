/**
 * The evaluate function: metrics-sampled → the policy of the service's class → scale-decided.
 * - `inferno` (the default): the optimizer (core/optimizer/cluster-system) over the latest measured load of
 *   every service under this policy, the cluster's GPUs and the class SLOs, acted on by the guards of
 *   core/scaling/inferno-policy. Its decisions carry the target partition, replicas, batch size and the
 *   predicted TTFT and ITL.
 * - `ssis-ladder`: the SSIS reference's tier ladder with its gaps fixed (core/scaling/ladder).
 * It keeps one LadderMemory per service (stabilization, in-flight decision, back-offs), fed by every sample
 * and by the outcomes of its decisions (rollout-completed, placement-failed).
 */
import type { ModelCatalog } from '../../core/catalog/model-catalog';
import type { Clock, IdSource } from '../../core/common/ports';
import { rulesFor, type AutoscalerConfig } from '../../core/config/autoscaler-config';
import { serviceClassOf, sloOf, type SsisConfig } from '../../core/config/ssis-config';
import { AllocationCache, allocationCost, optimizeCluster, optimizerSettings, type ClusterService, type ClusterSolution } from '../../core/optimizer/cluster-system';
import { servableTiers } from '../../core/scaling/cold-start';
import { clusterServiceOf, infernoBackoffKey, infernoStep, type InfernoPolicySettings } from '../../core/scaling/inferno-policy';
import {
  EMPTY_MEMORY, ladderOnDecision, ladderOnPlacementFailed, ladderOnRolloutCompleted, ladderStep, type LadderMemory, type LadderSettings,
} from '../../core/scaling/ladder';
import { createEvent } from '../../events/create';
import type { SsisEvent } from '../../events/envelope';
import { METRICS_SAMPLED, type MetricsSampled } from '../../events/metrics-sampled';
import { PLACEMENT_FAILED, type PlacementFailed } from '../../events/placement-failed';
import { ROLLOUT_COMPLETED, type RolloutCompleted } from '../../events/rollout-completed';
import { SCALE_DECIDED, type ScaleAction, type ScaleDecided } from '../../events/scale-decided';
import type { FunctionContext, SsisFunction } from '../runtime/function';

export interface EvaluateDeps {
  readonly catalog: ModelCatalog;
  /** Read on every sample, like the reference re-reads its ConfigMap on every evaluation. */
  readonly autoscalerConfig: () => AutoscalerConfig;
  readonly config: SsisConfig;
  readonly clock: Clock;
  readonly ids: IdSource;
  /**
   * GPUs per GPU model the optimizer may allocate (the cluster's inventory). Absent: capacity is not
   * limited (Inferno's Unlimited mode), e.g. where the function cannot see the nodes.
   */
  readonly inventory?: () => ReadonlyMap<string, number>;
  /** Forces one policy for every class (what-if replays); default: each class's own. */
  readonly policyOverride?: 'inferno' | 'ssis-ladder';
}

const SOURCE = '/ssis/functions/evaluate';

export function ladderSettingsFor(deps: Pick<EvaluateDeps, 'catalog' | 'config' | 'autoscalerConfig'>, sample: Pick<MetricsSampled, 'modelId' | 'service' | 'gpuModel'>): LadderSettings {
  const spec = deps.catalog.get(sample.modelId);
  const s = deps.config.scaler;
  return {
    rules: rulesFor(deps.autoscalerConfig(), sample.service),
    tiers: spec && sample.gpuModel ? servableTiers(spec, sample.gpuModel) : [],
    minReplicas: s.minReplicas,
    maxReplicas: s.maxReplicas,
    stabilizationWindowMs: s.stabilizationWindowSec * 1000,
    upCooldownMs: s.upCooldownSec * 1000,
    pendingTimeoutMs: s.pendingTimeoutSec * 1000,
    placementBackoffMs: s.placementBackoffSec * 1000,
    scaleToZeroAfterMs: s.scaleToZeroAfterSec * 1000,
  };
}

export { infernoBackoffKey } from '../../core/scaling/inferno-policy';

interface Seen {
  readonly sample: MetricsSampled;
  readonly atMs: number;
}

export function buildEvaluateFunction(deps: EvaluateDeps): SsisFunction {
  const memories = new Map<string, LadderMemory>();
  const latest = new Map<string, Seen>();
  // Every sample re-solves the cluster; most allocations repeat from one sample to the next.
  const allocationCache = new AllocationCache();
  const memoryOf = (service: string): LadderMemory => memories.get(service) ?? EMPTY_MEMORY;
  const policyOf = (modelId: string): 'inferno' | 'ssis-ladder' => deps.policyOverride ?? serviceClassOf(deps.config, modelId).policy;

  function onEvent(event: SsisEvent, ctx: FunctionContext): Promise<SsisEvent | undefined> {
    return Promise.resolve().then(() => evaluate(event, ctx));
  }

  function evaluate(event: SsisEvent, ctx: FunctionContext): SsisEvent | undefined {
    const now = deps.clock.nowMs();
    if (event.type === ROLLOUT_COMPLETED) {
      const d = event.data as RolloutCompleted;
      memories.set(d.service, ladderOnRolloutCompleted(memoryOf(d.service), d.decisionId, now));
      return undefined;
    }
    if (event.type === PLACEMENT_FAILED) {
      const d = event.data as PlacementFailed;
      const settings = ladderSettingsFor(deps, { modelId: d.modelId, service: d.service, gpuModel: d.requested.gpuModel });
      let mem = ladderOnPlacementFailed(settings, memoryOf(d.service), d.decisionId, d.requested.profile, now);
      mem = ladderOnPlacementFailed(settings, mem, d.decisionId, infernoBackoffKey(d.requested.gpuModel, d.requested.profile), now);
      memories.set(d.service, mem);
      return undefined;
    }
    const sample = event.data as MetricsSampled;
    latest.set(sample.service, { sample, atMs: now });
    return policyOf(sample.modelId) === 'inferno' ? evaluateInferno(sample, now, ctx) : evaluateLadder(sample, now);
  }

  function emit(sample: MetricsSampled, now: number, d: { action: ScaleAction; policy: ScaleDecided['policy']; target: ScaleDecided['target']; reason: string; predicted?: ScaleDecided['predicted'] }): SsisEvent {
    // Deterministic id: re-delivering the same sample yields the same decision, recognised downstream.
    const where = d.target.gpuModel === sample.gpuModel ? '' : `@${d.target.gpuModel}`;
    const decisionId = `${sample.service}-g${sample.generation}-${d.action}-${d.target.profile}${where}x${d.target.replicas}`;
    memories.set(sample.service, ladderOnDecision(memoryOf(sample.service), decisionId, sample.generation, now));
    const decision: ScaleDecided = {
      decisionId,
      service: sample.service,
      modelId: sample.modelId,
      action: d.action,
      policy: d.policy,
      fromGeneration: sample.generation,
      current: { profile: sample.profile, gpuModel: sample.gpuModel, replicas: sample.replicas },
      target: d.target,
      reason: d.reason,
      ...(d.predicted ? { predicted: d.predicted } : {}),
      decidedAt: new Date(now).toISOString(),
    };
    return createEvent(SCALE_DECIDED, decision, { source: SOURCE, clock: deps.clock, ids: deps.ids });
  }

  function evaluateLadder(sample: MetricsSampled, now: number): SsisEvent | undefined {
    const step = ladderStep(ladderSettingsFor(deps, sample), memoryOf(sample.service), sample, now);
    memories.set(sample.service, step.memory);
    if (!step.decision || !sample.gpuModel) return undefined;
    const d = step.decision;
    return emit(sample, now, { action: d.action, policy: 'ssis-ladder', target: { profile: d.target.profile, gpuModel: sample.gpuModel, replicas: d.target.replicas }, reason: d.reason });
  }

  /** The joint optimization over every live service under the inferno policy. */
  function solveCluster(now: number): ClusterSolution {
    const o = deps.config.optimizer;
    const services: ClusterService[] = [];
    const reserved: { gpuModel: string; profile: string; replicas: number }[] = [];
    for (const [service, seen] of latest) {
      const s = seen.sample;
      if (now - seen.atMs > o.sampleMaxAgeSec * 1000) continue;
      if (s.replicas === 0 || s.profile === null || s.gpuModel === null) continue;
      if (policyOf(s.modelId) !== 'inferno') {
        reserved.push({ gpuModel: s.gpuModel, profile: s.profile, replicas: s.replicas });
        continue;
      }
      const cs = clusterServiceOf(s, {
        serviceClass: serviceClassOf(deps.config, s.modelId).name,
        minReplicas: deps.config.scaler.minReplicas,
        maxReplicas: deps.config.scaler.maxReplicas,
        memory: memoryOf(service),
        nowMs: now,
        backlogDrainSec: o.backlogDrainSec,
        headroom: o.headroom,
      });
      if (cs) services.push(cs);
    }
    const classes = deps.config.serviceClasses.map((c) => ({ name: c.name, priority: c.priority, sloFor: (modelId: string) => sloOf(c, modelId) }));
    const inventory = deps.inventory?.();
    const gpus = inventory ?? new Map(services.map((s) => [s.current!.gpuModel, 0] as const));
    return optimizeCluster({
      catalog: deps.catalog,
      gpus,
      services,
      classes,
      ...optimizerSettings(o),
      unlimited: inventory === undefined,
      reserved,
    }, allocationCache);
  }

  function evaluateInferno(sample: MetricsSampled, now: number, ctx: FunctionContext): SsisEvent | undefined {
    const s = deps.config.scaler;
    const settings: InfernoPolicySettings = { stabilizationWindowMs: s.stabilizationWindowSec * 1000, upCooldownMs: s.upCooldownSec * 1000, pendingTimeoutMs: s.pendingTimeoutSec * 1000 };
    if (sample.replicas === 0 || sample.profile === null || sample.gpuModel === null) {
      const step = infernoStep(settings, memoryOf(sample.service), sample, { target: null, currentCostCentsPerHour: 0 }, now);
      memories.set(sample.service, step.memory);
      return undefined;
    }
    let solution: ClusterSolution;
    try {
      solution = solveCluster(now);
    } catch (err) {
      // A configuration the optimizer cannot use (e.g. a GPU model without a cost) must not stop scaling
      // decisions for good: log it with the service and keep the current allocation.
      ctx.logger.warn({ service: sample.service, error: (err as Error).message }, 'inferno optimization failed; keeping the current allocation');
      return undefined;
    }
    const current = { gpuModel: sample.gpuModel, profile: sample.profile, replicas: sample.replicas };
    const step = infernoStep(settings, memoryOf(sample.service), sample, {
      target: solution.targets.get(sample.service) ?? null,
      currentCostCentsPerHour: allocationCost(solution, current) ?? 0,
    }, now);
    memories.set(sample.service, step.memory);
    if (!step.decision) {
      ctx.logger.debug({ service: sample.service, note: step.note }, 'inferno: no change');
      return undefined;
    }
    const d = step.decision;
    return emit(sample, now, { action: d.action, policy: 'inferno', target: { ...d.target }, reason: d.reason, predicted: d.predicted });
  }

  return { name: 'evaluate', handles: [METRICS_SAMPLED, ROLLOUT_COMPLETED, PLACEMENT_FAILED], onEvent };
}
