/**
 * The MIG placement planner's input and output values (mig.md §5.1 data model, §5.2 objective).
 *
 * Input: the cluster state (per GPU its model and instances at exact starts; an instance's
 * `owner` is the replica using it) and the demand (per service: acceptable profiles, replicas
 * wanted, priority, movable or not, and which owners in the state are its running replicas).
 * Output: a plan value — target layout per GPU, new placements, replica moves in make-before-break
 * order, GPUs to drain, unmet demand with a reason — that every algorithm (the planner and the
 * baselines) returns, so the benchmark and the CLI compare them on equal terms.
 */
import type { GpuState } from '../layout.js';
import type { MigPartedPlan } from '../mig-parted.js';

export interface ServiceDemand {
  /** Name of the service (or revision) the replicas belong to; unique within the demand. */
  readonly service: string;
  /** Acceptable profiles by name (as each GPU model spells them, aliases accepted), most preferred first. */
  readonly profiles?: readonly string[];
  /** Memory a replica needs: every MIG profile (no `+me`) with at least this much memory is acceptable too. */
  readonly memoryGiB?: number;
  /** Acceptable GPU models (names or aliases); every model when absent. */
  readonly gpuModels?: readonly string[];
  /** Replicas wanted in total, running ones included. */
  readonly replicas: number;
  /** Higher is placed first; a higher priority outranks any number of lower-priority replicas. Default 0. */
  readonly priority?: number;
  /** May the planner move this service's running replicas (make-before-break)? Default true. */
  readonly movable?: boolean;
  /** Owners in the state that are this service's running replicas (instance `owner` values). */
  readonly runningReplicas?: readonly string[];
  /** Ids for the replicas to add, in order; `<service>-new-<k>` when absent. */
  readonly newReplicaIds?: readonly string[];
}

export interface PlannerOptions {
  /** Empty lightly used GPUs by moving their movable replicas elsewhere (objective 2). Default true. */
  readonly consolidate?: boolean;
  /** Allow moving running replicas at all (false: place around them only). Default true. */
  readonly allowMoves?: boolean;
}

export interface PlannerInput {
  readonly gpus: readonly GpuState[];
  readonly demand: readonly ServiceDemand[];
  readonly options?: PlannerOptions;
}

/** Where an instance is (or will be). */
export interface InstanceRef {
  readonly node: string;
  readonly gpuIndex: number;
  readonly gpuModel: string;
  readonly profile: string;
  readonly start: number;
  readonly instanceId: string;
}

/** A new replica and the instance it gets. */
export interface PlannedPlacement extends InstanceRef {
  readonly service: string;
  readonly replica: string;
  /** 'reused': an existing free instance at that position is handed over; 'created': a new instance. */
  readonly action: 'created' | 'reused';
}

/**
 * A running replica relocated make-before-break: a replica is started on `to` and must be ready
 * before the one on `from` is stopped and its instance destroyed. `to` never overlaps an instance
 * that exists when the plan starts, so every move can start at once and no move waits on another.
 */
export interface ReplicaMove {
  readonly service: string;
  readonly replica: string;
  readonly from: InstanceRef;
  readonly to: InstanceRef;
  /** 'repartition': it made room for demand; 'consolidate': it empties a GPU. */
  readonly why: 'repartition' | 'consolidate';
}

export type PlanStepKind = 'destroy-free' | 'create' | 'start' | 'stop' | 'destroy';

/** One actuation step, in execution order (NVML create/destroy at exact positions, §5.1). */
export interface PlanStep {
  readonly kind: PlanStepKind;
  readonly node: string;
  readonly gpuIndex: number;
  readonly profile: string;
  readonly start: number;
  readonly instanceId: string;
  readonly replica?: string;
  readonly service?: string;
}

export interface UnmetDemand {
  readonly service: string;
  readonly priority: number;
  /** Acceptable profile names, as the demand gave or implied them. */
  readonly profiles: readonly string[];
  /** New replicas asked for (running ones excluded). */
  readonly requested: number;
  readonly unmet: number;
  readonly reason: string;
}

/** A GPU whose replicas all leave (consolidation): once they are moved it holds no replica. */
export interface DrainedGpu {
  readonly node: string;
  readonly gpuIndex: number;
  readonly replicas: readonly string[];
}

/** Running replicas beyond what the demand wants: stopped, their instances destroyed. */
export interface ReleasedReplica extends InstanceRef {
  readonly service: string;
  readonly replica: string;
}

export interface PlanSummary {
  /** GPUs holding at least one replica before and after the plan. */
  readonly gpusUsedBefore: number;
  readonly gpusUsed: number;
  readonly placed: number;
  readonly unmet: number;
  /** Running replicas moved (each one is a disruption). */
  readonly moves: number;
  readonly changedGpus: number;
  /** Of the target layout, owned instances only (free ones can always be destroyed). */
  readonly strandedMemorySlots: number;
  readonly largePlacements: number;
  readonly gpusWithLargePlacement: number;
}

export interface MigPlan {
  /** Which algorithm made the plan ('planner', 'first-fit', 'best-fit', 'count-greedy', 'ilp-min-gpus', ...). */
  readonly algorithm: string;
  /** Target layout of every GPU, in the input's order. */
  readonly gpus: GpuState[];
  /** `<node>/gpu<index>` of every GPU whose layout or MIG mode changes. */
  readonly changed: readonly string[];
  readonly placements: readonly PlannedPlacement[];
  readonly moves: readonly ReplicaMove[];
  readonly released: readonly ReleasedReplica[];
  readonly steps: readonly PlanStep[];
  readonly drain: readonly DrainedGpu[];
  readonly unmet: readonly UnmetDemand[];
  readonly summary: PlanSummary;
  /** mig-parted config and `nvidia.com/mig.config` label value for every node with a changed GPU. */
  readonly migParted: MigPartedPlan;
}
