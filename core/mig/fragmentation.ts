/**
 * Fragmentation measures (mig.md §5.2 objective 4: free placements for 3g/4g, largest placeable
 * shape, stranded compute and memory slices). Higher stranded counts and fewer large placements
 * mean a more fragmented GPU.
 *
 * Measured on the layout as it stands: free (idle) instances occupy their slots, since they exist
 * and would have to be destroyed first. Pass `ignoreFreeInstances` to measure what the owned
 * instances alone leave (the room a repartition without moves could reach).
 *
 * Per GPU:
 *  - freeMemorySlots / freeComputeSlices: what no instance takes;
 *  - strandedMemorySlots: free slots that no placeable (profile, start) covers; e.g. slot 7 after
 *    7×1g (§1.8 rule 4);
 *  - strandedComputeSlices: free compute slices no completion of the layout can use, i.e. free
 *    slices minus the most compute any set of placeable instances adds; e.g. 1 after 3g×2
 *    (§1.8 rule 3), 3 after four two-slot 1g (rule 5);
 *  - largestPlaceableProfile: the MIG profile with the most compute slices (then memory slots)
 *    that can be created now, null if none;
 *  - largePlacements: placeable (profile, start) positions of half-GPU-or-larger profiles (at least
 *    half the memory slots: 3g/4g/7g on 8-slot GPUs, 2g/4g on the A30; no `+me` duplicates).
 * MIG mode is ignored, as in layout.ts: an unowned MIG-disabled GPU counts as an empty one.
 */
import { getGpuModel, getProfile, type MigProfileSpec } from './geometry.js';
import { canPlace, gpuLabel, maskSlots, occupiedMask, slotCount, slotMask, type GpuState, type OccupancyOptions } from './layout.js';

export interface GpuFragmentation {
  /** `<node>/gpu<index>`. */
  readonly gpu: string;
  readonly model: string;
  readonly freeMemorySlots: number;
  readonly freeComputeSlices: number;
  readonly strandedMemorySlots: number;
  readonly strandedComputeSlices: number;
  readonly largestPlaceableProfile: string | null;
  readonly largePlacements: number;
}

export interface ClusterFragmentation {
  readonly gpus: readonly GpuFragmentation[];
  readonly freeMemorySlots: number;
  readonly freeComputeSlices: number;
  readonly strandedMemorySlots: number;
  readonly strandedComputeSlices: number;
  readonly largePlacements: number;
  /** GPUs that can still take at least one half-GPU-or-larger instance. */
  readonly gpusWithLargePlacement: number;
  /** strandedMemorySlots / freeMemorySlots; 0 when nothing is free. */
  readonly strandedMemoryFraction: number;
}

interface PlaceablePosition {
  readonly profile: MigProfileSpec;
  readonly start: number;
  readonly mask: number;
}

function placeablePositions(gpu: GpuState, options: OccupancyOptions): PlaceablePosition[] {
  return getGpuModel(gpu.model).profiles.flatMap((profile) =>
    profile.starts
      .filter((start) => canPlace(gpu, profile.name, start, options))
      .map((start) => ({ profile, start, mask: slotMask(start, profile.shape.memorySlots) })),
  );
}

/**
 * Most compute slices that non-overlapping placeable instances add. `+me` variants are skipped:
 * they repeat a plain profile's shape, and maxCount never binds for plain profiles (a profile has
 * as many starts as its maxCount), so overlap alone decides.
 */
function maxAddableComputeSlices(positions: readonly PlaceablePosition[]): number {
  const plain = positions.filter((p) => !p.profile.mediaExtensions);
  const best = (from: number, occupied: number): number => {
    let most = 0;
    for (let i = from; i < plain.length; i++) {
      const position = plain[i];
      if (position === undefined || (position.mask & occupied) !== 0) continue;
      most = Math.max(most, position.profile.shape.computeSlices + best(i + 1, occupied | position.mask));
    }
    return most;
  };
  return best(0, 0);
}

export function gpuFragmentation(gpu: GpuState, options: OccupancyOptions = {}): GpuFragmentation {
  const model = getGpuModel(gpu.model);
  const occupied = occupiedMask(gpu, options);
  const freeMask = slotMask(0, model.memorySlots) & ~occupied;
  const instances = options.ignoreFreeInstances === true ? gpu.instances.filter((i) => i.owner !== null) : gpu.instances;
  const usedCompute = instances.reduce((sum, i) => sum + getProfile(model, i.profile).shape.computeSlices, 0);
  const freeComputeSlices = Math.max(0, model.computeSlices - usedCompute);
  const positions = placeablePositions(gpu, options);
  const coverable = positions.reduce((mask, p) => mask | p.mask, 0);
  const largest = positions
    .map((p) => p.profile)
    .sort((a, b) => b.shape.computeSlices - a.shape.computeSlices || b.shape.memorySlots - a.shape.memorySlots || Number(a.mediaExtensions) - Number(b.mediaExtensions))[0];
  const large = positions.filter((p) => !p.profile.mediaExtensions && p.profile.shape.memorySlots * 2 >= model.memorySlots);
  return {
    gpu: gpuLabel(gpu),
    model: model.name,
    freeMemorySlots: slotCount(freeMask),
    freeComputeSlices,
    strandedMemorySlots: maskSlots(freeMask & ~coverable).length,
    strandedComputeSlices: Math.max(0, freeComputeSlices - maxAddableComputeSlices(positions)),
    largestPlaceableProfile: largest?.name ?? null,
    largePlacements: large.length,
  };
}

export function clusterFragmentation(gpus: readonly GpuState[], options: OccupancyOptions = {}): ClusterFragmentation {
  const perGpu = gpus.map((gpu) => gpuFragmentation(gpu, options));
  const sum = (pick: (f: GpuFragmentation) => number): number => perGpu.reduce((total, f) => total + pick(f), 0);
  const freeMemorySlots = sum((f) => f.freeMemorySlots);
  const strandedMemorySlots = sum((f) => f.strandedMemorySlots);
  return {
    gpus: perGpu,
    freeMemorySlots,
    freeComputeSlices: sum((f) => f.freeComputeSlices),
    strandedMemorySlots,
    strandedComputeSlices: sum((f) => f.strandedComputeSlices),
    largePlacements: sum((f) => f.largePlacements),
    gpusWithLargePlacement: perGpu.filter((f) => f.largePlacements > 0).length,
    strandedMemoryFraction: freeMemorySlots === 0 ? 0 : strandedMemorySlots / freeMemorySlots,
  };
}
