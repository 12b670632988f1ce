/**
 * The request function: the HTTP ingress (SSIS body on `POST /`, OpenAI API on `/v1/...`) and the
 * dispatch stage (CloudEvents: request-received → cold start; rollout-completed and
 * placement-failed end a pending cold start).
 *
 * Ingress path: validate → emit request-received (token counts, never secrets) → take a route to a
 * ready replica; with none, hold the request (bounded by capacityWaitTimeoutSec; 503 with
 * Retry-After on timeout or when placement failed) while the dispatch stage cold-starts the model
 * → forward `{inputs, parameters}` → answer the generated text synchronously.
 */
import type express from 'express';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { ModelCatalog } from '../../core/catalog/model-catalog';
import type { Clock, IdSource } from '../../core/common/ports';
import type { SsisConfig } from '../../core/config/ssis-config';
import { asSsisError, SsisError } from '../../core/errors';
import { coldStartTarget, describeNeed } from '../../core/scaling/cold-start';
import { isPlaceable } from '../../core/scaling/placeability';
import { estimateTokens } from '../../core/token-estimate';
import { createEvent } from '../../events/create';
import type { SsisEvent } from '../../events/envelope';
import { PLACEMENT_FAILED, type PlacementFailed } from '../../events/placement-failed';
import { REQUEST_RECEIVED, type RequestApi, type RequestReceived } from '../../events/request-received';
import { ROLLOUT_COMPLETED, type RolloutCompleted } from '../../events/rollout-completed';
import { SCALE_DECIDED, type ScaleDecided } from '../../events/scale-decided';
import type { ClusterPort } from '../../core/ports/cluster';
import type { FunctionContext, SsisFunction } from '../runtime/function';
import { openAiResponse, parseOpenAiBody } from './openai-body';
import { parseSsisBody, type InferenceCall } from './ssis-body';

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
    const service = cluster.getService(req.service);
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

  function routes(app: express.Express, ctx: FunctionContext): void {
    const requests = new Counter({ name: 'ssis_ingress_requests_total', help: 'Inference requests by service, API and HTTP status.', labelNames: ['service', 'api', 'code'], registers: [ctx.registry] });
    const latency = new Histogram({
      name: 'ssis_ingress_request_duration_seconds',
      help: 'Time from request to answer at the ingress, cold-start wait included.',
      labelNames: ['service', 'api'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160],
      registers: [ctx.registry],
    });
    const held = new Gauge({ name: 'ssis_ingress_held_requests', help: 'Requests waiting for their model to get capacity.', labelNames: ['service'], registers: [ctx.registry] });
    const lostEvents = new Counter({ name: 'ssis_ingress_event_publish_failures_total', help: 'request-received events the broker did not accept.', registers: [ctx.registry] });

    const handle = (api: RequestApi) => (req: express.Request, res: express.Response): void => {
      const started = clock.nowMs();
      let service = 'invalid';
      void (async () => {
        let status = 200;
        try {
          const body = parseJsonBody(req.body);
          const call = api === 'ssis' ? parseSsisBody(body) : parseOpenAiBody(api, body);
          service = call.service;
          const spec = catalog.get(call.modelId);
          if (!spec) {
            throw new SsisError('SSIS_UNKNOWN_MODEL', `model ${call.modelId} is not in the model catalog (known: ${[...catalog.keys()].join(', ')})`, {
              issues: [{ field: api === 'ssis' ? 'env.MODEL_ID' : 'model', message: 'unknown model' }],
            });
          }
          const requestId = ids.next();
          await cluster.ensureService(call.service, call.modelId);
          const inputTokens = estimateTokens(call.prompt);
          const received: RequestReceived = {
            requestId,
            service: call.service,
            modelId: call.modelId,
            api,
            serviceClass: call.labels['class'] ?? config.ingress.defaultServiceClass,
            inputTokens,
            maxNewTokens: call.maxNewTokens,
            sloMs: call.sloMs,
            envKeys: call.envKeys,
            receivedAt: new Date(started).toISOString(),
          };
          try {
            await ctx.publisher.publish(createEvent(REQUEST_RECEIVED, received, { source: SOURCE, clock, ids }));
          } catch (err) {
            lostEvents.inc();
            ctx.logger.warn({ service, requestId, error: asSsisError(err).message }, 'request-received not accepted by the broker');
            // Without the event nobody cold-starts the model: only serve if capacity exists.
            const probe = cluster.acquireRoute(call.service);
            probe?.release();
            if (!probe) throw err;
          }
          let lease = cluster.acquireRoute(call.service);
          if (!lease) {
            held.inc({ service });
            const outcome = await cluster.waitForReady(call.service, config.ingress.capacityWaitTimeoutSec * 1000).finally(() => held.dec({ service }));
            if (outcome !== 'ready') {
              const condition = cluster.getService(call.service)?.condition;
              res.set('Retry-After', String(config.ingress.retryAfterSec));
              throw outcome === 'failed'
                ? new SsisError('SSIS_CAPACITY_UNAVAILABLE', `no capacity for ${call.modelId}: ${condition?.message ?? 'placement failed'}`)
                : new SsisError('SSIS_CAPACITY_TIMEOUT', `${call.modelId} got no capacity within ${config.ingress.capacityWaitTimeoutSec}s`);
            }
            lease = cluster.acquireRoute(call.service);
          }
          // The first attempt uses the lease taken above; a retry takes a fresh one.
          let first = lease;
          const answer = await forward(call, () => {
            const l = first ?? cluster.acquireRoute(call.service);
            first = null;
            return l;
          }, config.ingress.upstreamTimeoutSec * 1000);
          res.set('x-ssis-request-id', requestId).set('x-ssis-service', call.service);
          if (api === 'ssis') {
            res.status(200).json(answer.body);
          } else {
            const text = typeof (answer.body as { generated_text?: unknown }).generated_text === 'string' ? (answer.body as { generated_text: string }).generated_text : '';
            const completionTokens = (answer.body as { details?: { generated_tokens?: number } }).details?.generated_tokens ?? estimateTokens(text);
            res.status(200).json(openAiResponse(api, call, requestId, text, { promptTokens: inputTokens, completionTokens }, Math.floor(started / 1000)));
          }
        } catch (err) {
          const e = asSsisError(err);
          status = e.httpStatus;
          if (status === 503 && !res.get('Retry-After')) res.set('Retry-After', String(config.ingress.retryAfterSec));
          if (e.code === 'SSIS_INTERNAL') ctx.logger.error({ service, error: e.message }, 'ingress failure');
          res.status(status).json(api === 'ssis' ? e.toJSON() : { error: { message: e.message, type: e.code, param: e.issues[0]?.field ?? null, code: e.code } });
        } finally {
          requests.inc({ service, api, code: String(res.statusCode || status) });
          latency.observe({ service, api }, (clock.nowMs() - started) / 1000);
        }
      })();
    };

    app.post('/', handle('ssis'));
    app.post('/v1/completions', handle('openai-completions'));
    app.post('/v1/chat/completions', handle('openai-chat'));
    app.get('/v1/models', (_req, res) => {
      res.json({ object: 'list', data: [...catalog.keys()].map((id) => ({ id, object: 'model', owned_by: 'ssis' })) });
    });
  }

  return {
    name: 'request',
    handles: [REQUEST_RECEIVED, ROLLOUT_COMPLETED, PLACEMENT_FAILED],
    onEvent: dispatch,
    routes,
  };
}

