/**
 * First-fit placement: the simple baseline used until the optimal planner exists (mig.md §5.3
 * lists it as a baseline). It never moves or destroys an OWNED instance, so it cannot repartition
 * around running replicas; the demand it cannot place is reported unplaced with a reason, never
 * dropped (SSIS_PLACEMENT_INFEASIBLE is the caller's to raise).
 *
 * Rules, per replica:
 *  1. reuse a FREE instance of exactly the requested profile (GPUs in (node, index) order);
 *  2. else, scanning GPUs in (node, index) order, create the profile at an allowed start that no
 *     owned instance overlaps, destroying the FREE instances in the way (reported);
 *  3. among allowed starts, profiles of fewer than 4 memory slots take the HIGHEST start and the
 *     others the lowest: slots 0–3 stay free for 3g/4g (§1.8 rule 8 heuristic);
 *  4. the whole-GPU pseudo-profile 'gpu' needs a GPU with no owned instance and disables MIG;
 *     a MIG profile on an unowned MIG-disabled GPU enables MIG (both reported as mode changes,
 *     a slow path: §1.8 rule 10).
 * Pure: the input is never mutated; the new state comes back in `gpus`.
 */
import { SsisError } from '../errors.js';
import { findProfile, getGpuModel, type ProfileSpec } from './geometry.js';
import {
  assertValidCluster,
  cloneGpu,
  compareGpus,
  instanceId,
  instanceMask,
  placeableStarts,
  placementBlocker,
  slotMask,
  type GpuState,
  type MigInstance,
} from './layout.js';

export interface FirstFitRequest {
  /** Profile name as each GPU model spells it, or 'gpu' for a whole GPU. */
  readonly profile: string;
  readonly count: number;
  /** One replica id per instance wanted; `ownerIds.length === count`. */
  readonly ownerIds: readonly string[];
  /** Acceptable GPU models (names or aliases); all when absent. */
  readonly gpuModels?: readonly string[];
}

export interface FirstFitPlacement {
  readonly node: string;
  readonly gpuIndex: number;
  readonly gpuModel: string;
  readonly profile: string;
  readonly start: number;
  readonly instanceId: string;
  readonly owner: string;
  /** true: an existing free instance was handed to the owner; false: a new instance is created. */
  readonly reused: boolean;
}

export interface DestroyedInstance {
  readonly node: string;
  readonly gpuIndex: number;
  readonly instanceId: string;
  readonly profile: string;
  readonly start: number;
}

export interface MigModeChange {
  readonly node: string;
  readonly gpuIndex: number;
  readonly migEnabled: boolean;
}

export interface FirstFitResult {
  readonly placements: readonly FirstFitPlacement[];
  /** Free instances destroyed to make room, in the order it happened. */
  readonly destroyed: readonly DestroyedInstance[];
  readonly migModeChanges: readonly MigModeChange[];
  /** The state after the placements, in the input's order. */
  readonly gpus: GpuState[];
  readonly unplaced: number;
  /** Why replicas stayed unplaced; present iff unplaced > 0. */
  readonly reason?: string;
}

/** Reasons that name more GPUs than this get shortened. */
const MAX_GPUS_IN_REASON = 3;

interface Candidate {
  readonly gpu: GpuState;
  readonly profile: ProfileSpec;
}

function checkRequest(request: FirstFitRequest): void {
  if (!Number.isInteger(request.count) || request.count < 0 || request.ownerIds.length !== request.count) {
    throw new SsisError(
      'SSIS_INVALID_REQUEST',
      `first-fit request for ${request.profile}: count ${request.count} must be a non-negative integer equal to the ${request.ownerIds.length} owner ids`,
      { issues: [{ field: 'ownerIds', message: `expected ${request.count} owner ids, got ${request.ownerIds.length}` }] },
    );
  }
}

/** GPUs in scan order that are of an acceptable model and know the profile. */
function candidates(gpus: readonly GpuState[], request: FirstFitRequest): Candidate[] {
  const acceptable = request.gpuModels === undefined ? undefined : new Set(request.gpuModels.map((m) => getGpuModel(m).name));
  const found: Candidate[] = [];
  for (const gpu of [...gpus].sort(compareGpus)) {
    if (acceptable !== undefined && !acceptable.has(getGpuModel(gpu.model).name)) continue;
    const profile = findProfile(gpu.model, request.profile);
    if (profile !== undefined) found.push({ gpu, profile });
  }
  return found;
}

function placementFrom(gpu: GpuState, instance: MigInstance, owner: string, reused: boolean): FirstFitPlacement {
  return {
    node: gpu.node,
    gpuIndex: gpu.index,
    gpuModel: getGpuModel(gpu.model).name,
    profile: instance.profile,
    start: instance.start,
    instanceId: instance.id,
    owner,
    reused,
  };
}

