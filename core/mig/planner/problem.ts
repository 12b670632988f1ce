/**
 * Checks a planner input and turns it into the normalized problem every algorithm works on.
 *
 * Refused, naming each offending field:
 *  - a state that breaks the geometry (overlapping slots, unknown profile, start not allowed, ...):
 *    SSIS_GEOMETRY_VIOLATION from layout.ts, whose messages name the GPU, the slots and the profile;
 *  - a replica owning two instances (SSIS_GEOMETRY_VIOLATION: the layout cannot say where it runs);
 *  - a demand naming a profile or GPU model no acceptable GPU knows (SSIS_GEOMETRY_VIOLATION);
 *  - any other malformed demand (SSIS_INVALID_CONFIG): counts, ids, running replicas not in the state.
 */
import { SsisError, validationError, type FieldIssue } from '../../errors.js';
import { findGpuModel, GPU_MODELS, type GpuModelSpec } from '../geometry.js';
import { assertValidCluster, gpuLabel, type GpuState } from '../layout.js';
import { modelGeometry, type ModelGeometry, type ProfileGeometry } from './tables.js';
import type { PlannerInput, PlannerOptions, ServiceDemand } from './types.js';

export interface Service {
  readonly name: string;
  /** Position in the demand list (a stable tie-break). */
  readonly position: number;
  readonly priority: number;
  readonly movable: boolean;
  /** Replicas wanted in total. */
  readonly wanted: number;
  /** Running replicas (owners in the state), in the demand's order. */
  readonly running: readonly string[];
  /** Ids for the replicas to add. */
  readonly newIds: readonly string[];
  /** Profile names for messages: the listed ones, or `≥<n>GiB`. */
  readonly profileLabel: readonly string[];
  /** Acceptable profiles on a model, most preferred first; [] when the model is not acceptable. */
  acceptable(geometry: ModelGeometry): readonly ProfileGeometry[];
  /** Acceptable GPU models (canonical names); undefined = all. */
  readonly models: ReadonlySet<string> | undefined;
}

