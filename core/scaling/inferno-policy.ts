/**
 * The `inferno` scaling policy: the optimizer (core/optimizer/cluster-system) proposes, for the measured
 * load, the least-cost partition, replica count and batch size that meet the service class's SLOs; this
 * reducer decides when to act on the proposal, with the same guards as the ladder:
 * - one decision in flight per service (settlePending);
 * - more capacity (a costlier allocation) is applied at once, but not within the cooldown after a change,
 *   so a new revision's load settles before it is judged;
 * - less capacity (a cheaper or equally priced allocation) only after the optimizer proposed it for the
 *   whole stabilization window (HPA's scale-down stabilization), so a lull does not tear down replicas;
 * - a partition that failed placement is backed off (the caller leaves it out of the optimization).
 * It shares LadderMemory with the ladder, so a service can change policy without losing its state.
 */
import type { ClusterService, ClusterTarget } from '../optimizer/cluster-system';
import { settlePending, type LadderMemory } from './ladder';
import type { PredictedLatency, ScaleAction, ScaleTarget } from './scale-target';
import type { LoadMeasurement, ServiceSample } from './service-sample';

export interface InfernoPolicySettings {
  readonly stabilizationWindowMs: number;
  readonly upCooldownMs: number;
  readonly pendingTimeoutMs: number;
}

export interface InfernoDecision {
  readonly action: ScaleAction;
  readonly target: ScaleTarget & { readonly maxBatchSize: number };
  readonly predicted: PredictedLatency;
  readonly reason: string;
}

export interface InfernoStep {
  readonly memory: LadderMemory;
  readonly decision: InfernoDecision | null;
  /** Why nothing was decided, for logs and what-if reports. */
  readonly note: string;
}

export interface InfernoProposal {
  /** The optimizer's allocation for this service; null when none meets the SLOs within capacity. */
  readonly target: ClusterTarget | null;
  /** cents/hour of what the service runs now (same cost model as the target). */
  readonly currentCostCentsPerHour: number;
}

const ms = (v: number): string => `${v.toFixed(1)} ms`;

function describeTarget(t: ClusterTarget): string {
  const slo = t.sloMet ? 'SLOs predicted met' : `best effort, ${t.replicas} of ${t.requiredReplicas} replicas`;
  return `${t.replicas}× ${t.profile} on ${t.gpuModel}, batch ${t.maxBatchSize}, predicted TTFT ${ms(t.predictedTtftMs)} ITL ${ms(t.predictedItlMs)} (${slo}), ${t.costCentsPerHour.toFixed(2)} ¢/h`;
}

export function infernoStep(settings: InfernoPolicySettings, memory: LadderMemory, s: ServiceSample, proposal: InfernoProposal, nowMs: number): InfernoStep {
  const gate = settlePending(memory, s, nowMs, settings.pendingTimeoutMs);
  let mem = gate.memory;
  if (gate.waitingFor !== null) return { memory: mem, decision: null, note: `waiting for decision ${gate.waitingFor}` };
  if (s.rolloutInProgress) return { memory: { ...mem, downSinceMs: null }, decision: null, note: 'rollout in progress' };
  if (s.profile === null || s.gpuModel === null || s.replicas === 0) return { memory: mem, decision: null, note: 'no replicas (cold start is the ingress’s)' };
  const t = proposal.target;
  if (t === null) return { memory: { ...mem, downSinceMs: null }, decision: null, note: 'no allocation meets the SLOs within capacity: keeping the current one' };

  const samePartition = t.gpuModel === s.gpuModel && t.profile === s.profile;
  if (samePartition && t.replicas === s.replicas) return { memory: { ...mem, downSinceMs: null }, decision: null, note: `optimal already: ${describeTarget(t)}` };

  const action: ScaleAction = samePartition
    ? t.replicas > s.replicas ? 'out' : 'in'
    : t.costCentsPerHour / t.replicas > proposal.currentCostCentsPerHour / s.replicas ? 'up' : 'down';
  const decision: InfernoDecision = {
    action,
    target: { gpuModel: t.gpuModel, profile: t.profile, replicas: t.replicas, maxBatchSize: t.maxBatchSize },
    predicted: { ttftMs: t.predictedTtftMs, itlMs: t.predictedItlMs },
    reason: `inferno: ${s.replicas}× ${s.profile} → ${describeTarget(t)}`,
  };
  if (t.costCentsPerHour > proposal.currentCostCentsPerHour) {
    mem = { ...mem, downSinceMs: null };
    if (mem.lastChangeMs !== null && nowMs - mem.lastChangeMs < settings.upCooldownMs) {
      return { memory: mem, decision: null, note: 'cooling down after the last change' };
    }
    return { memory: mem, decision, note: decision.reason };
  }
  const downSince = mem.downSinceMs ?? nowMs;
  mem = { ...mem, downSinceMs: downSince };
  if (nowMs - downSince < settings.stabilizationWindowMs) {
    return { memory: mem, decision: null, note: `cheaper allocation proposed for ${Math.round((nowMs - downSince) / 1000)}s, stabilizing: ${describeTarget(t)}` };
  }
  return { memory: { ...mem, downSinceMs: null }, decision, note: decision.reason };
}

