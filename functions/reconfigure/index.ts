/**
 * The reconfigure function: scale-decided → MIG slices for the target → slice-reconfigured
 * (or placement-failed, never a silent drop).
 *
 * Idempotent: the cluster accepts a decision only if it was computed from the service's current
 * generation (beginDecision bumps it), so a duplicate or stale scale-decided changes nothing.
 *
 * Nothing is carried out that breaks policy (core/scaling/decision-policy): a decision for another
 * model, outside the replica bounds, on a profile or GPU model the cluster cannot give, whose action
 * does not match what the service holds, from a generation not reached, or while another decision
 * rolls out is refused with SSIS_DECISION_REFUSED and its fields before beginDecision, so it bumps
 * no generation, marks no rollout and never reaches placement (whose failure would back a slice off).
 * Not retriable: the broker dead-letters it with the reason.
 *
 * Placement is the MIG planner (core/mig/planner) over the whole cluster: the decision's new
 * replicas are the demand (highest priority, all or none); every other revision's running replicas
 * are kept, and those of OTHER services that are ready and not in a rollout may be moved when that is what makes room
 * (e.g. a 2g moved from slot 4 to 2 so a 3g fits at 4). The function carries such moves out
 * make-before-break through the ClusterPort — new instance, new replica started and ready, old
 * replica stopped, old instance destroyed — before it creates the decision's slices, and reports
 * them in the event's `moves`. The decision's own revisions never move (a tier change keeps the old
 * revision serving until the rollout), nor do replicas still starting or draining. Whole-cluster
 * consolidation is off here (a scale decision should not drain unrelated GPUs); `ssis mig plan` has it.
 */
import type { ModelCatalog } from '../../core/catalog/model-catalog';
import type { Clock, IdSource } from '../../core/common/ports';
import type { SsisConfig } from '../../core/config/ssis-config';
import { SsisError, validationError } from '../../core/errors';
import type { GpuState } from '../../core/mig/layout';
import { planMig } from '../../core/mig/planner/planner';
import { carryOutSteps, type ActuationPort } from '../../core/mig/actuator';
import type { MigPlan, PlannerInput, ReplicaMove, ServiceDemand } from '../../core/mig/planner/types';
import { revisionName } from '../../core/naming';
import { decisionIssues, isStaleDecision } from '../../core/scaling/decision-policy';
import { servingRevision } from '../../core/scaling/serving-revision';
import { createEvent } from '../../events/create';
import type { SsisEvent } from '../../events/envelope';
import { PLACEMENT_FAILED, type PlacementFailed } from '../../events/placement-failed';
import { SCALE_DECIDED, type ScaleDecided } from '../../events/scale-decided';
import { SLICE_RECONFIGURED, type GpuLayout, type ReplicaMoveRef, type SliceRef, type SliceReconfigured } from '../../events/slice-reconfigured';
import type { ClusterPort, RevisionView, ServiceView } from '../../core/ports/cluster';
import type { FunctionContext, SsisFunction } from '../runtime/function';

export interface ReconfigureDeps {
  readonly cluster: ClusterPort;
  /** The models a decision may name. */
  readonly catalog: ModelCatalog;
  /** The replica bounds (scaler) a decision must keep to. */
  readonly config: Pick<SsisConfig, 'scaler'>;
  readonly clock: Clock;
  readonly ids: IdSource;
}

const SOURCE = '/ssis/functions/reconfigure';

function replicaIndex(id: string): number {
  const n = Number(id.slice(id.lastIndexOf('-') + 1));
  return Number.isInteger(n) ? n : 0;
}

/** Owners of instances in the state: a replica counts as running for the planner only if it holds one. */
function ownersIn(gpus: readonly GpuState[]): Set<string> {
  return new Set(gpus.flatMap((g) => g.instances.flatMap((i) => (i.owner === null ? [] : [i.owner]))));
}

/**
 * The planner's demand: one entry per revision with replicas (keyed by revision name, unique across
 * services), plus the decision's target revision with its new replica ids at the top priority.
 */
