/**
 * Placement through the MIG planner (core/mig/planner): the new replicas are the demand, every
 * running replica is pinned where it is (moves are off, so a placement never disrupts a running
 * replica; the simulator does not model the planner's migration steps). The planner picks the
 * spots by its objective (fewest GPUs, then least fragmentation) where first-fit takes the first.
 */
import { gpuLabel } from '../core/mig/layout';
import { planMig } from '../core/mig/planner/planner';
import type { PlacementPort, SlicePlacement } from './placement';

export const plannerPlacement: PlacementPort = {
  name: 'MIG planner (core/mig/planner, no moves)',
  place(gpus, request) {
    const plan = planMig({
      gpus,
      demand: [{ service: request.ownerIds[0] ?? 'sim', profiles: [request.profile], gpuModels: [request.gpuModel], replicas: request.ownerIds.length, newReplicaIds: request.ownerIds, movable: false }],
      options: { allowMoves: false, consolidate: false },
    });
    const index = new Map(gpus.map((g, i) => [gpuLabel(g), i]));
    const placements = plan.placements.map((p): SlicePlacement => {
      const gpu = index.get(`${p.node}/gpu${p.gpuIndex}`)!;
      const modeChanged = gpus[gpu]!.migEnabled !== plan.gpus[gpu]!.migEnabled;
      return { gpu, profile: p.profile, instanceId: p.instanceId, owner: p.replica, reconfigured: modeChanged || (p.action === 'created' && p.profile !== 'gpu') };
    });
    const unplaced = plan.unmet.reduce((n, u) => n + u.unmet, 0);
    const reason = plan.unmet.map((u) => u.reason).join('; ');
    return { gpus: plan.gpus, placements, moves: [], unplaced, ...(unplaced > 0 ? { reason } : {}) };
  },
};
