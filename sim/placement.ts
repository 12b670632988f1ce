/**
 * Placement port: where new replicas' slices go. The default adapter is core/mig/first-fit (what
 * the reconfigure function uses today); the MIG repartitioning planner plugs in here when present.
 */
import { firstFit } from '../core/mig/first-fit';
import { gpuLabel, type GpuState } from '../core/mig/layout';

export interface SlicePlacement {
  /** Index of the GPU in the cluster's GPU list. */
  readonly gpu: number;
  readonly profile: string;
  readonly instanceId: string;
  readonly owner: string;
  /** true when the GPU's MIG layout had to change (new instance or MIG mode change): costs the repartition delay. */
  readonly reconfigured: boolean;
}

/** A running replica the placement moved to another slice (make-before-break: started anew, then the old one drains). */
export interface ReplicaMove {
  readonly owner: string;
  readonly toGpu: number;
  readonly profile: string;
}

export interface PlacementOutcome {
  readonly gpus: GpuState[];
  readonly placements: readonly SlicePlacement[];
  readonly moves: readonly ReplicaMove[];
  readonly unplaced: number;
  readonly reason?: string;
}

export interface PlacementRequest {
  readonly profile: string;
  readonly gpuModel: string;
  readonly ownerIds: readonly string[];
}

export interface PlacementPort {
  readonly name: string;
  place(gpus: readonly GpuState[], request: PlacementRequest): PlacementOutcome;
}

export const firstFitPlacement: PlacementPort = {
  name: 'first-fit (core/mig/first-fit)',
  place(gpus, request) {
    const result = firstFit(gpus, { profile: request.profile, count: request.ownerIds.length, ownerIds: request.ownerIds, gpuModels: [request.gpuModel] });
    const index = new Map(gpus.map((g, i) => [gpuLabel(g), i]));
    const modeChanged = new Set(result.migModeChanges.map((m) => `${m.node}/gpu${m.gpuIndex}`));
    const placements = result.placements.map((p): SlicePlacement => {
      const label = `${p.node}/gpu${p.gpuIndex}`;
      return {
        gpu: index.get(label)!,
        profile: p.profile,
        instanceId: p.instanceId,
        owner: p.owner,
        // A whole GPU on a GPU already out of MIG mode needs no repartition.
        reconfigured: modeChanged.has(label) || (!p.reused && p.profile !== 'gpu'),
      };
    });
    return { gpus: result.gpus, placements, moves: [], unplaced: result.unplaced, ...(result.reason === undefined ? {} : { reason: result.reason }) };
  },
};
