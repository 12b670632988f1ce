/**
 * What a scale decision may ask, whoever sent it. The evaluate and request functions only make
 * decisions within these rules; the reconfigure and rollout functions check each decision against
 * them before they change anything, so that an event which is well-formed but breaks policy
 * (forged, from a bug, from another cluster's past) is refused with its reason instead of carried out.
 *
 * A decision is acceptable only if
 * - its model is in the catalog and is the service's model, and the service has that model's name;
 * - it was computed from the service's current generation, and no other decision is rolling out;
 * - its target is a profile of that GPU model, the cluster has GPUs of that model, and the model fits the profile;
 * - its action is what current → target is: `cold-start` gives a service without replicas its
 *   first, `out`/`in` add or remove replicas on the partition the service runs, `up`/`down` move
 *   it to another partition with at least one replica;
 * - it grows the service to at most scaler.maxReplicas and shrinks it to no fewer than
 *   scaler.minReplicas, or to zero by `in` where scale-to-zero is on (scaler.scaleToZeroAfterSec > 0).
 * Growing and shrinking are judged from the replicas the service holds, so a service left outside
 * the bounds by a configuration change can still be brought back within them.
 *
 * An older generation is not a breach: at-least-once delivery and replays bring duplicates of
 * decisions already applied, so the caller ignores those quietly (isStaleDecision) before asking here.
 *
 * Pure: the caller passes the service and the GPUs as the cluster reports them now.
 */
import { canServe } from '../catalog/engine-config';
import type { ModelCatalog } from '../catalog/model-catalog';
import type { SsisConfig } from '../config/ssis-config';
import type { FieldIssue } from '../errors';
import { findGpuModel, findProfile } from '../mig/geometry';
import type { GpuState } from '../mig/layout';
import { serviceNameFor } from '../naming';
import type { ServiceView } from '../ports/cluster';
import type { ScaleAction, ScaleTarget } from './scale-target';
import { holdsReplicas, servingRevision } from './serving-revision';

export type ReplicaBounds = Pick<SsisConfig['scaler'], 'minReplicas' | 'maxReplicas' | 'scaleToZeroAfterSec'>;

export interface DecisionPolicy {
  readonly catalog: ModelCatalog;
  readonly scaler: ReplicaBounds;
}

/** The fields of a scale-decided the policy judges (the event's data has them). */
export interface DecisionToCheck {
  readonly service: string;
  readonly modelId: string;
  readonly action: ScaleAction;
  readonly fromGeneration: number;
  readonly target: Pick<ScaleTarget, 'profile' | 'gpuModel' | 'replicas'>;
}

/** The fields of a slice-reconfigured the policy judges before its replicas start. */
export interface RolloutToCheck {
  readonly modelId: string;
  readonly fromGeneration: number;
  readonly revision: string;
  readonly profile: string;
  readonly gpuModel: string;
  readonly replicas: number;
  readonly slices: readonly {
    readonly node: string; readonly gpu: number; readonly gpuModel: string; readonly profile: string;
    readonly sliceId: string; readonly replica: string; readonly action: string;
  }[];
}

/** Computed from a generation the service has left: a duplicate or a replay, ignored, not refused. */
export function isStaleDecision(d: Pick<DecisionToCheck, 'fromGeneration'>, service: Pick<ServiceView, 'generation'>): boolean {
  return d.fromGeneration < service.generation;
}

export function scaleToZeroAllowed(bounds: ReplicaBounds): boolean {
  return bounds.scaleToZeroAfterSec > 0;
}

/** Why going from `held` to `target` replicas breaks the bounds; null when it does not. */
export function replicaBoundsProblem(bounds: ReplicaBounds, held: number, target: number): string | null {
  if (target > held && target > bounds.maxReplicas) return `${target} replicas is above scaler.maxReplicas ${bounds.maxReplicas}`;
  if (target >= held) return null;
  if (target === 0) return scaleToZeroAllowed(bounds) ? null : 'scaling to zero is off (scaler.scaleToZeroAfterSec is 0)';
  return target < bounds.minReplicas ? `${target} replicas is below scaler.minReplicas ${bounds.minReplicas}` : null;
}

