/**
 * What a restarted simulated cluster makes of the state its previous run saved: services,
 * revisions, traffic, generations and MIG layouts as they were; every replica that was starting or
 * ready is started again (the process that ran its inference server is gone).
 *
 * A rollout that was under way cannot continue: the event that drives it was consumed by a
 * function of the previous run, and the in-memory broker does not deliver it again. So it is
 * ended, and the service is left as its traffic says: revisions that receive traffic are kept
 * (with the replicas they had), the others (a new revision not yet switched to, an old one being
 * drained) are discarded and their slices freed. The generation stays bumped, so the next
 * decision for the service gets a new id, and the evaluator or the next request's cold start
 * takes it from there.
 */
import type { GpuState } from '../../core/mig/layout';
import type { ServiceCondition } from '../../core/ports/cluster';
import type { ClusterState, ReplicaState, RevisionState, ServiceState } from './state-file';

export interface RestoreNote {
  readonly service: string;
  readonly message: string;
}

export interface RestorePlan {
  readonly gpus: GpuState[];
  /** Every kept replica has phase `starting`: its server is started again. */
  readonly services: ServiceState[];
  /** What was not restored as it was, and why. */
  readonly notes: RestoreNote[];
}

export function planRestore(state: ClusterState, knownModel: (modelId: string) => boolean): RestorePlan {
  const notes: RestoreNote[] = [];
  const owned = (r: ReplicaState): boolean =>
    state.gpus.find((g) => g.node === r.node && g.index === r.gpu)?.instances.some((i) => i.id === r.sliceId && i.owner === r.id) ?? false;

  const services: ServiceState[] = [];
  for (const s of state.services) {
    if (!knownModel(s.modelId)) {
      notes.push({ service: s.name, message: `not restored: model ${s.modelId} is no longer in the catalog` });
      continue;
    }
    const interrupted = s.rollout;
    const serving = new Set(s.traffic.filter((t) => t.percent > 0).map((t) => t.revision));
    const revisions: RevisionState[] = [];
    for (const r of s.revisions) {
      if (interrupted !== null && !serving.has(r.name)) {
        notes.push({ service: s.name, message: `revision ${r.name} discarded: it received no traffic when rollout ${interrupted} was interrupted` });
        continue;
      }
      const replicas = r.replicas.filter((x) => {
        if (x.phase === 'draining') {
          notes.push({ service: s.name, message: `replica ${x.id} not restarted: it was being stopped` });
          return false;
        }
        if (!owned(x)) {
          notes.push({ service: s.name, message: `replica ${x.id} not restarted: slice ${x.sliceId} on ${x.node}/gpu${x.gpu} is not its` });
          return false;
        }
        return true;
      });
      revisions.push({ ...r, replicas: replicas.map((x) => ({ ...x, phase: 'starting' })) });
    }
    const traffic = s.traffic.filter((t) => revisions.some((r) => r.name === t.revision));
    if (interrupted !== null) notes.push({ service: s.name, message: `rollout ${interrupted} was interrupted by the restart: ended, ${traffic.length > 0 ? 'the revisions with traffic kept' : 'the service left without capacity'}` });
    const condition: ServiceCondition = interrupted === null
      ? s.condition
      : traffic.length > 0
        ? { ready: true, reason: 'Ready', message: `serving ${traffic.map((t) => `${t.revision} ${t.percent}%`).join(', ')}` }
        : { ready: false, reason: 'NoCapacity', message: `rollout ${interrupted} was interrupted by a restart` };
    services.push({ ...s, rollout: null, traffic, revisions, condition });
  }

  // A slice is held only by a replica that runs again; reservations of replicas never started are freed.
  const owners = new Set(services.flatMap((s) => s.revisions.flatMap((r) => r.replicas.map((x) => x.id))));
  const gpus = state.gpus.map((g): GpuState => ({ ...g, instances: g.instances.map((i) => ({ ...i, owner: i.owner !== null && owners.has(i.owner) ? i.owner : null })) }));
  return { gpus, services, notes };
}
