/**
 * Can one more replica of `profile` be placed right now without moving anything? First-fit on the
 * current state: free slots and free instances only, every owned instance stays. The reconfigure
 * function places with the MIG planner instead, which may also move other services' ready replicas
 * out of the way, so this answer errs towards "not placeable": a profile reported not placeable may
 * still be placed there, by moving a replica. For a vertical move "without moving the old replica"
 * is the right question: with make-before-break the new slice must fit while the old one still runs.
 */
import { firstFit } from '../mig/first-fit';
import type { GpuState } from '../mig/layout';
import { findProfile } from '../mig/geometry';

export function isPlaceable(gpus: readonly GpuState[], gpuModel: string, profile: string): boolean {
  if (!gpus.some((g) => g.model === gpuModel && findProfile(g.model, profile) !== undefined)) return false;
  return firstFit(gpus, { profile, count: 1, ownerIds: ['placeability-probe'], gpuModels: [gpuModel] }).unplaced === 0;
}

export function placeableProfiles(gpus: readonly GpuState[], gpuModel: string, tiers: readonly string[]): string[] {
  return tiers.filter((p) => isPlaceable(gpus, gpuModel, p));
}
