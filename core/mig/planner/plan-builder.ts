/**
 * The working state an algorithm edits while it plans, and the assembly of the plan value from it.
 * Shared by the planner and the baselines, so that every algorithm is measured the same way.
 *
 * Make-before-break: a moved replica is started on its target before its old instance is destroyed,
 * so a move target must be free when the move runs. Moves run in the order they were committed, and
 * a target may only use slots that are free in the working state at commit time — slots no one
 * holds, or slots vacated by moves (or releases) committed EARLIER. So every move waits only on
 * earlier ones: the order is a valid schedule and no cycle (a swap) can arise. New replicas are
 * created after every move, on slots the moves vacated if need be.
 * Free (unowned) instances never block: they are destroyed when something needs their slots, or
 * handed over when a new or moved replica wants exactly that profile at that start (no create then).
 */
import { buildMigPartedPlan } from '../mig-parted.js';
import { getGpuModel } from '../geometry.js';
import { compareGpus, gpuLabel, instanceId, type GpuState, type MigInstance } from '../layout.js';
import type { Problem, Service } from './problem.js';
import { modelGeometry, type ModelGeometry, type ProfileGeometry, type ProfilePosition } from './tables.js';
import type { DrainedGpu, InstanceRef, MigPlan, PlannedPlacement, PlanStep, ReleasedReplica, ReplicaMove, UnmetDemand } from './types.js';

export type WorkKind = 'kept' | 'moved' | 'new';

export interface WorkInstance {
  readonly profile: ProfileGeometry;
  readonly start: number;
  readonly mask: number;
  readonly replica: string;
  /** null: a replica no demand claims; it stays where it is. */
  readonly service: Service | null;
  readonly kind: WorkKind;
  /** The instance it had when the plan started (kept), or the free instance it reuses (new/moved). */
  readonly instance: MigInstance | null;
}

export interface WorkGpu {
  readonly state: GpuState;
  readonly label: string;
  /** Position in (node, index) order: the deterministic tie-break. */
  readonly order: number;
  readonly geometry: ModelGeometry;
  readonly originalMask: number;
  instances: WorkInstance[];
  mask: number;
  /** Free instances that still exist. */
  free: MigInstance[];
}

interface Action {
  readonly destroyedFree: readonly MigInstance[];
}

interface MoveAction extends Action {
  readonly move: ReplicaMove;
  /** The target is a free instance that exists already (same profile and start): it is handed over, not created. */
  readonly reused: boolean;
}

interface PlaceAction extends Action {
  readonly placement: PlannedPlacement;
}

/** Does a WorkInstance keep its original position? */
export const isKept = (i: WorkInstance): boolean => i.kind === 'kept';
/** May this instance be moved: a running replica of a movable service, not moved already. */
export const isMovable = (i: WorkInstance): boolean => i.kind === 'kept' && i.service !== null && i.service.movable;

export class PlanBuilder {
  readonly gpus: WorkGpu[];
  private readonly moveActions: MoveAction[] = [];
  private readonly placeActions: PlaceAction[] = [];
  private readonly released: ReleasedReplica[] = [];
  private readonly unmet: UnmetDemand[] = [];
  private readonly originalOwners: ReadonlyMap<string, WorkGpu>;
  /** Each GPU's arrays as built: arrays are replaced on every change, so the same ones mean an untouched GPU. */
  private readonly initialArrays = new Map<WorkGpu, readonly [WorkInstance[], MigInstance[]]>();
  /** While a trial runs: each touched GPU's arrays as they were, and the action counts (see checkpoint). */
  private undo: { gpus: Map<WorkGpu, Pick<WorkGpu, 'instances' | 'mask' | 'free'>>; moves: number; places: readonly PlaceAction[] } | null = null;

