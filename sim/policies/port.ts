/**
 * What a configuration under comparison is to the simulator: an initial allocation and, for the
 * autoscaling ones, a control loop fed with the same MetricsSampled records the sample function
 * publishes. Decisions come back as desired allocations per service; the simulator actuates them
 * with the control-plane delays (make-before-break for tier changes) and reports the outcome.
 */
import type { ModelCatalog, ModelSpec } from '../../core/catalog/model-catalog';
import type { AutoscalerConfig } from '../../core/config/autoscaler-config';
import type { SsisConfig } from '../../core/config/ssis-config';
import type { GpuState } from '../../core/mig/layout';
import type { MetricsSampled } from '../../events/metrics-sampled';
import type { Scenario, ServiceSpec } from '../scenario';

/** A configuration under comparison, named as its policy module (./ids lists them with their report labels). */
export type PolicyId = 'static-gpu' | 'hpa-queue' | 'static-mig' | 'ssis-ladder' | 'ssis-full';

export interface Allocation {
  readonly service: string;
  readonly gpuModel: string;
  /** MIG profile, or 'gpu' for a whole GPU. */
  readonly profile: string;
  readonly replicas: number;
  /** Engine max batch for new replicas; the catalog's when absent. */
  readonly maxBatch?: number;
}

export interface ScaleCommand extends Allocation {
  readonly decisionId: string;
  readonly reason: string;
}

/** Expected load per service over the whole run (static policies size from it). */
export interface ExpectedLoad {
  readonly service: string;
  readonly ratePerSec: number;
  readonly avgInputTokens: number;
  readonly avgOutputTokens: number;
}

export interface PolicyContext {
  readonly scenario: Scenario;
  readonly catalog: ModelCatalog;
  readonly config: SsisConfig;
  readonly autoscaler: AutoscalerConfig;
  readonly services: readonly ServiceSpec[];
  readonly expectedLoad: readonly ExpectedLoad[];
  /** GPU models of the cluster, each once, in scenario order. */
  readonly gpuModels: readonly string[];
  readonly gpuCount: number;
  spec(service: string): ModelSpec;
  /** The cluster's MIG state now (read-only). */
  gpus(): readonly GpuState[];
  /** Could one more replica of `profile` on `gpuModel` be placed now? */
  placeable(gpuModel: string, profile: string): boolean;
}

export interface SimPolicy {
  readonly id: PolicyId;
  readonly title: string;
  /** Seconds between control-loop runs; null = no control loop (static). */
  readonly intervalSec: number | null;
  /** Whether samples must carry placeableProfiles (costly on large clusters). */
  readonly needsPlaceability: boolean;
  /** Static MIG partition to apply before the initial allocation, or null. */
  initialLayout?(ctx: PolicyContext): GpuState[] | null;
  /** Ready at t = 0 for every policy, so that none pays a cold start the others do not. */
  initial(ctx: PolicyContext): Allocation[];
  decide(ctx: PolicyContext, samples: readonly MetricsSampled[], nowMs: number): ScaleCommand[];
  onRolloutCompleted?(service: string, decisionId: string, nowMs: number): void;
  onPlacementFailed?(ctx: PolicyContext, service: string, decisionId: string, gpuModel: string, profile: string, nowMs: number): void;
}
