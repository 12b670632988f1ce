/**
 * Per-model lookup tables that make the planner fast enough for 512 GPUs (p99 ≤ 50 ms): a GPU's
 * occupancy is an 8-bit mask of memory slots (mig.md §5.1), so every fragmentation question about
 * it ("what could still be added?") is answered once per mask and looked up afterwards.
 *
 * `quality[occupied]` ranks what a layout leaves placeable (higher is better, §5.2 objective 4):
 *   1. the most compute slices that can still be added (stranded compute is what this misses),
 *   2. how many half-GPU-or-larger positions stay open (3g@0, 3g@4, 4g@0, 7g@0 on 8-slot GPUs),
 *   3. the largest profile that can still be created,
 *   4. the compute of every open position summed: more ways to place later.
 * Stranded memory is deliberately not a criterion: slot 7 left alone after 1g@6 costs nothing
 * that 1g@5 would keep (4g+2g+1g remains reachable only with 1g@6; §1.8 rule 8's heuristic).
 */
import { findGpuModel, findProfile, getGpuModel, type GpuModelSpec, type ProfileSpec } from '../geometry.js';
import { slotMask } from '../layout.js';

export interface ProfilePosition {
  readonly start: number;
  readonly mask: number;
}

export interface ProfileGeometry {
  readonly spec: ProfileSpec;
  readonly name: string;
  /** Memory slots (the placement size, §1.1). */
  readonly size: number;
  readonly computeSlices: number;
  readonly positions: readonly ProfilePosition[];
  /** Small profiles fill from the high end so slots 0–3 stay free for 3g/4g (§1.8 rule 8). */
  readonly preferHighStart: boolean;
}

export interface ModelGeometry {
  readonly model: GpuModelSpec;
  readonly memorySlots: number;
  readonly fullMask: number;
  /** Lexicographic score of what stays placeable, by occupied mask (see the file comment). */
  readonly quality: Int32Array;
  /** Most compute slices still addable, by occupied mask. */
  readonly addableCompute: Int8Array;
  /** Half-GPU-or-larger positions still open, by occupied mask. */
  readonly largePositions: Int8Array;
  /** Free memory slots no open position covers, by occupied mask. */
  readonly strandedSlots: Int8Array;
  profile(name: string): ProfileGeometry | undefined;
}

const geometries = new Map<string, ModelGeometry>();

function profileGeometry(spec: ProfileSpec): ProfileGeometry {
  return {
    spec,
    name: spec.name,
    size: spec.shape.memorySlots,
    computeSlices: spec.shape.computeSlices,
    positions: spec.starts.map((start) => ({ start, mask: slotMask(start, spec.shape.memorySlots) })),
    preferHighStart: spec.shape.memorySlots < 4,
  };
}

interface Scored {
  readonly compute: number;
  readonly mask: number;
  readonly size: number;
}

function buildTables(model: GpuModelSpec): Pick<ModelGeometry, 'quality' | 'addableCompute' | 'largePositions' | 'strandedSlots'> {
  const full = slotMask(0, model.memorySlots);
  // Plain profiles only: `+me` repeats a plain shape and the whole GPU is no MIG instance.
  const positions: Scored[] = model.profiles
    .filter((p) => !p.mediaExtensions)
    .flatMap((p) => p.starts.map((start) => ({ compute: p.shape.computeSlices, mask: slotMask(start, p.shape.memorySlots), size: p.shape.memorySlots })));
  const size = 1 << model.memorySlots;
  const quality = new Int32Array(size);
  const addableCompute = new Int8Array(size);
  const largePositions = new Int8Array(size);
  const strandedSlots = new Int8Array(size);
  for (let occupied = 0; occupied < size; occupied++) {
    const open = positions.filter((p) => (p.mask & occupied) === 0);
    const most = (from: number, taken: number): number => {
      let best = 0;
      for (let i = from; i < open.length; i++) {
        const p = open[i];
        if (p === undefined || (p.mask & taken) !== 0) continue;
        best = Math.max(best, p.compute + most(i + 1, taken | p.mask));
      }
      return best;
    };
    const addable = most(0, occupied);
    const large = open.filter((p) => p.size * 2 >= model.memorySlots).length;
    const largest = open.reduce((m, p) => Math.max(m, p.compute), 0);
    const mass = open.reduce((m, p) => m + p.compute, 0);
    const covered = open.reduce((m, p) => m | p.mask, 0);
    let stranded = 0;
    for (let slot = 0; slot < model.memorySlots; slot++) if (((full & ~occupied & ~covered) >> slot) & 1) stranded++;
    addableCompute[occupied] = addable;
    largePositions[occupied] = large;
    strandedSlots[occupied] = stranded;
    quality[occupied] = addable * 1_000_000 + large * 10_000 + largest * 1_000 + mass;
  }
  return { quality, addableCompute, largePositions, strandedSlots };
}

/** The tables of a GPU model (name or alias); built on first use, then cached. */
export function modelGeometry(modelName: string): ModelGeometry {
  const model = findGpuModel(modelName) ?? getGpuModel(modelName);
  const cached = geometries.get(model.name);
  if (cached !== undefined) return cached;
  const profiles = new Map<string, ProfileGeometry>();
  const tables = buildTables(model);
  const geometry: ModelGeometry = {
    model,
    memorySlots: model.memorySlots,
    fullMask: slotMask(0, model.memorySlots),
    ...tables,
    profile(name: string): ProfileGeometry | undefined {
      const known = profiles.get(name);
      if (known !== undefined) return known;
      const spec = findProfile(model, name);
      if (spec === undefined) return undefined;
      const built = profiles.get(spec.name) ?? profileGeometry(spec);
      profiles.set(spec.name, built);
      profiles.set(name, built);
      return built;
    },
  };
  geometries.set(model.name, geometry);
  return geometry;
}