/** Every rule the decision breaks, with the field at fault; empty when it may be carried out. */
export function decisionIssues(policy: DecisionPolicy, d: DecisionToCheck, service: ServiceView, gpus: readonly GpuState[]): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const fail = (field: string, message: string): void => void issues.push({ field: `data.${field}`, message });

  const spec = policy.catalog.get(d.modelId);
  if (spec === undefined) fail('modelId', `${d.modelId} is not in the model catalog`);
  else if (d.modelId !== service.modelId) fail('modelId', `service ${service.name} serves ${service.modelId}, not ${d.modelId}`);
  else if (d.service !== serviceNameFor(d.modelId)) fail('service', `the service of ${d.modelId} is ${serviceNameFor(d.modelId)}`);

  if (d.fromGeneration !== service.generation) {
    fail('fromGeneration', `service ${service.name} is at generation ${service.generation}; no decision can have been computed from ${d.fromGeneration}`);
  }
  if (service.rollout !== null) fail('service', `decision ${service.rollout} is still rolling out on ${service.name}; one decision at a time`);

  const { profile, gpuModel, replicas } = d.target;
  if (findGpuModel(gpuModel) === undefined) fail('target.gpuModel', `unknown GPU model ${gpuModel}`);
  else if (!gpus.some((g) => g.model === gpuModel)) fail('target.gpuModel', `the cluster has no ${gpuModel} GPU`);
  else if (findProfile(gpuModel, profile) === undefined) fail('target.profile', `${gpuModel} has no profile ${profile}`);
  else if (spec !== undefined && spec.perf[gpuModel] === undefined) fail('target.gpuModel', `the catalog has no performance data of ${d.modelId} on ${gpuModel}`);
  else if (spec !== undefined && !canServe(spec, gpuModel, profile)) fail('target.profile', `${d.modelId} does not fit ${profile} on ${gpuModel}`);

  const current = servingRevision(service);
  const held = current?.replicas.length ?? 0;
  if (d.action === 'cold-start') {
    if (holdsReplicas(service)) fail('action', `cold-start of ${service.name}, which holds replicas (a cold start gives a service at zero its first)`);
    if (replicas < 1) fail('target.replicas', 'a cold start starts at least one replica');
  } else if (current === undefined || held === 0) {
    fail('action', `${d.action} of ${service.name}, which holds no replica (a cold start gives it its first)`);
  } else {
    const samePartition = current.profile === profile && current.gpuModel === gpuModel;
    const runs = `${service.name} runs ${current.profile} on ${current.gpuModel}`;
    if ((d.action === 'out' || d.action === 'in') && !samePartition) fail('target.profile', `${d.action} keeps the partition, and ${runs}`);
    if ((d.action === 'up' || d.action === 'down') && samePartition) fail('target.profile', `${d.action} moves to another partition, and ${runs} already`);
    if (d.action === 'out' && replicas <= held) fail('target.replicas', `scale out adds replicas to the ${held} held, not ${replicas}`);
    if (d.action === 'in' && replicas >= held) fail('target.replicas', `scale in removes replicas from the ${held} held, not ${replicas}`);
    if ((d.action === 'up' || d.action === 'down') && replicas < 1) fail('target.replicas', `${d.action} keeps at least one replica`);
  }
  const bounds = replicaBoundsProblem(policy.scaler, held, replicas);
  if (bounds !== null) fail('target.replicas', bounds);
  return issues;
}

/**
 * Every way a slice-reconfigured is not what its decision may do, checked before any replica
 * starts: it belongs to the service's current generation and model, names a revision of the
 * service on its partition, its slices are instances of that partition free for their replicas,
 * and they leave the revision with the replicas it announces, within the bounds. Judged from the
 * revision as it is, so a redelivery after some replicas started reads the same.
 */
export function rolloutIssues(policy: Pick<DecisionPolicy, 'scaler'>, r: RolloutToCheck, service: ServiceView, gpus: readonly GpuState[]): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const fail = (field: string, message: string): void => void issues.push({ field: `data.${field}`, message });

  if (r.modelId !== service.modelId) fail('modelId', `service ${service.name} serves ${service.modelId}, not ${r.modelId}`);
  if (r.fromGeneration + 1 !== service.generation) fail('fromGeneration', `service ${service.name} is at generation ${service.generation}; its rollout was decided from ${service.generation - 1}`);
  const revision = service.revisions.find((x) => x.name === r.revision);
  if (revision === undefined) {
    fail('revision', `service ${service.name} has no revision ${r.revision}`);
    return issues;
  }
  if (revision.profile !== r.profile || revision.gpuModel !== r.gpuModel) {
    fail('profile', `revision ${r.revision} runs ${revision.profile} on ${revision.gpuModel}, not ${r.profile} on ${r.gpuModel}`);
  }

  const ofOtherRevision = new Set(service.revisions.filter((x) => x !== revision).flatMap((x) => x.replicas.map((y) => y.id)));
  const remaining = new Set(revision.replicas.map((x) => x.id));
  const released: string[] = [];
  r.slices.forEach((s, k) => {
    if (ofOtherRevision.has(s.replica)) fail(`slices[${k}].replica`, `${s.replica} is a replica of another revision of ${service.name}`);
    if (s.action === 'release') {
      released.push(s.replica);
      return;
    }
    remaining.add(s.replica);
    if (s.profile !== revision.profile || s.gpuModel !== revision.gpuModel) fail(`slices[${k}].profile`, `revision ${r.revision} runs ${revision.profile} on ${revision.gpuModel}, not ${s.profile} on ${s.gpuModel}`);
    const gpu = gpus.find((g) => g.node === s.node && g.index === s.gpu);
    const instance = gpu?.instances.find((i) => i.id === s.sliceId);
    if (gpu === undefined || instance === undefined || instance.profile !== s.profile || gpu.model !== s.gpuModel) {
      fail(`slices[${k}].sliceId`, `no ${s.profile} instance ${s.sliceId} on ${s.node}/gpu${s.gpu}`);
    } else if (instance.owner !== null && instance.owner !== s.replica) {
      fail(`slices[${k}].sliceId`, `${s.sliceId} is held by ${instance.owner}`);
    }
  });
  for (const id of released) remaining.delete(id);
  if (remaining.size !== r.replicas) fail('replicas', `${r.replicas} replicas announced, but its slices leave ${r.revision} with ${remaining.size}`);
  const bounds = replicaBoundsProblem(policy.scaler, servingRevision(service)?.replicas.length ?? 0, r.replicas);
  if (bounds !== null) fail('replicas', bounds);
  return issues;
}