export interface Problem {
  readonly gpus: readonly GpuState[];
  readonly services: readonly Service[];
  /** Owner → service; owners absent here are unmanaged replicas, pinned where they are. */
  readonly serviceOf: ReadonlyMap<string, Service>;
  readonly options: Required<PlannerOptions>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string' && x.length > 0);

/** Every owner of the state → where it runs; a replica owning two instances is a geometry issue. */
function ownersOf(gpus: readonly GpuState[]): Map<string, string> {
  const where = new Map<string, string>();
  const issues: FieldIssue[] = [];
  for (const gpu of gpus) {
    gpu.instances.forEach((instance, position) => {
      if (instance.owner === null) return;
      const here = `${gpuLabel(gpu)} ${instance.profile}@${instance.start}`;
      const earlier = where.get(instance.owner);
      if (earlier !== undefined) {
        issues.push({ field: `nodes[${gpu.node}].gpus[${gpu.index}].instances[${position}].owner`, message: `${here}: replica ${instance.owner} already owns ${earlier}` });
      } else {
        where.set(instance.owner, here);
      }
    });
  }
  if (issues.length > 0) throw validationError('SSIS_GEOMETRY_VIOLATION', 'MIG state gives a replica two instances', issues);
  return where;
}

function acceptableOn(demand: ServiceDemand, models: ReadonlySet<string> | undefined): (geometry: ModelGeometry) => readonly ProfileGeometry[] {
  const cache = new Map<string, readonly ProfileGeometry[]>();
  return (geometry) => {
    const cached = cache.get(geometry.model.name);
    if (cached !== undefined) return cached;
    const found: ProfileGeometry[] = [];
    if (models === undefined || models.has(geometry.model.name)) {
      for (const name of demand.profiles ?? []) {
        const profile = geometry.profile(name);
        if (profile !== undefined && !found.includes(profile)) found.push(profile);
      }
      if (demand.memoryGiB !== undefined) {
        const byMemory = geometry.model.profiles
          .filter((p) => !p.mediaExtensions && p.memoryMiB / 1024 >= (demand.memoryGiB ?? 0))
          .map((p) => geometry.profile(p.name))
          .filter((p): p is ProfileGeometry => p !== undefined && !found.includes(p))
          .sort((a, b) => a.size - b.size || a.computeSlices - b.computeSlices);
        found.push(...byMemory);
      }
    }
    cache.set(geometry.model.name, found);
    return found;
  };
}

function checkDemand(raw: unknown, position: number, owners: ReadonlyMap<string, string>, claimed: Map<string, string>, issues: FieldIssue[], geometryIssues: FieldIssue[]): Service | undefined {
  const at = `demand[${position}]`;
  if (!isRecord(raw)) {
    issues.push({ field: at, message: 'must be an object' });
    return undefined;
  }
  const d = raw as Partial<ServiceDemand> & Record<string, unknown>;
  const before = issues.length + geometryIssues.length;
  if (typeof d.service !== 'string' || d.service.length === 0) issues.push({ field: `${at}.service`, message: 'must be a non-empty string' });
  const name = typeof d.service === 'string' ? d.service : `#${position}`;
  if (typeof d.replicas !== 'number' || !Number.isInteger(d.replicas) || d.replicas < 0) issues.push({ field: `${at}.replicas`, message: `${name}: must be an integer ≥ 0` });
  if (d.priority !== undefined && (typeof d.priority !== 'number' || !Number.isFinite(d.priority))) issues.push({ field: `${at}.priority`, message: `${name}: must be a number` });
  if (d.movable !== undefined && typeof d.movable !== 'boolean') issues.push({ field: `${at}.movable`, message: `${name}: must be true or false` });
  if (d.memoryGiB !== undefined && (typeof d.memoryGiB !== 'number' || !(d.memoryGiB > 0))) issues.push({ field: `${at}.memoryGiB`, message: `${name}: must be a number > 0` });
  if (d.profiles !== undefined && !isStringArray(d.profiles)) issues.push({ field: `${at}.profiles`, message: `${name}: must be a list of profile names` });
  if (d.gpuModels !== undefined && !isStringArray(d.gpuModels)) issues.push({ field: `${at}.gpuModels`, message: `${name}: must be a list of GPU model names` });
  if (d.runningReplicas !== undefined && !isStringArray(d.runningReplicas)) issues.push({ field: `${at}.runningReplicas`, message: `${name}: must be a list of replica ids` });
  if (d.newReplicaIds !== undefined && !isStringArray(d.newReplicaIds)) issues.push({ field: `${at}.newReplicaIds`, message: `${name}: must be a list of replica ids` });
  if (d.profiles === undefined && d.memoryGiB === undefined) issues.push({ field: `${at}.profiles`, message: `${name}: give the acceptable profiles, memoryGiB, or both` });
  if (issues.length + geometryIssues.length > before) return undefined;

  let models: Set<string> | undefined;
  if (d.gpuModels !== undefined) {
    models = new Set();
    d.gpuModels.forEach((m, i) => {
      const spec = findGpuModel(m);
      if (spec === undefined) geometryIssues.push({ field: `${at}.gpuModels[${i}]`, message: `${name}: unknown GPU model "${m}"; known models: ${GPU_MODELS.map((x) => x.name).join(', ')}` });
      else models?.add(spec.name);
    });
  }
  const acceptableModels: readonly GpuModelSpec[] = GPU_MODELS.filter((m) => models === undefined || models.has(m.name));
  (d.profiles ?? []).forEach((profile, i) => {
    if (!acceptableModels.some((m) => modelGeometry(m.name).profile(profile) !== undefined)) {
      geometryIssues.push({ field: `${at}.profiles[${i}]`, message: `${name}: profile "${profile}" is unknown for every acceptable GPU model (${acceptableModels.map((m) => m.name).join(', ')})` });
    }
  });

  const running = d.runningReplicas ?? [];
  running.forEach((replica, i) => {
    if (!owners.has(replica)) issues.push({ field: `${at}.runningReplicas[${i}]`, message: `${name}: replica ${replica} owns no instance in the state` });
    const other = claimed.get(replica);
    if (other !== undefined) issues.push({ field: `${at}.runningReplicas[${i}]`, message: `${name}: replica ${replica} is already a replica of ${other}` });
    claimed.set(replica, name);
  });
  const wanted = d.replicas ?? 0;
  const adding = Math.max(0, wanted - running.length);
  const newIds = d.newReplicaIds ?? Array.from({ length: adding }, (_, k) => `${name}-new-${k + 1}`);
  if (newIds.length !== adding) issues.push({ field: `${at}.newReplicaIds`, message: `${name}: ${adding} replica(s) to add need ${adding} id(s), got ${newIds.length}` });
  newIds.forEach((id, i) => {
    if (owners.has(id) || claimed.has(id)) issues.push({ field: `${at}.newReplicaIds[${i}]`, message: `${name}: id ${id} is already in use` });
    claimed.set(id, name);
  });
  const profileLabel = [...(d.profiles ?? []), ...(d.memoryGiB === undefined ? [] : [`≥${d.memoryGiB}GiB`])];
  return {
    name,
    position,
    priority: d.priority ?? 0,
    movable: d.movable ?? true,
    wanted,
    running,
    newIds,
    profileLabel,
    models,
    acceptable: acceptableOn(d as ServiceDemand, models),
  };
}

/** Validates the input (see the file comment) and returns the normalized problem. */
export function buildProblem(input: PlannerInput): Problem {
  if (!Array.isArray(input.gpus)) throw new SsisError('SSIS_INVALID_CONFIG', 'MIG state: gpus must be a list', { issues: [{ field: 'gpus', message: 'must be a list' }] });
  assertValidCluster(input.gpus);
  const owners = ownersOf(input.gpus);
  if (!Array.isArray(input.demand)) throw new SsisError('SSIS_INVALID_CONFIG', 'MIG demand must be a list', { issues: [{ field: 'demand', message: 'must be a list' }] });
  const issues: FieldIssue[] = [];
  const geometryIssues: FieldIssue[] = [];
  const claimed = new Map<string, string>();
  const names = new Set<string>();
  const services: Service[] = [];
  input.demand.forEach((raw, position) => {
    const service = checkDemand(raw, position, owners, claimed, issues, geometryIssues);
    if (service === undefined) return;
    if (names.has(service.name)) issues.push({ field: `demand[${position}].service`, message: `service ${service.name} is listed more than once` });
    names.add(service.name);
    services.push(service);
  });
  if (geometryIssues.length > 0) throw validationError('SSIS_GEOMETRY_VIOLATION', 'MIG demand breaks the GPU geometry', [...geometryIssues, ...issues]);
  if (issues.length > 0) throw validationError('SSIS_INVALID_CONFIG', 'MIG demand is invalid', issues);
  const serviceOf = new Map<string, Service>();
  for (const service of services) for (const replica of service.running) serviceOf.set(replica, service);
  const options: Required<PlannerOptions> = { consolidate: input.options?.consolidate ?? true, allowMoves: input.options?.allowMoves ?? true };
  return { gpus: input.gpus, services, serviceOf, options };
}
