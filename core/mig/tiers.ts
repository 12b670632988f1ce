/**
 * The SSIS tier ladder (ssis.md §4: 1g.5gb → 2g.10gb → 3g.20gb → 4g.20gb → 7g.40gb → full GPU),
 * derived from a model's geometry table instead of hard-coded names, so it follows the 80GB/H200
 * names and the A30's shorter ladder (1g, 2g, 4g, gpu).
 *
 * One rung per compute-slice count, ascending; each rung is the plain profile with the fewest
 * memory slots for that count (the one-slot 1g, not the two-slot 1g; no `+me` variant). The
 * whole GPU with MIG disabled is the top rung.
 */
import { getGpuModel, getProfile, WHOLE_GPU_PROFILE, type GpuModelRef, type MigProfileSpec, type ProfileRef } from './geometry.js';

const laddersByModel = new Map<string, readonly string[]>();

/** Profile names from smallest to largest, ending with 'gpu'. */
export function tierLadder(model: GpuModelRef): readonly string[] {
  const spec = getGpuModel(model);
  const cached = laddersByModel.get(spec.name);
  if (cached !== undefined) return cached;
  const rungs = new Map<number, MigProfileSpec>();
  for (const profile of spec.profiles) {
    if (profile.mediaExtensions) continue;
    const current = rungs.get(profile.shape.computeSlices);
    if (current === undefined || profile.shape.memorySlots < current.shape.memorySlots) rungs.set(profile.shape.computeSlices, profile);
  }
  const ladder = [...rungs.values()].sort((a, b) => a.shape.computeSlices - b.shape.computeSlices).map((p) => p.name);
  const frozen = Object.freeze([...ladder, WHOLE_GPU_PROFILE]);
  laddersByModel.set(spec.name, frozen);
  return frozen;
}

/**
 * Position of a profile on the ladder. Off-ladder variants (`+me`, two-slot 1g) sit on the rung
 * with their compute-slice count, since compute is what a tier step changes.
 */
export function tierPosition(model: GpuModelRef, profile: ProfileRef): number {
  const spec = getGpuModel(model);
  const ladder = tierLadder(spec);
  const profileSpec = getProfile(spec, profile);
  // 'gpu' has the compute slices of 7g; it is the rung after it.
  if (profileSpec.wholeGpu) return ladder.length - 1;
  return ladder.findIndex((name) => getProfile(spec, name).shape.computeSlices === profileSpec.shape.computeSlices);
}

/** The next larger tier, or null at the whole GPU. */
export function nextTier(model: GpuModelRef, profile: ProfileRef): string | null {
  return tierLadder(model)[tierPosition(model, profile) + 1] ?? null;
}

/** The next smaller tier, or null at the smallest. */
export function previousTier(model: GpuModelRef, profile: ProfileRef): string | null {
  const position = tierPosition(model, profile);
  return position > 0 ? (tierLadder(model)[position - 1] ?? null) : null;
}

/**
 * The first ladder tier whose memory is at least the need, or null if even the whole GPU is too
 * small. 3g and 4g have the same memory, so memory alone never picks 4g.
 */
export function smallestFittingProfile(model: GpuModelRef, memoryNeedGiB: number): string | null {
  const spec = getGpuModel(model);
  return tierLadder(spec).find((name) => getProfile(spec, name).memoryMiB / 1024 >= memoryNeedGiB) ?? null;
}
