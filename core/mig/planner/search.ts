/**
 * Position search shared by the planner and the baselines: where a profile can go on one GPU, how
 * good that is, and an index of the GPUs that can take a profile at all (so a 512-GPU cluster is
 * not rescanned for every replica).
 */
import type { Service } from './problem.js';
import type { ProfileGeometry, ProfilePosition } from './tables.js';
import type { PlanBuilder, WorkGpu } from './plan-builder.js';

export interface Spot {
  readonly gpu: WorkGpu;
  readonly profile: ProfileGeometry;
  readonly position: ProfilePosition;
  /** quality[] of the GPU's target mask with this instance added (higher is better). */
  readonly quality: number;
  /** Compute slices still addable afterwards: lower means a tighter fit (best fit). */
  readonly addable: number;
  readonly destroysFree: number;
  readonly reusesFree: boolean;
}

/** Compares keys element by element (lower first). */
export function compareKeys(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Share of the GPU's memory a profile takes: the cross-model measure of "smaller profile". */
export function memoryShare(gpu: WorkGpu, profile: ProfileGeometry): number {
  return profile.size / gpu.geometry.memorySlots;
}

/**
 * The best position for `profile` on `gpu`, or undefined: most placeable afterwards, then reusing
 * a free instance, then destroying fewer free instances, then the §1.8 start preference (high
 * starts for small profiles). `pending` adds slots promised to other moves of the same plan.
 */
export function bestSpot(builder: PlanBuilder, gpu: WorkGpu, profile: ProfileGeometry, pending = 0): Spot | undefined {
  // Without free instances the answer depends only on (profile, occupied mask): memoize it.
  const memo = gpu.free.length === 0 && !profile.spec.mediaExtensions && !profile.spec.wholeGpu ? memoFor(profile) : undefined;
  const occupied = gpu.mask | pending;
  if (memo !== undefined) {
    const cached = memo[occupied] ?? -2;
    if (cached === -1) return undefined;
    if (cached >= 0) {
      const position = profile.positions[cached];
      if (position !== undefined && !gpu.instances.some((i) => i.profile.spec.wholeGpu)) return spotAt(gpu, profile, position, occupied);
    }
  }
  let best: Spot | undefined;
  let bestKey: number[] = [];
  for (const position of profile.positions) {
    if (!builder.fits(gpu, profile, position, pending)) continue;
    const after = gpu.mask | pending | position.mask;
    let destroysFree = 0;
    let reusesFree = false;
    if (gpu.free.length > 0) {
      const effects = builder.freeEffects(gpu, profile, position);
      destroysFree = effects.destroyed.length;
      reusesFree = effects.reused !== undefined;
    }
    const quality = gpu.geometry.quality[after] ?? 0;
    const key = [-quality, reusesFree ? 0 : 1, destroysFree, profile.preferHighStart ? -position.start : position.start];
    if (best === undefined || compareKeys(key, bestKey) < 0) {
      best = { gpu, profile, position, quality, addable: gpu.geometry.addableCompute[after] ?? 0, destroysFree, reusesFree };
      bestKey = key;
    }
  }
  if (memo !== undefined && (memo[occupied] ?? -2) === -2) memo[occupied] = best === undefined ? -1 : profile.positions.indexOf(best.position);
  return best;
}

const memos = new Map<ProfileGeometry, Int8Array>();

/** Best position index per occupied mask (-2 unknown, -1 none) for GPUs without free instances. */
function memoFor(profile: ProfileGeometry): Int8Array {
  let memo = memos.get(profile);
  if (memo === undefined) {
    memo = new Int8Array(256).fill(-2);
    memos.set(profile, memo);
  }
  return memo;
}

function spotAt(gpu: WorkGpu, profile: ProfileGeometry, position: ProfilePosition, occupied: number): Spot {
  const after = occupied | position.mask;
  return { gpu, profile, position, quality: gpu.geometry.quality[after] ?? 0, addable: gpu.geometry.addableCompute[after] ?? 0, destroysFree: 0, reusesFree: false };
}

/** Is the GPU acceptable to this service for this profile (model filter and same profile on it)? */
export function acceptsProfile(service: Service | null, gpu: WorkGpu, profile: ProfileGeometry): boolean {
  if (service?.models !== undefined && !service.models.has(gpu.geometry.model.name)) return false;
  return gpu.geometry.profile(profile.name) === profile;
}

/** Per profile, the GPUs in use that can take it, tightest first. Rebuilt lazily after any change to the plan. */
export class SpotIndex {
  // Keyed by the profile object: each model has its own, even where names coincide (1g.10gb).
  private readonly lists = new Map<ProfileGeometry, Spot[]>();

  constructor(private readonly builder: PlanBuilder) {}

  invalidate(): void {
    this.lists.clear();
  }

  spots(profile: ProfileGeometry): readonly Spot[] {
    let list = this.lists.get(profile);
    if (list === undefined) {
      list = [];
      for (const gpu of this.builder.gpus) {
        if (gpu.instances.length === 0 || gpu.geometry.profile(profile.name) !== profile) continue;
        const spot = bestSpot(this.builder, gpu, profile);
        if (spot !== undefined) list.push(spot);
      }
      list.sort((a, b) => a.addable - b.addable || b.quality - a.quality || a.gpu.order - b.gpu.order);
      this.lists.set(profile, list);
    }
    return list;
  }
}
