/**
 * The rollout function: slice-reconfigured → replicas started on the new slices → traffic moved
 * make-before-break (the new revision takes 100 % only once all its replicas are ready) → old
 * revision drained and removed → rollout-completed. Scale in drains and stops the released
 * replicas; at zero replicas the service stops receiving traffic (cold start brings it back).
 * Idempotent: starting a replica that exists and deleting a revision that is gone are no-ops.
 */
import type { Clock, IdSource } from '../../core/common/ports';
import { createEvent } from '../../events/create';
import type { SsisEvent } from '../../events/envelope';
import { ROLLOUT_COMPLETED, type RolloutCompleted } from '../../events/rollout-completed';
import { SLICE_RECONFIGURED, type SliceReconfigured } from '../../events/slice-reconfigured';
import type { ClusterPort } from '../../core/ports/cluster';
import type { FunctionContext, SsisFunction } from '../runtime/function';

export interface RolloutDeps {
  readonly cluster: ClusterPort;
  readonly clock: Clock;
  readonly ids: IdSource;
}

const SOURCE = '/ssis/functions/rollout';

export function buildRolloutFunction(deps: RolloutDeps): SsisFunction {
  const { cluster, clock, ids } = deps;

  async function onEvent(event: SsisEvent, ctx: FunctionContext): Promise<SsisEvent | undefined> {
    const reconfigured = event.data as SliceReconfigured;
    const service = cluster.getService(reconfigured.service);
    if (!service) return undefined;
    if (service.rollout !== reconfigured.decisionId) {
      ctx.logger.info({ service: reconfigured.service, decisionId: reconfigured.decisionId }, 'rollout already done or superseded');
      return undefined;
    }
    const started = clock.nowMs();
    const starting = reconfigured.slices.filter((s) => s.action !== 'release');
    await Promise.all(starting.map((s) => cluster.startReplica(reconfigured.service, reconfigured.revision, { id: s.replica, sliceId: s.sliceId, node: s.node, gpu: s.gpu })));
    const readyAfterMs = clock.nowMs() - started;
    if (reconfigured.replicas > 0 && !(service.traffic.length === 1 && service.traffic[0]?.revision === reconfigured.revision)) {
      await cluster.setTraffic(reconfigured.service, [{ revision: reconfigured.revision, percent: 100 }]);
    }
    if (reconfigured.replicas > 0) {
      // Every other revision now has no traffic: drain and remove it (the old tier's slices free up).
      const others = (cluster.getService(reconfigured.service)?.revisions ?? []).filter((r) => r.name !== reconfigured.revision);
      await Promise.all(others.map((r) => cluster.deleteRevision(reconfigured.service, r.name)));
    }
    await Promise.all(reconfigured.slices.filter((s) => s.action === 'release').map((s) => cluster.stopReplica(reconfigured.service, s.replica)));
    if (reconfigured.replicas === 0) {
      await cluster.setTraffic(reconfigured.service, []);
      await cluster.setCondition(reconfigured.service, { ready: false, reason: 'NoCapacity', message: 'scaled to zero' });
    }
    await cluster.endRollout(reconfigured.service, reconfigured.decisionId);
    const done: RolloutCompleted = {
      decisionId: reconfigured.decisionId,
      service: reconfigured.service,
      revision: reconfigured.revision,
      previousRevision: reconfigured.previousRevision,
      profile: reconfigured.profile,
      gpuModel: reconfigured.gpuModel,
      replicas: reconfigured.replicas,
      generation: reconfigured.fromGeneration + 1,
      readyAfterMs,
      completedAt: new Date(clock.nowMs()).toISOString(),
    };
    ctx.logger.info({ service: reconfigured.service, decisionId: reconfigured.decisionId, revision: reconfigured.revision, replicas: reconfigured.replicas, readyAfterMs }, 'rollout completed');
    return createEvent(ROLLOUT_COMPLETED, done, { source: SOURCE, clock, ids });
  }

  return { name: 'rollout', handles: [SLICE_RECONFIGURED], onEvent };
}
