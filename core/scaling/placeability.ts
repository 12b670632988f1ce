/**
 * Can one more replica of `profile` be placed right now? A dry run of the placement the
 * reconfigure function would make, on the current state. For a vertical move this is the right
 * question: with make-before-break the new slice must fit while the old one still runs.
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
