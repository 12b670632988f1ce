/**
 * The reconfigure function: scale-decided → MIG slices for the target → slice-reconfigured
 * (or placement-failed, never a silent drop).
 *
 * Idempotent: the cluster accepts a decision only if it was computed from the service's current
 * generation (beginDecision bumps it), so a duplicate or stale scale-decided changes nothing.
 * Placement is first-fit at exact MIG positions (core/mig/first-fit) for now.
 */
import type { Clock, IdSource } from '../../core/common/ports';
import { SsisError } from '../../core/errors';
import { firstFit } from '../../core/mig/first-fit';
import type { GpuState } from '../../core/mig/layout';
import { revisionName } from '../../core/naming';
import { createEvent } from '../../events/create';
import type { SsisEvent } from '../../events/envelope';
import { PLACEMENT_FAILED, type PlacementFailed } from '../../events/placement-failed';
import { SCALE_DECIDED, type ScaleDecided } from '../../events/scale-decided';
import { SLICE_RECONFIGURED, type GpuLayout, type SliceRef, type SliceReconfigured } from '../../events/slice-reconfigured';
import type { ClusterPort, RevisionView, ServiceView } from '../../infra/cluster/port';
import type { FunctionContext, SsisFunction } from '../runtime/function';

export interface ReconfigureDeps {
  readonly cluster: ClusterPort;
  readonly clock: Clock;
  readonly ids: IdSource;
}

const SOURCE = '/ssis/functions/reconfigure';

/** The revision receiving traffic (the one a tier change replaces). */
export function servingRevision(s: ServiceView): RevisionView | undefined {
  const name = [...s.traffic].sort((a, b) => b.percent - a.percent)[0]?.revision;
  return s.revisions.find((r) => r.name === name) ?? s.revisions.find((r) => r.replicas.length > 0);
}

function replicaIndex(id: string): number {
  const n = Number(id.slice(id.lastIndexOf('-') + 1));
  return Number.isInteger(n) ? n : 0;
}

export function buildReconfigureFunction(deps: ReconfigureDeps): SsisFunction {
  const { cluster, clock, ids } = deps;

  function onEvent(event: SsisEvent, ctx: FunctionContext): Promise<SsisEvent | undefined> {
    return Promise.resolve().then(() => reconfigure(event, ctx));
  }

  function reconfigure(event: SsisEvent, ctx: FunctionContext): SsisEvent | undefined {
    const d = event.data as ScaleDecided;
    const service = cluster.getService(d.service);
    if (!service) throw new SsisError('SSIS_NOT_FOUND', `scale-decided ${d.decisionId} names unknown service ${d.service}`);
    if (!cluster.beginDecision(d.service, d.decisionId, d.fromGeneration)) {
      ctx.logger.info({ service: d.service, decisionId: d.decisionId, fromGeneration: d.fromGeneration, generation: service.generation }, 'stale or duplicate decision ignored');
      return undefined;
    }
    const generation = d.fromGeneration + 1;
    const now = (): string => new Date(clock.nowMs()).toISOString();
    const current = servingRevision(service);
    const before = cluster.gpus();

    const fail = (reason: string): SsisEvent => {
      cluster.endRollout(d.service, d.decisionId);
      if (!service.revisions.some((r) => r.replicas.length > 0)) {
        cluster.setCondition(d.service, { ready: false, reason: 'Unschedulable', message: reason });
      }
      ctx.logger.warn({ service: d.service, decisionId: d.decisionId, reason }, 'placement failed');
      const failed: PlacementFailed = {
        decisionId: d.decisionId,
        service: d.service,
        modelId: d.modelId,
        fromGeneration: d.fromGeneration,
        requested: { profile: d.target.profile, gpuModel: d.target.gpuModel, replicas: d.target.replicas },
        reason,
        failedAt: now(),
      };
      return createEvent(PLACEMENT_FAILED, failed, { source: SOURCE, clock, ids });
    };

    let revision: string;
    let slices: SliceRef[];
    let after: readonly GpuState[] = before;
    const sameRevision = (d.action === 'out' || d.action === 'in') && current !== undefined && current.profile === d.target.profile;
    if (sameRevision && d.target.replicas < current.replicas.length) {
      // Scale in: the newest replicas go; their slices are released after they drain (rollout).
      revision = current.name;
      const leaving = [...current.replicas].sort((a, b) => replicaIndex(b.id) - replicaIndex(a.id)).slice(0, current.replicas.length - d.target.replicas);
      slices = leaving.map((r) => {
        const inst = before.find((g) => g.node === r.node && g.index === r.gpu)?.instances.find((i) => i.id === r.sliceId);
        return { node: r.node, gpu: r.gpu, gpuModel: current.gpuModel, profile: current.profile, start: inst?.start ?? 0, sliceId: r.sliceId, replica: r.id, action: 'release' };
      });
    } else {
      // Cold start, up, down: a new revision on the target tier. Out: more replicas of the current one.
      revision = sameRevision ? current.name : revisionName(d.service, generation);
      const existing = sameRevision ? current.replicas.map((r) => replicaIndex(r.id)) : [];
      const first = existing.length > 0 ? Math.max(...existing) + 1 : 1;
      const count = d.target.replicas - (sameRevision ? current.replicas.length : 0);
      const ownerIds = Array.from({ length: count }, (_, k) => `${revision}-${first + k}`);
      const plan = firstFit(before, { profile: d.target.profile, count, ownerIds, gpuModels: [d.target.gpuModel] });
      if (plan.unplaced > 0) return fail(plan.reason ?? `${plan.unplaced} replica(s) of ${d.target.profile} could not be placed`);
      cluster.applyGpuLayouts(plan.gpus);
      after = plan.gpus;
      if (!sameRevision) cluster.createRevision(d.service, { name: revision, profile: d.target.profile, gpuModel: d.target.gpuModel, decisionId: d.decisionId });
      slices = plan.placements.map((p) => ({
        node: p.node, gpu: p.gpuIndex, gpuModel: p.gpuModel, profile: p.profile, start: p.start, sliceId: p.instanceId, replica: p.owner, action: p.reused ? 'reused' : 'created',
      }));
    }

    const changed = after.filter((g) => {
      const b = before.find((x) => x.node === g.node && x.index === g.index);
      return !b || JSON.stringify(b) !== JSON.stringify(g) || slices.some((s) => s.node === g.node && s.gpu === g.index);
    });
    const layouts: GpuLayout[] = changed.map((g) => ({ node: g.node, gpu: g.index, gpuModel: g.model, migEnabled: g.migEnabled, instances: g.instances.map((i) => ({ profile: i.profile, start: i.start })) }));
    const out: SliceReconfigured = {
      decisionId: d.decisionId,
      service: d.service,
      modelId: d.modelId,
      fromGeneration: d.fromGeneration,
      revision,
      previousRevision: current && current.name !== revision ? current.name : null,
      profile: d.target.profile,
      gpuModel: d.target.gpuModel,
      replicas: d.target.replicas,
      slices,
      layouts,
      reconfiguredAt: now(),
    };
    ctx.logger.info({ service: d.service, decisionId: d.decisionId, action: d.action, revision, slices: slices.map((s) => `${s.action} ${s.sliceId}`) }, 'slices reconfigured');
    return createEvent(SLICE_RECONFIGURED, out, { source: SOURCE, clock, ids });
  }

  return { name: 'reconfigure', handles: [SCALE_DECIDED], onEvent };
}
