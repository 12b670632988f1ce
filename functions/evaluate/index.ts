/**
 * The evaluate function: metrics-sampled → the policy of the service's class → scale-decided.
 * - `inferno` (the default): the optimizer (core/optimizer/cluster-system) over the latest measured load of
 *   every service under this policy, the cluster's GPUs and the class SLOs, acted on by the guards of
 *   core/scaling/inferno-policy. Its decisions carry the target partition, replicas, batch size and the
 *   predicted TTFT and ITL.
 * - `ssis-ladder`: the SSIS reference's tier ladder with its gaps fixed (core/scaling/ladder).
 * Both are driven by core/scaling/policy-driver, as the simulator drives them: one LadderMemory per service
 * (stabilization, in-flight decision, back-offs), fed by every sample and by the outcomes of its decisions
 * (rollout-completed, placement-failed; a placement failure counts only for the decision the driver made, never
 * for a cold start or a decision someone else sent). What is this function's own: the policy of each service's class,
 * and the joint optimization over the latest sample of every service, re-solved on each sample.
 */
import type { Clock, IdSource } from '../../core/common/ports';
import { serviceClassOf, sloOf } from '../../core/config/ssis-config';
import { AllocationCache, optimizeCluster, optimizerSettings, type ClusterService, type ClusterSolution } from '../../core/optimizer/cluster-system';
import { createPolicyDriver, type PolicyDecision, type PolicyDriverDeps } from '../../core/scaling/policy-driver';
import { heldAllocation } from '../../core/scaling/service-sample';
import { createEvent } from '../../events/create';
import type { SsisEvent } from '../../events/envelope';
import { METRICS_SAMPLED, type MetricsSampled } from '../../events/metrics-sampled';
import { PLACEMENT_FAILED, type PlacementFailed } from '../../events/placement-failed';
import { ROLLOUT_COMPLETED, type RolloutCompleted } from '../../events/rollout-completed';
import { SCALE_DECIDED, type ScaleDecided } from '../../events/scale-decided';
import type { FunctionContext, SsisFunction } from '../runtime/function';

/** The policy driver's catalog, autoscaler-config (read on every sample) and ssis-config, and the function's own. */
export interface EvaluateDeps extends PolicyDriverDeps {
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

interface Seen {
  readonly sample: MetricsSampled;
  readonly atMs: number;
}

export function buildEvaluateFunction(deps: EvaluateDeps): SsisFunction {
  const driver = createPolicyDriver(deps);
  const latest = new Map<string, Seen>();
  // Every sample re-solves the cluster; most allocations repeat from one sample to the next.
  const allocationCache = new AllocationCache();
  const policyOf = (modelId: string): 'inferno' | 'ssis-ladder' => deps.policyOverride ?? serviceClassOf(deps.config, modelId).policy;

  function onEvent(event: SsisEvent, ctx: FunctionContext): Promise<SsisEvent | undefined> {
    return Promise.resolve().then(() => evaluate(event, ctx));
  }

  function evaluate(event: SsisEvent, ctx: FunctionContext): SsisEvent | undefined {
    const now = deps.clock.nowMs();
    if (event.type === ROLLOUT_COMPLETED) {
      const d = event.data as RolloutCompleted;
      driver.rolloutCompleted(d.service, d.decisionId, now);
      return undefined;
    }
    if (event.type === PLACEMENT_FAILED) {
      const d = event.data as PlacementFailed;
      const counted = driver.placementFailed({ service: d.service, modelId: d.modelId, decisionId: d.decisionId, gpuModel: d.requested.gpuModel, profile: d.requested.profile }, now);
      // A cold start's failure is the request function's to act on (it fails the held requests; the next request tries again).
      if (!counted) ctx.logger.info({ service: d.service, decisionId: d.decisionId, reason: d.reason }, 'placement failed for a decision this evaluator did not make: no back-off');
      return undefined;
    }
    const sample = event.data as MetricsSampled;
    latest.set(sample.service, { sample, atMs: now });
    return policyOf(sample.modelId) === 'inferno' ? evaluateInferno(sample, now, ctx) : evaluateLadder(sample, now);
  }

  function emit(sample: MetricsSampled, now: number, d: PolicyDecision): SsisEvent {
    const decision: ScaleDecided = {
      decisionId: d.decisionId,
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
    const { decision } = driver.ladder(sample, now);
    return decision ? emit(sample, now, decision) : undefined;
  }

  /** The joint optimization over every live service under the inferno policy. */
  function solveCluster(now: number): ClusterSolution {
    const o = deps.config.optimizer;
    const services: ClusterService[] = [];
    const reserved: { gpuModel: string; profile: string; replicas: number }[] = [];
    for (const seen of latest.values()) {
      const s = seen.sample;
      if (now - seen.atMs > o.sampleMaxAgeSec * 1000) continue;
      const held = heldAllocation(s);
      if (held === null) continue;
      if (policyOf(s.modelId) !== 'inferno') {
        reserved.push(held);
        continue;
      }
      const cs = driver.clusterService(s, { serviceClass: serviceClassOf(deps.config, s.modelId).name, nowMs: now });
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
    const outcome = driver.inferno(sample, now, () => {
      try {
        return solveCluster(now);
      } catch (err) {
        // A configuration the optimizer cannot use (e.g. a GPU model without a cost) must not stop scaling
        // decisions for good: log it with the service and keep the current allocation.
        ctx.logger.warn({ service: sample.service, error: (err as Error).message }, 'inferno optimization failed; keeping the current allocation');
        return null;
      }
    });
    if (outcome === null) return undefined;
    if (!outcome.decision) {
      ctx.logger.debug({ service: sample.service, note: outcome.note }, 'inferno: no change');
      return undefined;
    }
    return emit(sample, now, outcome.decision);
  }

  return { name: 'evaluate', handles: [METRICS_SAMPLED, ROLLOUT_COMPLETED, PLACEMENT_FAILED], onEvent };
}
