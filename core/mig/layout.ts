/**
 * Per-GPU MIG state and feasibility by slot masks (mig.md §5.1): two instances coexist iff their
 * memory-slot intervals do not overlap, plus at most one `+me` per GPU (§0 fact 3). Compute slices
 * never need a separate check: over every feasible multiset the 7-slice limit never binds (§1.7).
 */
import { validationError, type FieldIssue, type SsisError } from '../errors.js';
import { findGpuModel, findProfile, getGpuModel, getProfile, type ProfileRef, type ProfileSpec } from './geometry.js';

export interface MigInstance {
  id: string;
  profile: string;
  /** First memory slot (§1.1). */
  start: number;
  /** The replica using the instance; null = a free (created, idle) instance. */
  owner: string | null;
}

export interface GpuState {
  node: string;
  index: number;
  /** A GPU model name of geometry.ts (canonical or alias). */
  model: string;
  /**
   * false ⇒ the GPU is used whole: `instances` is [] while free, or holds one instance of the
   * pseudo-profile 'gpu' at start 0 (covering every slot) for its owner.
   */
  migEnabled: boolean;
  instances: MigInstance[];
}

export interface OccupancyOptions {
  /** Treat FREE instances as absent (as if destroyed first); only owned instances block. */
  readonly ignoreFreeInstances?: boolean;
}

/** `<node>/gpu<index>`, the name every message uses for a GPU. */
export function gpuLabel(gpu: Pick<GpuState, 'node' | 'index'>): string {
  return `${gpu.node}/gpu${gpu.index}`;
}

/** Deterministic id of an instance SSIS creates. */
export function instanceId(node: string, gpuIndex: number, profile: string, start: number): string {
  return `${node}/gpu${gpuIndex}/${profile}@${start}`;
}

/** Bit i set ⇔ memory slot i is covered by `(start, size)`. */
export function slotMask(start: number, size: number): number {
  return ((1 << size) - 1) << start;
}

/** The memory slots of a mask, ascending. */
export function maskSlots(mask: number): number[] {
  const slots: number[] = [];
  for (let slot = 0; mask >> slot !== 0; slot++) if ((mask >> slot) & 1) slots.push(slot);
  return slots;
}

/** Number of set bits (slots) in a mask. */
export function slotCount(mask: number): number {
  return maskSlots(mask).length;
}

/** Every memory slot of the GPU. */
export function fullMask(gpu: Pick<GpuState, 'model'>): number {
  return slotMask(0, getGpuModel(gpu.model).memorySlots);
}

/** The slots one instance covers; throws if its profile is unknown for the GPU's model. */
export function instanceMask(gpu: Pick<GpuState, 'model'>, instance: Pick<MigInstance, 'profile' | 'start'>): number {
  return slotMask(instance.start, getProfile(gpu.model, instance.profile).shape.memorySlots);
}

function blockingInstances(gpu: GpuState, options: OccupancyOptions): MigInstance[] {
  return options.ignoreFreeInstances === true ? gpu.instances.filter((i) => i.owner !== null) : gpu.instances;
}

/** Union of the slots taken by the GPU's instances (only owned ones with ignoreFreeInstances). */
export function occupiedMask(gpu: GpuState, options: OccupancyOptions = {}): number {
  return blockingInstances(gpu, options).reduce((mask, instance) => mask | instanceMask(gpu, instance), 0);
}

/**
 * Why `profile` cannot be created at `start` on this GPU, or null when it can. Ignores MIG mode:
 * an empty GPU takes either a whole-GPU owner or MIG instances, and the caller toggles the mode
 * (§1.8 rule 10). Throws if the GPU model or the profile is unknown.
 */
export function placementBlocker(gpu: GpuState, profile: ProfileRef, start: number, options: OccupancyOptions = {}): string | null {
  const spec = getProfile(gpu.model, profile);
  const where = `${spec.name}@${start} on ${gpuLabel(gpu)}`;
  if (!spec.starts.includes(start)) return `${where}: start ${start} not allowed (allowed: ${spec.starts.join(', ')})`;
  const others = blockingInstances(gpu, options);
  const mask = slotMask(start, spec.shape.memorySlots);
  const overlapping = others.filter((i) => (instanceMask(gpu, i) & mask) !== 0);
  if (overlapping.length > 0) {
    const names = overlapping.map((i) => `${i.profile}@${i.start}${i.owner === null ? ' (free)' : ` (owner ${i.owner})`}`).join(', ');
    const slots = maskSlots(overlapping.reduce((m, i) => m | instanceMask(gpu, i), 0) & mask);
    return `${where}: memory slots ${slots.join(', ')} taken by ${names}`;
  }
  if (spec.mediaExtensions) {
    const me = others.find((i) => getProfile(gpu.model, i.profile).mediaExtensions);
    if (me !== undefined) return `${where}: at most one +me instance per GPU, ${me.profile}@${me.start} exists`;
  }
  const sameProfile = others.filter((i) => getProfile(gpu.model, i.profile).name === spec.name).length;
  if (sameProfile >= spec.maxCount) return `${where}: at most ${spec.maxCount} ${spec.name} per GPU`;
  return null;
}

/** Allowed start, no overlapping slots, at most one `+me`, within maxCount. */
export function canPlace(gpu: GpuState, profile: ProfileRef, start: number, options: OccupancyOptions = {}): boolean {
  return placementBlocker(gpu, profile, start, options) === null;
}

/** Every start at which `profile` could be created now (ascending). */
export function placeableStarts(gpu: GpuState, profile: ProfileRef, options: OccupancyOptions = {}): number[] {
  const spec = getProfile(gpu.model, profile);
  return spec.starts.filter((start) => canPlace(gpu, spec, start, options));
}

