/**
 * The evaluate stage's driving logic, shared by the evaluate function and the simulator so that
 * both run the policies the same way: the policies' settings from the ssis-config, one
 * LadderMemory per service fed with every sample and with the outcomes of its decisions
 * (rollout completed, placement failed), and deterministic decision ids. It holds no clock: every
 * call takes the time it happens at, so it runs in virtual time as well as in real time.
 * What differs between its callers stays with them: which policy a service runs under and how the
 * joint optimization is solved (inputs, inventory, how often).
 */
import type { ModelCatalog } from '../catalog/model-catalog';
import { rulesFor, type AutoscalerConfig } from '../config/autoscaler-config';
import type { ScalingPolicyName, SsisConfig } from '../config/ssis-config';
import { allocationCost, type ClusterService, type ClusterSolution } from '../optimizer/cluster-system';
import { servableTiers } from './cold-start';
import { clusterServiceOf, infernoBackoffKey, infernoStep, type InfernoPolicySettings } from './inferno-policy';
import {
  EMPTY_MEMORY, ladderOnDecision, ladderOnPlacementFailed, ladderOnRolloutCompleted, ladderStep, type LadderMemory, type LadderSettings,
} from './ladder';
import type { PredictedLatency, ScaleAction, ScaleTarget } from './scale-target';
import { heldAllocation, type ServiceSample } from './service-sample';

export interface PolicyDriverDeps {
  readonly catalog: ModelCatalog;
  /** Read at every use, like the reference re-reads its ConfigMap on every evaluation. */
  readonly autoscalerConfig: () => AutoscalerConfig;
  readonly config: SsisConfig;
}

/** A policy's decision, named and recorded as in flight for its service. */
export interface PolicyDecision {
  readonly decisionId: string;
  readonly policy: ScalingPolicyName;
  readonly action: ScaleAction;
  readonly target: ScaleTarget;
  readonly reason: string;
  readonly predicted?: PredictedLatency;
}

export interface PolicyOutcome {
  readonly decision: PolicyDecision | null;
  /** Why nothing was decided (or the decision's reason), for logs and what-if reports. */
  readonly note: string;
}

/** What the evaluate stage learns from a placement-failed event. */
export interface PlacementFailure {
  readonly service: string;
  readonly modelId: string;
  readonly decisionId: string;
  readonly gpuModel: string;
  readonly profile: string;
}

export interface PolicyDriver {
  memoryOf(service: string): LadderMemory;
  /** Runs the tier ladder on one sample. */
  ladder(sample: ServiceSample, nowMs: number): PolicyOutcome;
  /**
   * Runs the inferno policy's guards on one sample against the joint optimization. `solve` is called
   * only when the sample holds replicas, and returns null when the optimization could not run: the
   * service then keeps its allocation and its memory as they are. Null when there was no proposal to
   * judge (no replicas held, or no solution).
   */
  inferno(sample: ServiceSample, nowMs: number, solve: () => ClusterSolution | null): PolicyOutcome | null;
  /** The sample as the optimizer's service, with this driver's back-offs and the configured bounds. */
  clusterService(sample: ServiceSample, o: { readonly serviceClass: string; readonly nowMs: number }): ClusterService | null;
  rolloutCompleted(service: string, decisionId: string, nowMs: number): void;
  /**
   * Backs the failed partition off for both policies, so a service that changes policy keeps it; only
   * for the latest decision this driver made for the service and the partition it decided. Returns
   * whether the failure counted.
   */
  placementFailed(failure: PlacementFailure, nowMs: number): boolean;
}