/** Back-off key of a partition for the inferno policy (the ladder keys by profile alone). */
export function infernoBackoffKey(gpuModel: string, profile: string): string {
  return `inferno:${gpuModel}:${profile}`;
}

/** Partitions backed off for this service at `nowMs` (their placement failed recently). */
export function backedOffPartitions(memory: LadderMemory, nowMs: number): { gpuModel: string; profile: string }[] {
  return Object.entries(memory.backoffUntilMs)
    .filter(([key, until]) => key.startsWith('inferno:') && until > nowMs)
    .map(([key]) => {
      const [, gpuModel = '', profile = ''] = key.split(':');
      return { gpuModel, profile };
    });
}

/**
 * The request rate the optimizer sizes for. The measured rate is the completion rate (vLLM counts
 * requests when they finish, as WVA's collector reads it), which under overload equals the capacity
 * already held: sized on it alone, a saturated service would never grow. Requests waiting are demand
 * not yet served, so the backlog is added as the rate that clears it within `backlogDrainSec`. `headroom`
 * plans capacity above that (0.2: for 120 %), so that a burst does not breach the SLOs before a scale-up lands.
 */
export function demandRatePerSec(load: Pick<LoadMeasurement, 'arrivalRatePerSec' | 'requestsWaiting'>, backlogDrainSec: number, headroom = 0): number {
  return (load.arrivalRatePerSec + (backlogDrainSec > 0 ? load.requestsWaiting / backlogDrainSec : 0)) * (1 + headroom);
}

/** A live sample as the cluster optimizer's service (null at zero replicas: it holds nothing to re-plan). */
export function clusterServiceOf(
  s: ServiceSample,
  o: {
    readonly serviceClass: string; readonly minReplicas: number; readonly maxReplicas: number; readonly memory: LadderMemory; readonly nowMs: number;
    readonly backlogDrainSec: number; readonly headroom?: number;
  },
): ClusterService | null {
  if (s.replicas === 0 || s.profile === null || s.gpuModel === null) return null;
  return {
    service: s.service,
    modelId: s.modelId,
    serviceClass: o.serviceClass,
    arrivalRatePerSec: demandRatePerSec(s.load, o.backlogDrainSec, o.headroom),
    avgInputTokens: s.load.avgInputTokens,
    avgOutputTokens: s.load.avgOutputTokens,
    current: { gpuModel: s.gpuModel, profile: s.profile, replicas: s.replicas },
    minReplicas: o.minReplicas,
    maxReplicas: o.maxReplicas,
    excluded: backedOffPartitions(o.memory, o.nowMs),
  };
}