/** Start preference of rule 3. */
function preferredStart(profile: ProfileSpec, starts: readonly number[]): number | undefined {
  const sorted = [...starts].sort((a, b) => a - b);
  return profile.shape.memorySlots < 4 ? sorted[sorted.length - 1] : sorted[0];
}

/** Free instances that must go for `profile@start`: overlapping ones, and another `+me` if this is one. */
function freeInstancesInTheWay(gpu: GpuState, profile: ProfileSpec, start: number): MigInstance[] {
  const mask = slotMask(start, profile.shape.memorySlots);
  return gpu.instances.filter((instance) => {
    if (instance.owner !== null) return false;
    if ((instanceMask(gpu, instance) & mask) !== 0) return true;
    return profile.mediaExtensions && findProfile(gpu.model, instance.profile)?.mediaExtensions === true;
  });
}

/** Why no start works on this GPU, one clause per allowed start. */
function gpuBlockers(candidate: Candidate): string {
  const { gpu, profile } = candidate;
  const clauses = profile.starts.map((start) => placementBlocker(gpu, profile, start, { ignoreFreeInstances: true }) ?? `${profile.name}@${start}: free`);
  return clauses.join('; ');
}

function unplacedReason(request: FirstFitRequest, unplaced: number, scanned: readonly Candidate[]): string {
  const head = `${unplaced} of ${request.count} ${request.profile} replica(s) unplaced`;
  if (scanned.length === 0) {
    const models = request.gpuModels === undefined ? 'any model' : request.gpuModels.join(', ');
    return `${head}: no GPU of ${models} offers profile ${request.profile}`;
  }
  const named = scanned.slice(0, MAX_GPUS_IN_REASON).map(gpuBlockers);
  const more = scanned.length > MAX_GPUS_IN_REASON ? `; and ${scanned.length - MAX_GPUS_IN_REASON} more GPU(s)` : '';
  return `${head}: no free ${request.profile} instance and no allowed start clear of owned instances on ${scanned.length} GPU(s) (${named.join(' | ')}${more})`;
}

export function firstFit(gpus: readonly GpuState[], request: FirstFitRequest): FirstFitResult {
  checkRequest(request);
  assertValidCluster(gpus);
  const state = gpus.map(cloneGpu);
  const scan = candidates(state, request);
  const placements: FirstFitPlacement[] = [];
  const destroyed: DestroyedInstance[] = [];
  const migModeChanges: MigModeChange[] = [];

  const setMigMode = (gpu: GpuState, migEnabled: boolean): void => {
    if (gpu.migEnabled === migEnabled) return;
    gpu.migEnabled = migEnabled;
    migModeChanges.push({ node: gpu.node, gpuIndex: gpu.index, migEnabled });
  };

  const reuseFreeInstance = (owner: string): FirstFitPlacement | undefined => {
    for (const { gpu, profile } of scan) {
      const free = gpu.instances
        .filter((i) => i.owner === null && findProfile(gpu.model, i.profile)?.name === profile.name)
        .sort((a, b) => a.start - b.start)[0];
      if (free === undefined) continue;
      free.owner = owner;
      return placementFrom(gpu, free, owner, true);
    }
    return undefined;
  };

  const createInstance = (owner: string): FirstFitPlacement | undefined => {
    for (const { gpu, profile } of scan) {
      const start = preferredStart(profile, placeableStarts(gpu, profile, { ignoreFreeInstances: true }));
      if (start === undefined) continue;
      const doomed = freeInstancesInTheWay(gpu, profile, start);
      for (const instance of doomed) {
        destroyed.push({ node: gpu.node, gpuIndex: gpu.index, instanceId: instance.id, profile: instance.profile, start: instance.start });
      }
      const created: MigInstance = { id: instanceId(gpu.node, gpu.index, profile.name, start), profile: profile.name, start, owner };
      gpu.instances = [...gpu.instances.filter((i) => !doomed.includes(i)), created].sort((a, b) => a.start - b.start);
      setMigMode(gpu, !profile.wholeGpu);
      return placementFrom(gpu, created, owner, false);
    }
    return undefined;
  };

  for (const owner of request.ownerIds) {
    const placement = reuseFreeInstance(owner) ?? createInstance(owner);
    // Nothing changed since the last attempt, so the remaining replicas cannot fit either.
    if (placement === undefined) break;
    placements.push(placement);
  }

  const unplaced = request.count - placements.length;
  const result: FirstFitResult = { placements, destroyed, migModeChanges, gpus: state, unplaced };
  return unplaced > 0 ? { ...result, reason: unplacedReason(request, unplaced, scan) } : result;
}
