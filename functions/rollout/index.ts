/**
 * The rollout function: slice-reconfigured → replicas started on the new slices → traffic moved
 * make-before-break (the new revision takes 100 % only once all its replicas are ready) → old
 * revision drained and removed → rollout-completed. Scale in drains and stops the released
 * replicas; at zero replicas the service stops receiving traffic (cold start brings it back).
 * Idempotent: starting a replica that exists and deleting a revision that is gone are no-ops.
 *
 * Only the service's current rollout is carried out (a superseded or repeated one is ignored), and
 * only as its decision may go (core/scaling/decision-policy): an event for another model or
 * generation, a revision or slices that do not match, or a replica count the slices do not give or
 * the bounds do not allow is refused with SSIS_DECISION_REFUSED before any replica starts. The
 * rollout marker stays: if the refused event stood for the real rollout, the sample function's
 * rollout timeout releases it; if it did not, the real one still arrives and proceeds.
 */
import type { Clock, IdSource } from '../../core/common/ports';
import type { SsisConfig } from '../../core/config/ssis-config';
import { validationError } from '../../core/errors';
import { rolloutIssues } from '../../core/scaling/decision-policy';
import { createEvent } from '../../events/create';
import type { SsisEvent } from '../../events/envelope';
import { ROLLOUT_COMPLETED, type RolloutCompleted } from '../../events/rollout-completed';
import { SLICE_RECONFIGURED, type SliceReconfigured } from '../../events/slice-reconfigured';
import type { ClusterPort } from '../../core/ports/cluster';
import type { FunctionContext, SsisFunction } from '../runtime/function';

export interface RolloutDeps {
  readonly cluster: ClusterPort;
  /** The replica bounds (scaler) a rollout must keep to. */
  readonly config: Pick<SsisConfig, 'scaler'>;
  readonly clock: Clock;
  readonly ids: IdSource;
}

const SOURCE = '/ssis/functions/rollout';

export function buildRolloutFunction(deps: RolloutDeps): SsisFunction {
  const { cluster, config, clock, ids } = deps;

  async function onEvent(event: SsisEvent, ctx: FunctionContext): Promise<SsisEvent | undefined> {
    const reconfigured = event.data as SliceReconfigured;
    const service = cluster.getService(reconfigured.service);
    if (!service) return undefined;
    if (service.rollout !== reconfigured.decisionId) {
      ctx.logger.info({ service: reconfigured.service, decisionId: reconfigured.decisionId }, 'rollout already done or superseded');
      return undefined;
    }
    const issues = rolloutIssues({ scaler: config.scaler }, reconfigured, service, cluster.gpus());
    if (issues.length > 0) {
      ctx.logger.warn({ service: reconfigured.service, decisionId: reconfigured.decisionId, issues }, 'rollout refused');
      throw validationError('SSIS_DECISION_REFUSED', `slice-reconfigured ${reconfigured.decisionId} for ${reconfigured.service} refused`, issues);
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
