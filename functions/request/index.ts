/**
 * The request function's dispatch stage (CloudEvents: request-received → cold start;
 * rollout-completed and placement-failed end a pending cold start). Its HTTP side, the public
 * ingress, is ./ingress.ts: served on its own port, so the events here come only from the broker.
 */
import type { ModelCatalog } from '../../core/catalog/model-catalog';
import type { Clock, IdSource } from '../../core/common/ports';
import type { SsisConfig } from '../../core/config/ssis-config';
import { serviceNameFor } from '../../core/naming';
import { coldStartTarget, describeNeed } from '../../core/scaling/cold-start';
import { isPlaceable } from '../../core/scaling/placeability';
import { createEvent } from '../../events/create';
import type { SsisEvent } from '../../events/envelope';
import { PLACEMENT_FAILED, type PlacementFailed } from '../../events/placement-failed';
import { REQUEST_RECEIVED, type RequestReceived } from '../../events/request-received';
import { ROLLOUT_COMPLETED, type RolloutCompleted } from '../../events/rollout-completed';
import { SCALE_DECIDED, type ScaleDecided } from '../../events/scale-decided';
import type { ClusterPort } from '../../core/ports/cluster';
import type { SsisFunction } from '../runtime/function';

export interface RequestDeps {
  readonly cluster: ClusterPort;
  readonly catalog: ModelCatalog;
  readonly config: SsisConfig;
  readonly clock: Clock;
  readonly ids: IdSource;
}

const SOURCE = '/ssis/functions/request';

export function buildRequestFunction(deps: RequestDeps): SsisFunction {
  const { cluster, catalog, config, clock, ids } = deps;
  /**
   * Cold starts decided and not yet finished: service → decision id and when. An entry expires
   * after pendingTimeoutSec, so a decision that was dead-lettered or ignored cannot block the
   * service's cold starts forever.
   */
  const pendingColdStarts = new Map<string, { decisionId: string; sinceMs: number }>();
  const isPending = (service: string): boolean => {
    const p = pendingColdStarts.get(service);
    if (p && clock.nowMs() - p.sinceMs >= config.scaler.pendingTimeoutSec * 1000) pendingColdStarts.delete(service);
    return pendingColdStarts.has(service);
  };

  async function dispatch(event: SsisEvent): Promise<SsisEvent | undefined> {
    if (event.type === ROLLOUT_COMPLETED || event.type === PLACEMENT_FAILED) {
      const data = event.data as RolloutCompleted | PlacementFailed;
      if (pendingColdStarts.get(data.service)?.decisionId === data.decisionId) pendingColdStarts.delete(data.service);
      return undefined;
    }
    const req = event.data as RequestReceived;
    // Only a request for a catalog model, on that model's own service, may start capacity.
    if (!catalog.has(req.modelId) || serviceNameFor(req.modelId) !== req.service) return undefined;
    const service = cluster.getService(req.service);
    if (service && service.modelId !== req.modelId) return undefined;
    if (!service) return undefined; // the ingress creates it before emitting; a replayed event for a deleted service is moot
    const hasCapacity = service.revisions.some((r) => r.replicas.length > 0);
    if (hasCapacity || service.rollout !== null || isPending(req.service)) return undefined;
    const spec = catalog.get(req.modelId);
    if (!spec) return undefined;
    const gpus = cluster.gpus();
    const target = coldStartTarget(spec, gpus.map((g) => g.model), (gpuModel, profile) => isPlaceable(gpus, gpuModel, profile));
    if (!target) {
      await cluster.setCondition(req.service, { ready: false, reason: 'Unschedulable', message: `${describeNeed(spec)}; no GPU model in the cluster can hold it` });
      return undefined;
    }
    // One cold start per generation: the id is deterministic, so duplicates are recognised downstream.
    const decisionId = `${req.service}-g${service.generation}-cold-start`;
    pendingColdStarts.set(req.service, { decisionId, sinceMs: clock.nowMs() });
    const decision: ScaleDecided = {
      decisionId,
      service: req.service,
      modelId: req.modelId,
      action: 'cold-start',
      policy: 'cold-start',
      fromGeneration: service.generation,
      current: { profile: null, gpuModel: null, replicas: 0 },
      target: { profile: target.profile, gpuModel: target.gpuModel, replicas: 1 },
      reason: `no capacity for ${req.modelId}: ${describeNeed(spec)}, smallest fitting slice is ${target.gpuModel} ${target.profile}${target.placeable ? '' : ' (not placeable now)'}`,
      decidedAt: new Date(clock.nowMs()).toISOString(),
    };
    return createEvent(SCALE_DECIDED, decision, { source: SOURCE, clock, ids });
  }

  return {
    name: 'request',
    handles: [REQUEST_RECEIVED, ROLLOUT_COMPLETED, PLACEMENT_FAILED],
    onEvent: dispatch,
  };
}