export function reconfigureDemand(services: readonly ServiceView[], gpus: readonly GpuState[], decision: ScaleDecided, revision: string, ownerIds: readonly string[]): ServiceDemand[] {
  const owners = ownersIn(gpus);
  const demand: ServiceDemand[] = [];
  let targetRunning: string[] = [];
  for (const s of services) {
    for (const r of s.revisions) {
      const running = r.replicas.filter((x) => owners.has(x.id)).map((x) => x.id);
      if (r.name === revision) {
        targetRunning = running;
        continue;
      }
      if (running.length === 0) continue;
      // A service in its own rollout is left alone: its rollout function starts and deletes its replicas meanwhile.
      const movable = s.name !== decision.service && s.rollout === null && r.replicas.every((x) => x.phase === 'ready');
      demand.push({ service: r.name, profiles: [r.profile], gpuModels: [r.gpuModel], replicas: running.length, priority: 0, movable, runningReplicas: running });
    }
  }
  demand.push({
    service: revision, profiles: [decision.target.profile], gpuModels: [decision.target.gpuModel], replicas: targetRunning.length + ownerIds.length,
    priority: 1, movable: false, runningReplicas: targetRunning, newReplicaIds: [...ownerIds],
  });
  return demand;
}

export function buildReconfigureFunction(deps: ReconfigureDeps): SsisFunction {
  const { cluster, catalog, config, clock, ids } = deps;

  // One decision at a time: a plan is computed from the GPUs as they are and applied after awaits (moves),
  // so two decisions of different services interleaving would overwrite each other's slices.
  let tail: Promise<unknown> = Promise.resolve();
  function onEvent(event: SsisEvent, ctx: FunctionContext): Promise<SsisEvent | undefined> {
    const run = tail.then(() => reconfigure(event, ctx));
    tail = run.catch(() => undefined);
    return run;
  }

  /** The revision (and its service) a replica belongs to. */
  function revisionOf(replica: string): { service: ServiceView; revision: RevisionView } | undefined {
    for (const service of cluster.listServices()) {
      const revision = service.revisions.find((r) => r.replicas.some((x) => x.id === replica));
      if (revision !== undefined) return { service, revision };
    }
    return undefined;
  }

  /**
   * Fresh ids for the replicas the plan moves: where a replica runs it cannot change (in a
   * cluster it is a Knative Revision), so the moved one is a new replica of the same revision.
   */
  function namedMoves(moves: readonly ReplicaMove[]): { move: ReplicaMove; service: string; revision: string; newReplica: string }[] {
    const nextIndex = new Map<string, number>();
    return moves.map((move) => {
      const owner = revisionOf(move.replica);
      if (owner === undefined) throw new SsisError('SSIS_NOT_FOUND', `replica ${move.replica} to move is in no revision`);
      const revision = owner.revision.name;
      const next = (nextIndex.get(revision) ?? Math.max(0, ...owner.revision.replicas.map((x) => replicaIndex(x.id)))) + 1;
      nextIndex.set(revision, next);
      return { move, service: owner.service.name, revision, newReplica: `${revision}-${next}` };
    });
  }


  /**
   * Carries out the plan's steps through the cluster (core/mig/actuator.ts): the moves
   * make-before-break — new instance, the moved replica started there under its new id and ready,
   * the old one stopped, its instance destroyed — then the decision's slices. The decision's own
   * new replicas are started by the rollout, once the revision exists.
   */
  async function actuate(plan: MigPlan, decisionRevision: string, movedIds: ReadonlyMap<string, string>): Promise<void> {
    const port: ActuationPort = {
      gpus: () => cluster.gpus(),
      applyGpuLayouts: (layouts) => cluster.applyGpuLayouts(layouts),
      startReplica: async (replica, step) => {
        const owner = step.replica === undefined ? undefined : revisionOf(step.replica);
        if (owner === undefined) throw new SsisError('SSIS_NOT_FOUND', `replica ${step.replica ?? ''} to start is in no revision`);
        try {
          await cluster.startReplica(owner.service.name, owner.revision.name, { id: replica, sliceId: step.instanceId, node: step.node, gpu: step.gpuIndex });
        } catch (err) {
          throw new SsisError('SSIS_PLACEMENT_INFEASIBLE', `moving ${step.replica ?? ''} to ${step.instanceId} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        }
      },
      stopReplica: async (replica) => {
        const owner = revisionOf(replica);
        if (owner !== undefined) await cluster.stopReplica(owner.service.name, replica);
      },
    };
    await carryOutSteps(plan.steps, port, {
      replicaIdOf: (step) => (step.replica === undefined ? '' : (movedIds.get(step.replica) ?? step.replica)),
      deferStart: (step) => step.service === decisionRevision,
    });
  }

  async function reconfigure(event: SsisEvent, ctx: FunctionContext): Promise<SsisEvent | undefined> {
    const decision = event.data as ScaleDecided;
    const service = cluster.getService(decision.service);
    if (!service) throw new SsisError('SSIS_NOT_FOUND', `scale-decided ${decision.decisionId} names unknown service ${decision.service}`);
    const ignored = (): undefined => {
      ctx.logger.info({ service: decision.service, decisionId: decision.decisionId, fromGeneration: decision.fromGeneration, generation: service.generation }, 'stale or duplicate decision ignored');
      return undefined;
    };
    if (isStaleDecision(decision, service)) return ignored();
    const issues = decisionIssues({ catalog, scaler: config.scaler }, decision, service, cluster.gpus());
    if (issues.length > 0) {
      ctx.logger.warn({ service: decision.service, decisionId: decision.decisionId, issues }, 'decision refused');
      throw validationError('SSIS_DECISION_REFUSED', `scale-decided ${decision.decisionId} for ${decision.service} refused`, issues);
    }
    if (!(await cluster.beginDecision(decision.service, decision.decisionId, decision.fromGeneration))) return ignored();
    const generation = decision.fromGeneration + 1;
    const now = (): string => new Date(clock.nowMs()).toISOString();
    const current = servingRevision(service);
    const before = cluster.gpus();

    const fail = async (reason: string): Promise<SsisEvent> => {
      await cluster.endRollout(decision.service, decision.decisionId);
      if (!service.revisions.some((r) => r.replicas.length > 0)) {
        await cluster.setCondition(decision.service, { ready: false, reason: 'Unschedulable', message: reason });
      }
      ctx.logger.warn({ service: decision.service, decisionId: decision.decisionId, reason }, 'placement failed');
      const failed: PlacementFailed = {
        decisionId: decision.decisionId,
        service: decision.service,
        modelId: decision.modelId,
        fromGeneration: decision.fromGeneration,
        requested: { profile: decision.target.profile, gpuModel: decision.target.gpuModel, replicas: decision.target.replicas },
        reason,
        failedAt: now(),
      };
      return createEvent(PLACEMENT_FAILED, failed, { source: SOURCE, clock, ids });
    };

    // Once the decision is accepted it must end in slice-reconfigured or placement-failed: a
    // redelivery after a throw would look stale and be dropped, leaving the service in rollout.
    try {
      let revision: string;
      let slices: SliceRef[];
      let after: readonly GpuState[] = before;
      let moves: ReplicaMoveRef[] = [];
      const sameRevision = (decision.action === 'out' || decision.action === 'in') && current !== undefined && current.profile === decision.target.profile;
      if (sameRevision && decision.target.replicas < current.replicas.length) {
        // Scale in: the newest replicas go; their slices are released after they drain (rollout).
        revision = current.name;
        const leaving = [...current.replicas].sort((a, b) => replicaIndex(b.id) - replicaIndex(a.id)).slice(0, current.replicas.length - decision.target.replicas);
        slices = leaving.map((r) => {
          const inst = before.find((g) => g.node === r.node && g.index === r.gpu)?.instances.find((i) => i.id === r.sliceId);
          return { node: r.node, gpu: r.gpu, gpuModel: current.gpuModel, profile: current.profile, start: inst?.start ?? 0, sliceId: r.sliceId, replica: r.id, action: 'release' };
        });
      } else {
        // Cold start, up, down: a new revision on the target tier. Out: more replicas of the current one.
        revision = sameRevision ? current.name : revisionName(decision.service, generation);
        const existing = sameRevision ? current.replicas.map((r) => replicaIndex(r.id)) : [];
        const first = existing.length > 0 ? Math.max(...existing) + 1 : 1;
        const count = decision.target.replicas - (sameRevision ? current.replicas.length : 0);
        const ownerIds = Array.from({ length: count }, (_, k) => `${revision}-${first + k}`);
        const input: PlannerInput = { gpus: before, demand: reconfigureDemand(cluster.listServices(), before, decision, revision, ownerIds), options: { consolidate: false } };
        const plan = planMig(input);
        const unmet = plan.unmet.find((u) => u.service === revision);
        if (unmet !== undefined) return fail(unmet.reason);
        try {
          const named = namedMoves(plan.moves);
          await actuate(plan, revision, new Map(named.map((n) => [n.move.replica, n.newReplica])));
          const at = (r: ReplicaMove['from']): ReplicaMoveRef['from'] => ({ node: r.node, gpu: r.gpuIndex, gpuModel: r.gpuModel, profile: r.profile, start: r.start, sliceId: r.instanceId });
          moves = named.map(({ move: m, service: owner, revision: moved, newReplica }) => {
            ctx.logger.info({ service: owner, replica: m.replica, newReplica, from: m.from.instanceId, to: m.to.instanceId }, 'replica moved make-before-break');
            return { service: owner, revision: moved, replica: m.replica, newReplica, from: at(m.from), to: at(m.to) };
          });
        } catch (err) {
          // A move whose replica did not start, or a node the operator could not repartition
          // (mig.config.state=failed), ends the decision, reported, rather than leaving it in rollout.
          return fail(err instanceof Error ? err.message : String(err));
        }
        after = cluster.gpus();
        if (!sameRevision) {
          // The decided batch size goes with the revision, as vLLM's --max-num-seqs goes with a Knative revision's args.
          await cluster.createRevision(decision.service, { name: revision, profile: decision.target.profile, gpuModel: decision.target.gpuModel, decisionId: decision.decisionId, ...(decision.target.maxBatchSize === undefined ? {} : { maxBatchSize: decision.target.maxBatchSize }) });
        }
        slices = plan.placements
          .filter((p) => p.service === revision)
          .map((p) => ({ node: p.node, gpu: p.gpuIndex, gpuModel: p.gpuModel, profile: p.profile, start: p.start, sliceId: p.instanceId, replica: p.replica, action: p.action }));
      }

      const changed = after.filter((g) => {
        const b = before.find((x) => x.node === g.node && x.index === g.index);
        return !b || JSON.stringify(b) !== JSON.stringify(g) || slices.some((s) => s.node === g.node && s.gpu === g.index);
      });
      const layouts: GpuLayout[] = changed.map((g) => ({ node: g.node, gpu: g.index, gpuModel: g.model, migEnabled: g.migEnabled, instances: g.instances.map((i) => ({ profile: i.profile, start: i.start })) }));
      const out: SliceReconfigured = {
        decisionId: decision.decisionId,
        service: decision.service,
        modelId: decision.modelId,
        fromGeneration: decision.fromGeneration,
        revision,
        previousRevision: current && current.name !== revision ? current.name : null,
        profile: decision.target.profile,
        gpuModel: decision.target.gpuModel,
        replicas: decision.target.replicas,
        slices,
        layouts,
        ...(moves.length > 0 ? { moves } : {}),
        reconfiguredAt: now(),
      };
      ctx.logger.info({ service: decision.service, decisionId: decision.decisionId, action: decision.action, revision, slices: slices.map((s) => `${s.action} ${s.sliceId}`) }, 'slices reconfigured');
      return createEvent(SLICE_RECONFIGURED, out, { source: SOURCE, clock, ids });
    } catch (err) {
      return fail(err instanceof Error ? err.message : String(err));
    }
  }

  return { name: 'reconfigure', handles: [SCALE_DECIDED], onEvent };
}