function parseJsonBody(raw: unknown): unknown {
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : typeof raw === 'string' ? raw : '';
  if (text.trim() === '') throw new SsisError('SSIS_INVALID_REQUEST', 'invalid request: body: is required (a JSON object)', { issues: [{ field: 'body', message: 'is required' }] });
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const message = `is not valid JSON (${(err as Error).message})`;
    throw new SsisError('SSIS_INVALID_REQUEST', `invalid request: body: ${message}`, { issues: [{ field: 'body', message }] });
  }
}

interface UpstreamAnswer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * Forwards the call to a replica. A replica that vanished between lease and connect (its revision
 * was just replaced) is retried once on a fresh lease: make-before-break means another is ready.
 */
async function forward(call: InferenceCall, lease: () => { url: string; release(): void } | null, timeoutMs: number): Promise<UpstreamAnswer> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const l = lease();
    if (!l) break;
    try {
      const path = call.subroute ?? '/generate';
      const body = call.payload ?? { inputs: call.prompt, parameters: call.parameters };
      const res = await fetch(`${l.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text) as unknown;
      } catch {
        /* non-JSON answers are passed on as text */
      }
      if (res.status === 200) return { status: 200, body: parsed };
      if (res.status >= 400 && res.status < 500) {
        const message = typeof (parsed as { error?: unknown }).error === 'string' ? (parsed as { error: string }).error : text.slice(0, 300);
        throw new SsisError('SSIS_INVALID_REQUEST', `the model rejected the request: ${message}`, { issues: [{ field: 'par', message }] });
      }
      if (attempt === 1) throw new SsisError('SSIS_UPSTREAM_FAILED', `inference service answered ${res.status}: ${text.slice(0, 300)}`);
    } catch (err) {
      if (err instanceof SsisError) throw err;
      if (attempt === 1) throw new SsisError('SSIS_UPSTREAM_FAILED', `inference service unreachable: ${String(err)}`, { cause: err });
    } finally {
      l.release();
    }
  }
  throw new SsisError('SSIS_CAPACITY_TIMEOUT', `no ready replica for ${call.modelId}`);
}