export function ladderSettingsFor(deps: PolicyDriverDeps, sample: Pick<ServiceSample, 'modelId' | 'service' | 'gpuModel'>): LadderSettings {
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

export function infernoSettingsFor(config: Pick<SsisConfig, 'scaler'>): InfernoPolicySettings {
  const s = config.scaler;
  return { stabilizationWindowMs: s.stabilizationWindowSec * 1000, upCooldownMs: s.upCooldownSec * 1000, pendingTimeoutMs: s.pendingTimeoutSec * 1000 };
}

/**
 * Deterministic: re-delivering the same sample yields the same id, so the decision is recognised
 * downstream. The GPU model appears only when the target moves to another one.
 */
export function decisionIdOf(sample: Pick<ServiceSample, 'service' | 'generation' | 'gpuModel'>, action: ScaleAction, target: Pick<ScaleTarget, 'gpuModel' | 'profile' | 'replicas'>): string {
  const where = target.gpuModel === sample.gpuModel ? '' : `@${target.gpuModel}`;
  return `${sample.service}-g${sample.generation}-${action}-${target.profile}${where}x${target.replicas}`;
}

export function createPolicyDriver(deps: PolicyDriverDeps): PolicyDriver {
  const memories = new Map<string, LadderMemory>();
  const memoryOf = (service: string): LadderMemory => memories.get(service) ?? EMPTY_MEMORY;
  /**
   * The latest decision made here per service. A failure reported for any other decision (a cold
   * start of the request function, one sent by anyone else) says nothing about what this driver
   * should try: backing off on it would steer the policy by decisions it never made, e.g. back the
   * current slice off after a placement failed for a replica count nobody here asked for.
   */
  const lastDecisions = new Map<string, { readonly decisionId: string; readonly target: ScaleTarget }>();

  /** Names the decision and records it as in flight, from the sample's generation. */
  function decided(sample: ServiceSample, nowMs: number, d: Omit<PolicyDecision, 'decisionId'>): PolicyOutcome {
    const decisionId = decisionIdOf(sample, d.action, d.target);
    memories.set(sample.service, ladderOnDecision(memoryOf(sample.service), decisionId, sample.generation, nowMs));
    lastDecisions.set(sample.service, { decisionId, target: d.target });
    return { decision: { decisionId, ...d }, note: d.reason };
  }

  return {
    memoryOf,

    ladder(sample, nowMs) {
      const step = ladderStep(ladderSettingsFor(deps, sample), memoryOf(sample.service), sample, nowMs);
      memories.set(sample.service, step.memory);
      if (!step.decision || !sample.gpuModel) return { decision: null, note: step.note };
      const d = step.decision;
      return decided(sample, nowMs, { policy: 'ssis-ladder', action: d.action, target: { profile: d.target.profile, gpuModel: sample.gpuModel, replicas: d.target.replicas }, reason: d.reason });
    },

    inferno(sample, nowMs, solve) {
      const settings = infernoSettingsFor(deps.config);
      const current = heldAllocation(sample);
      if (current === null) {
        // Nothing to re-plan, but the guards still settle an in-flight decision and a rollout.
        memories.set(sample.service, infernoStep(settings, memoryOf(sample.service), sample, { target: null, currentCostCentsPerHour: 0 }, nowMs).memory);
        return null;
      }
      const solution = solve();
      if (solution === null) return null;
      const step = infernoStep(settings, memoryOf(sample.service), sample, {
        target: solution.targets.get(sample.service) ?? null,
        currentCostCentsPerHour: allocationCost(solution, current) ?? 0,
      }, nowMs);
      memories.set(sample.service, step.memory);
      if (!step.decision) return { decision: null, note: step.note };
      const d = step.decision;
      return decided(sample, nowMs, { policy: 'inferno', action: d.action, target: { ...d.target }, reason: d.reason, predicted: d.predicted });
    },

    clusterService(sample, o) {
      const { scaler, optimizer } = deps.config;
      return clusterServiceOf(sample, {
        serviceClass: o.serviceClass,
        minReplicas: scaler.minReplicas,
        maxReplicas: scaler.maxReplicas,
        memory: memoryOf(sample.service),
        nowMs: o.nowMs,
        backlogDrainSec: optimizer.backlogDrainSec,
        headroom: optimizer.headroom,
      });
    },

    rolloutCompleted(service, decisionId, nowMs) {
      memories.set(service, ladderOnRolloutCompleted(memoryOf(service), decisionId, nowMs));
    },

    placementFailed(f, nowMs) {
      const own = lastDecisions.get(f.service);
      if (own?.decisionId !== f.decisionId || own.target.gpuModel !== f.gpuModel || own.target.profile !== f.profile) return false;
      // The ladder keys its back-offs by profile, the inferno policy by partition; each reads only its own.
      const settings = ladderSettingsFor(deps, { modelId: f.modelId, service: f.service, gpuModel: f.gpuModel });
      let memory = ladderOnPlacementFailed(settings, memoryOf(f.service), f.decisionId, f.profile, nowMs);
      memory = ladderOnPlacementFailed(settings, memory, f.decisionId, infernoBackoffKey(f.gpuModel, f.profile), nowMs);
      memories.set(f.service, memory);
      return true;
    },
  };
}
