/**
 * GPU partitions as accelerator types for the optimizer (beyond Inferno): the whole GPU, each MIG profile
 * (notes/mig.md §1) and MPS shares (the device plugin's `sharing.mps` with N replicas per GPU, §2.4: each
 * client gets 1/N of the SMs and 1/N of the memory). A partition runs the model's whole-GPU iteration
 * parameters scaled like the emulated servers do (core/perf/iteration-model scaleToSlice): beta by the
 * compute share, gamma by the memory-bandwidth share. MPS does not partition bandwidth; the share is
 * taken as 1/N, the worst case when every client is busy, so predictions stay on the safe side.
 *
 * Cost: the GPU's cost times the partition's dominant share, max(compute share, memory share) — what it
 * denies other tenants (a 3g.20gb takes 3/7 of the SMs but half the memory, so it costs half a GPU).
 */
import { getGpuModel, WHOLE_GPU_PROFILE, type GpuModelSpec } from '../mig/geometry';

export type PartitionKind = 'gpu' | 'mig' | 'mps';

export interface PartitionSpec {
  /** Accelerator name in the optimizer: `<gpuModel>` for the whole GPU, else `<gpuModel>:<profile>`. */
  readonly accelerator: string;
  /** Canonical GPU model name (core/mig/geometry). */
  readonly gpuModel: string;
  readonly kind: PartitionKind;
  /** `gpu`, a MIG profile name, or `mps-1of<N>`. */
  readonly profile: string;
  readonly computeFraction: number;
  readonly bandwidthFraction: number;
  readonly memoryGiB: number;
  /** Share of the GPU's cost this partition is charged. */
  readonly costShare: number;
  /** MPS clients per GPU (kind 'mps' only). */
  readonly mpsClients?: number;
}

export interface PartitionOptions {
  /** Offer MIG profiles (default true). `+me` variants are left out: one per GPU, same compute and memory. */
  readonly mig?: boolean;
  /** MPS client counts per GPU to offer, e.g. [2, 4]; default none (the cluster must run MPS to use them). */
  readonly mpsClients?: readonly number[];
}

const MPS_PREFIX = 'mps-1of';

export function mpsProfileName(clients: number): string {
  return `${MPS_PREFIX}${clients}`;
}

/** N of an `mps-1of<N>` profile; undefined for other names. */
export function mpsClientsOf(profile: string): number | undefined {
  if (!profile.startsWith(MPS_PREFIX)) return undefined;
  const n = Number(profile.slice(MPS_PREFIX.length));
  return Number.isInteger(n) && n >= 2 ? n : undefined;
}

export function partitionAcceleratorName(gpuModel: string, profile: string): string {
  return profile === WHOLE_GPU_PROFILE ? gpuModel : `${gpuModel}:${profile}`;
}

function whole(spec: GpuModelSpec): PartitionSpec {
  return { accelerator: spec.name, gpuModel: spec.name, kind: 'gpu', profile: WHOLE_GPU_PROFILE, computeFraction: 1, bandwidthFraction: 1, memoryGiB: spec.memoryGiB, costShare: 1 };
}

/**
 * The partitions of one GPU model, whole GPU first (so that on an exact tie, e.g. 7g.40gb against the
 * whole GPU, the optimizer keeps MIG off), then MIG profiles in table order, then MPS shares.
 */
export function gpuPartitions(gpuModel: string, options: PartitionOptions = {}): PartitionSpec[] {
  const spec = getGpuModel(gpuModel);
  const out: PartitionSpec[] = [whole(spec)];
  if (options.mig ?? true) {
    for (const p of spec.profiles) {
      if (p.mediaExtensions) continue;
      const computeFraction = p.shape.computeSlices / spec.computeSlices;
      const bandwidthFraction = p.shape.memorySlots / spec.memorySlots;
      out.push({
        accelerator: partitionAcceleratorName(spec.name, p.name),
        gpuModel: spec.name,
        kind: 'mig',
        profile: p.name,
        computeFraction,
        bandwidthFraction,
        memoryGiB: p.memoryMiB / 1024,
        costShare: Math.max(computeFraction, bandwidthFraction),
      });
    }
  }
  for (const n of [...new Set(options.mpsClients ?? [])].sort((a, b) => a - b)) {
    if (!Number.isInteger(n) || n < 2) throw new RangeError(`MPS clients per GPU must be an integer >= 2, got ${n}`);
    const profile = mpsProfileName(n);
    out.push({
      accelerator: partitionAcceleratorName(spec.name, profile),
      gpuModel: spec.name,
      kind: 'mps',
      profile,
      computeFraction: 1 / n,
      bandwidthFraction: 1 / n,
      memoryGiB: spec.memoryGiB / n,
      costShare: 1 / n,
      mpsClients: n,
    });
  }
  return out;
}