  constructor(readonly problem: Problem) {
    const sorted = [...problem.gpus].sort(compareGpus);
    const owners = new Map<string, WorkGpu>();
    this.gpus = problem.gpus.map((state) => {
      const geometry = modelGeometry(state.model);
      const instances: WorkInstance[] = [];
      const free: MigInstance[] = [];
      for (const instance of state.instances) {
        if (instance.owner === null) {
          free.push(instance);
          continue;
        }
        const profile = geometry.profile(instance.profile);
        // assertValidCluster ran in buildProblem, so the profile and start are known to be valid.
        if (profile === undefined) continue;
        const mask = positionOf(profile, instance.start)?.mask ?? 0;
        instances.push({ profile, start: instance.start, mask, replica: instance.owner, service: problem.serviceOf.get(instance.owner) ?? null, kind: 'kept', instance });
      }
      const mask = instances.reduce((m, i) => m | i.mask, 0);
      const gpu: WorkGpu = { state, label: gpuLabel(state), order: sorted.indexOf(state), geometry, originalMask: mask, instances, mask, free };
      for (const i of instances) owners.set(i.replica, gpu);
      this.initialArrays.set(gpu, [instances, free]);
      return gpu;
    });
    this.originalOwners = owners;
  }

  /** GPUs in (node, index) order. */
  ordered(): WorkGpu[] {
    return [...this.gpus].sort((a, b) => a.order - b.order);
  }

  /** Running replicas of a service beyond what it wants: the last listed go first. */
  releaseSurplus(): void {
    for (const service of this.problem.services) {
      const surplus = service.running.slice(service.wanted);
      for (const replica of surplus) {
        const gpu = this.originalOwners.get(replica);
        const instance = gpu?.instances.find((i) => i.replica === replica);
        if (gpu === undefined || instance === undefined) continue;
        this.remove(gpu, instance);
        this.released.push({ ...refOf(gpu, instance.profile, instance.start, instance.instance?.id ?? ''), service: service.name, replica });
      }
    }
  }

  /** Can `profile` take `position` on `gpu`, clear of the working state and of `pending` slots? */
  fits(gpu: WorkGpu, profile: ProfileGeometry, position: ProfilePosition, pending = 0): boolean {
    const blocked = gpu.mask | pending;
    if ((position.mask & blocked) !== 0) return false;
    if (profile.spec.wholeGpu) return true;
    if (gpu.instances.some((i) => i.profile.spec.wholeGpu)) return false;
    return !profile.spec.mediaExtensions || !gpu.instances.some((i) => i.profile.spec.mediaExtensions);
  }

  /** Free instances that a new `profile@position` destroys, and the one it reuses (same profile and start). */
  freeEffects(gpu: WorkGpu, profile: ProfileGeometry, position: ProfilePosition): { destroyed: MigInstance[]; reused: MigInstance | undefined } {
    const destroyed: MigInstance[] = [];
    let reused: MigInstance | undefined;
    for (const free of gpu.free) {
      const freeProfile = gpu.geometry.profile(free.profile);
      if (freeProfile === profile && free.start === position.start) {
        reused = free;
        continue;
      }
      const freeMask = freeProfile === undefined ? 0 : (positionOf(freeProfile, free.start)?.mask ?? 0);
      const meClash = profile.spec.mediaExtensions && freeProfile?.spec.mediaExtensions === true;
      if ((freeMask & position.mask) !== 0 || meClash || profile.spec.wholeGpu) destroyed.push(free);
    }
    return { destroyed, reused };
  }

  /**
   * Starts a trial: changes until commit() or rollback() can be undone (a drain that half works is
   * taken back). Arrays are replaced, never mutated, so keeping the old ones is enough.
   */
  checkpoint(): void {
    this.undo = { gpus: new Map(), moves: this.moveActions.length, places: [...this.placeActions] };
  }

  commit(): void {
    this.undo = null;
  }

  rollback(): void {
    if (this.undo === null) return;
    for (const [gpu, saved] of this.undo.gpus) Object.assign(gpu, saved);
    this.moveActions.length = this.undo.moves;
    this.placeActions.splice(0, this.placeActions.length, ...this.undo.places);
    this.undo = null;
  }

  private touch(gpu: WorkGpu): void {
    if (this.undo !== null && !this.undo.gpus.has(gpu)) this.undo.gpus.set(gpu, { instances: gpu.instances, mask: gpu.mask, free: gpu.free });
  }

  private add(gpu: WorkGpu, instance: WorkInstance): MigInstance[] {
    this.touch(gpu);
    const { destroyed, reused } = this.freeEffects(gpu, instance.profile, { start: instance.start, mask: instance.mask });
    gpu.free = gpu.free.filter((f) => !destroyed.includes(f) && f !== reused);
    gpu.instances = [...gpu.instances, reused === undefined ? instance : { ...instance, instance: reused }];
    gpu.mask |= instance.mask;
    return destroyed;
  }