export type GeometryViolationKind =
  | 'unknown-gpu-model'
  | 'unknown-profile'
  | 'start-not-allowed'
  | 'overlap'
  | 'media-extensions-limit'
  | 'max-count'
  | 'mig-mode-mismatch'
  | 'duplicate-instance-id'
  | 'duplicate-gpu';

/** A FieldIssue (field path + message) with a machine-readable kind. */
export interface GeometryIssue extends FieldIssue {
  readonly kind: GeometryViolationKind;
}

function gpuPath(gpu: Pick<GpuState, 'node' | 'index'>): string {
  return `nodes[${gpu.node}].gpus[${gpu.index}]`;
}

interface CheckedInstance {
  readonly position: number;
  readonly instance: MigInstance;
  readonly spec: ProfileSpec;
  readonly mask: number;
}

/** Every geometry violation of one GPU (empty when the layout is valid). */
export function validateGpu(gpu: GpuState): GeometryIssue[] {
  const path = gpuPath(gpu);
  const label = gpuLabel(gpu);
  const model = findGpuModel(gpu.model);
  if (model === undefined) {
    return [{ field: `${path}.model`, kind: 'unknown-gpu-model', message: `${label}: unknown GPU model "${gpu.model}"` }];
  }
  const issues: GeometryIssue[] = [];
  const checked: CheckedInstance[] = [];
  const seenIds = new Map<string, number>();
  gpu.instances.forEach((instance, position) => {
    const at = `${path}.instances[${position}]`;
    const name = `${instance.profile}@${instance.start} (instances[${position}], id "${instance.id}")`;
    const previous = seenIds.get(instance.id);
    if (previous !== undefined) {
      issues.push({ field: `${at}.id`, kind: 'duplicate-instance-id', message: `${label}: ${name} repeats the id of instances[${previous}]` });
    } else {
      seenIds.set(instance.id, position);
    }
    const spec = findProfile(model, instance.profile);
    if (spec === undefined) {
      issues.push({ field: `${at}.profile`, kind: 'unknown-profile', message: `${label}: ${name} has a profile unknown for ${model.name}` });
      return;
    }
    if (spec.wholeGpu === gpu.migEnabled) {
      const message = spec.wholeGpu ? 'the whole-GPU pseudo-profile needs MIG disabled' : 'a MIG profile needs MIG enabled';
      issues.push({ field: `${at}.profile`, kind: 'mig-mode-mismatch', message: `${label}: ${name}: ${message}` });
    }
    if (!spec.starts.includes(instance.start)) {
      issues.push({
        field: `${at}.start`,
        kind: 'start-not-allowed',
        message: `${label}: ${name}: start ${instance.start} not allowed for ${spec.name} (allowed: ${spec.starts.join(', ')})`,
      });
    }
    const mask = Number.isInteger(instance.start) && instance.start >= 0 ? slotMask(instance.start, spec.shape.memorySlots) : 0;
    for (const earlier of checked) {
      const shared = earlier.mask & mask;
      if (shared !== 0) {
        const earlierName = `${earlier.instance.profile}@${earlier.instance.start} (instances[${earlier.position}], id "${earlier.instance.id}")`;
        issues.push({
          field: `${at}.start`,
          kind: 'overlap',
          message: `${label}: ${name} overlaps ${earlierName} on memory slots ${maskSlots(shared).join(', ')}`,
        });
      }
    }
    if (spec.mediaExtensions) {
      const earlierMe = checked.find((c) => c.spec.mediaExtensions);
      if (earlierMe !== undefined) {
        issues.push({
          field: `${at}.profile`,
          kind: 'media-extensions-limit',
          message: `${label}: ${name} is a second +me instance after ${earlierMe.instance.profile}@${earlierMe.instance.start}; at most one per GPU`,
        });
      }
    }
    const sameProfile = checked.filter((c) => c.spec.name === spec.name).length;
    if (sameProfile >= spec.maxCount) {
      issues.push({ field: `${at}.profile`, kind: 'max-count', message: `${label}: ${name} exceeds the ${spec.maxCount} ${spec.name} a GPU can hold` });
    }
    checked.push({ position, instance, spec, mask });
  });
  return issues;
}

/** Every geometry violation of a set of GPUs, including a GPU listed twice. */
export function validateCluster(gpus: readonly GpuState[]): GeometryIssue[] {
  const issues: GeometryIssue[] = [];
  const seen = new Set<string>();
  for (const gpu of gpus) {
    const label = gpuLabel(gpu);
    if (seen.has(label)) {
      issues.push({ field: gpuPath(gpu), kind: 'duplicate-gpu', message: `${label} is listed more than once` });
      continue;
    }
    seen.add(label);
    issues.push(...validateGpu(gpu));
  }
  return issues;
}

/** The SSIS_GEOMETRY_VIOLATION error for these issues. */
export function geometryError(issues: readonly GeometryIssue[]): SsisError {
  return validationError('SSIS_GEOMETRY_VIOLATION', 'MIG layout violates the GPU geometry', issues);
}

/** Throws SSIS_GEOMETRY_VIOLATION with every issue when the layout is invalid. */
export function assertValidCluster(gpus: readonly GpuState[]): void {
  const issues = validateCluster(gpus);
  if (issues.length > 0) throw geometryError(issues);
}

/** A deep copy, so that planners can change state without touching their input. */
export function cloneGpu(gpu: GpuState): GpuState {
  return { ...gpu, instances: gpu.instances.map((i) => ({ ...i })) };
}

/** Orders GPUs by (node, index), the scan order of the placement heuristics. */
export function compareGpus(a: Pick<GpuState, 'node' | 'index'>, b: Pick<GpuState, 'node' | 'index'>): number {
  if (a.node !== b.node) return a.node < b.node ? -1 : 1;
  return a.index - b.index;
}