  private remove(gpu: WorkGpu, instance: WorkInstance): void {
    this.touch(gpu);
    gpu.instances = gpu.instances.filter((i) => i !== instance);
    gpu.mask = gpu.instances.reduce((m, i) => m | i.mask, 0);
  }

  /** A new replica of `service` on `gpu` at `position`. */
  place(gpu: WorkGpu, profile: ProfileGeometry, position: ProfilePosition, service: Service, replica: string): PlannedPlacement {
    const reused = this.freeEffects(gpu, profile, position).reused;
    const id = reused?.id ?? instanceId(gpu.state.node, gpu.state.index, profile.name, position.start);
    const destroyedFree = this.add(gpu, { profile, start: position.start, mask: position.mask, replica, service, kind: 'new', instance: reused ?? null });
    const placement: PlannedPlacement = { ...refOf(gpu, profile, position.start, id), service: service.name, replica, action: reused === undefined ? 'created' : 'reused' };
    this.placeActions.push({ placement, destroyedFree });
    return placement;
  }

  /** Takes a NEW replica back out (to re-place it elsewhere); no move is recorded because nothing ran yet. */
  unplace(gpu: WorkGpu, instance: WorkInstance): void {
    const index = this.placeActions.findIndex((a) => a.placement.replica === instance.replica);
    const action = this.placeActions[index];
    if (action === undefined) return;
    this.placeActions.splice(index, 1);
    this.remove(gpu, instance);
    // A reused free instance, and free instances it would have destroyed, exist again.
    gpu.free = [...gpu.free, ...action.destroyedFree, ...(instance.instance === null ? [] : [instance.instance])];
  }

  /** Moves a running replica make-before-break to `position` on `to` (which must fit now). */
  move(from: WorkGpu, instance: WorkInstance, to: WorkGpu, position: ProfilePosition, why: ReplicaMove['why']): ReplicaMove {
    this.remove(from, instance);
    const reused = this.freeEffects(to, instance.profile, position).reused;
    const id = reused?.id ?? instanceId(to.state.node, to.state.index, instance.profile.name, position.start);
    const destroyedFree = this.add(to, { ...instance, start: position.start, mask: position.mask, kind: 'moved', instance: reused ?? null });
    const move: ReplicaMove = {
      service: instance.service?.name ?? '',
      replica: instance.replica,
      from: refOf(from, instance.profile, instance.start, instance.instance?.id ?? ''),
      to: refOf(to, instance.profile, position.start, id),
      why,
    };
    this.moveActions.push({ move, destroyedFree, reused: reused !== undefined });
    return move;
  }

  addUnmet(unmet: UnmetDemand): void {
    this.unmet.push(unmet);
  }

  get moveCount(): number {
    return this.moveActions.length;
  }

  /** The plan value. */
  finish(algorithm: string): MigPlan {
    const targets = this.gpus.map(targetState);
    const untouched = (g: WorkGpu): boolean => this.initialArrays.get(g)?.[0] === g.instances && this.initialArrays.get(g)?.[1] === g.free;
    const changed = this.gpus.filter((g, i) => !untouched(g) && layoutKey(g.state) !== layoutKey(targets[i] ?? g.state));
    const changedNodes = new Set(changed.map((g) => g.state.node));
    const moves = this.moveActions.map((a) => a.move);
    const placements = this.placeActions.map((a) => a.placement);
    const drain: DrainedGpu[] = this.gpus
      .filter((g) => g.originalMask !== 0 && g.instances.length === 0)
      .map((g) => ({ node: g.state.node, gpuIndex: g.state.index, replicas: moves.filter((m) => m.from.node === g.state.node && m.from.gpuIndex === g.state.index).map((m) => m.replica) }))
      .filter((d) => d.replicas.length > 0);
    const used = this.gpus.filter((g) => g.instances.length > 0);
    const unmet = [...this.unmet].sort((a, b) => b.priority - a.priority);
    return {
      algorithm,
      gpus: targets,
      changed: changed.map((g) => g.label),
      placements,
      moves,
      released: this.released,
      steps: this.steps(),
      drain,
      unmet,
      summary: {
        gpusUsedBefore: this.gpus.filter((g) => g.originalMask !== 0).length,
        gpusUsed: used.length,
        placed: placements.length,
        unmet: unmet.reduce((n, u) => n + u.unmet, 0),
        moves: moves.length,
        changedGpus: changed.length,
        strandedMemorySlots: used.reduce((n, g) => n + (g.geometry.strandedSlots[g.mask] ?? 0), 0),
        largePlacements: used.reduce((n, g) => n + (g.geometry.largePositions[g.mask] ?? 0), 0),
        gpusWithLargePlacement: used.filter((g) => (g.geometry.largePositions[g.mask] ?? 0) > 0).length,
      },
      migParted: buildMigPartedPlan(targets.filter((t) => changedNodes.has(t.node))),
    };
  }

  /** Releases, then every move (create, start, stop, destroy), then the new replicas. */
  private steps(): PlanStep[] {
    const steps: PlanStep[] = [];
    const step = (kind: PlanStep['kind'], ref: InstanceRef, replica?: string, service?: string): void => {
      steps.push({ kind, node: ref.node, gpuIndex: ref.gpuIndex, profile: ref.profile, start: ref.start, instanceId: ref.instanceId, ...(replica === undefined ? {} : { replica }), ...(service === undefined ? {} : { service }) });
    };
    const destroyFree = (node: string, gpuIndex: number, gpuModel: string, free: readonly MigInstance[]): void => {
      for (const f of free) step('destroy-free', { node, gpuIndex, gpuModel, profile: f.profile, start: f.start, instanceId: f.id });
    };
    for (const r of this.released) {
      step('stop', r, r.replica, r.service);
      step('destroy', r, r.replica, r.service);
    }
    for (const { move, destroyedFree, reused } of this.moveActions) {
      destroyFree(move.to.node, move.to.gpuIndex, move.to.gpuModel, destroyedFree);
      // Creating an instance that exists fails on hardware: a reused one is only started on.
      if (!reused) step('create', move.to, move.replica, move.service);
      step('start', move.to, move.replica, move.service);
      step('stop', move.from, move.replica, move.service);
      step('destroy', move.from, move.replica, move.service);
    }
    for (const { placement, destroyedFree } of this.placeActions) {
      destroyFree(placement.node, placement.gpuIndex, placement.gpuModel, destroyedFree);
      if (placement.action === 'created') step('create', placement, placement.replica, placement.service);
      step('start', placement, placement.replica, placement.service);
    }
    return steps;
  }
}

export function positionOf(profile: ProfileGeometry, start: number): ProfilePosition | undefined {
  return profile.positions.find((p) => p.start === start);
}

function refOf(gpu: WorkGpu, profile: ProfileGeometry, start: number, id: string): InstanceRef {
  return { node: gpu.state.node, gpuIndex: gpu.state.index, gpuModel: getGpuModel(gpu.state.model).name, profile: profile.name, start, instanceId: id };
}

function targetState(gpu: WorkGpu): GpuState {
  const owned: MigInstance[] = gpu.instances.map((i) => ({
    id: i.instance?.id ?? instanceId(gpu.state.node, gpu.state.index, i.profile.name, i.start),
    // Kept instances keep the spelling the state used (an alias stays an alias).
    profile: i.instance?.profile ?? i.profile.name,
    start: i.start,
    owner: i.replica,
  }));
  const instances = [...owned, ...gpu.free.map((f) => ({ ...f }))].sort((a, b) => a.start - b.start);
  const whole = gpu.instances.some((i) => i.profile.spec.wholeGpu);
  const mig = gpu.instances.some((i) => !i.profile.spec.wholeGpu);
  const migEnabled = whole ? false : mig ? true : gpu.state.migEnabled;
  return { ...gpu.state, migEnabled, instances };
}

function layoutKey(gpu: GpuState): string {
  const instances = [...gpu.instances].sort((a, b) => a.start - b.start || a.id.localeCompare(b.id)).map((i) => [i.id, i.profile, i.start, i.owner]);
  return JSON.stringify([gpu.migEnabled, instances]);
}
