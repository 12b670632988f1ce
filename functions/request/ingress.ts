/**
 * The public HTTP ingress: the SSIS body on `POST /`, the OpenAI API on `/v1/...`, health and
 * metrics. It takes no CloudEvents (they arrive on the request function's own endpoint), so nothing
 * a client sends here can act as a pipeline event.
 *
 * A request: content type and size checked before the body is read → the caller authenticated
 * (API keys; anonymous only where the wiring allows it, on loopback) → the tenant's rate limit (429)
 * → validated → admitted to its service's bounded queue by class priority (503 + Retry-After when
 * full) → request-received emitted (token counts, never secrets) → forwarded to a ready replica once
 * it has a slot, waiting through a cold start (bounded by capacityWaitTimeoutSec) → answered. A client
 * that hangs up leaves the queue, or has its upstream request aborted.
 */
import express from 'express';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { TenantGrant } from '../../core/auth/tenants';
import { TokenBuckets } from '../../core/admission/token-bucket';
import type { Grant, ShedReason } from '../../core/admission/admission-queue';
import { serviceClassOf } from '../../core/config/ssis-config';
import { asSsisError, SsisError } from '../../core/errors';
import { serviceNameFor } from '../../core/naming';
import { estimateTokens } from '../../core/token-estimate';
import { parseJsonBounded } from '../../core/common/bounded-json';
import { createEvent } from '../../events/create';
import { REQUEST_RECEIVED, type RequestApi, type RequestReceived } from '../../events/request-received';
import type { FunctionContext } from '../runtime/function';
import { IngressAdmission } from './admission';
import type { RequestDeps } from './index';
import { openAiResponse, parseOpenAiBody } from './openai-body';
import { openAiError } from './openai-errors';
import { parseSsisBody, type InferenceCall } from './ssis-body';

/** Authenticates the caller of the inference APIs; throws SSIS_UNAUTHENTICATED. */
export interface CallerAuthenticator {
  authenticate(authorization: string | undefined): TenantGrant;
}

export interface IngressDeps extends RequestDeps {
  /** API keys. Absent: every caller is the anonymous tenant (the wiring allows that on loopback only). */
  readonly apiKeys?: CallerAuthenticator;
}

export interface Ingress {
  readonly app: express.Express;
  /** Sheds every waiting request (the server is stopping). */
  close(): void;
}

const SOURCE = '/ssis/functions/request';

/** A catalog model as OpenAI lists one; `created` is required by the official clients' types. */
const modelObject = (id: string): { id: string; object: 'model'; created: number; owned_by: string } => ({ id, object: 'model', created: 0, owned_by: 'ssis' });
const APIS: readonly RequestApi[] = ['ssis', 'openai-completions', 'openai-chat'];

export function createIngressApp(deps: IngressDeps, ctx: FunctionContext, opts: { bodyLimitBytes?: number } = {}): Ingress {
  const { cluster, catalog, config, clock, ids } = deps;
  const admission = new IngressAdmission({ cluster, catalog, config, now: () => clock.nowMs() });
  const buckets = new TokenBuckets();
  const classNames = config.serviceClasses.map((c) => c.name);
  // Label values only from names the system knows: a client cannot mint time series.
  const knownServices = new Set([...catalog.keys()].map((id) => serviceNameFor(id)));
  const serviceLabel = (service: string): string => (knownServices.has(service) ? service : 'other');

  const registry = ctx.registry;
  const requests = new Counter({ name: 'ssis_ingress_requests_total', help: 'Inference requests by service, API and HTTP status.', labelNames: ['service', 'api', 'code'], registers: [registry] });
  const latency = new Histogram({
    name: 'ssis_ingress_request_duration_seconds',
    help: 'Time from request to answer at the ingress, queueing and cold-start wait included.',
    labelNames: ['service', 'api'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160],
    registers: [registry],
  });
  const queued = new Gauge({ name: 'ssis_ingress_queued_requests', help: 'Requests admitted and waiting for a slot (cold starts included).', labelNames: ['service'], registers: [registry] });
  const shed = new Counter({ name: 'ssis_ingress_shed_total', help: 'Requests refused for load: rate-limited tenants, full queues, outranked waiters, waits that timed out.', labelNames: ['service', 'reason'], registers: [registry] });
  const lostEvents = new Counter({ name: 'ssis_ingress_event_publish_failures_total', help: 'request-received events the broker did not accept.', registers: [registry] });

  const anonymous = (labels: Readonly<Record<string, string>>): TenantGrant => ({
    keyId: 'anonymous', tenant: 'anonymous', serviceClass: labels['class'] ?? config.ingress.defaultServiceClass, rate: { ratePerSec: Infinity, burst: Infinity }, models: null,
  });

  const retryAfter = (res: express.Response, seconds: number): void => void res.set('Retry-After', String(Math.max(1, Math.ceil(seconds))));

  const handle = (api: RequestApi) => (req: express.Request, res: express.Response): void => {
    const started = clock.nowMs();
    let service = 'other';
    let grant: Grant | null = null;
    // A client that hangs up: its queue entry is dropped and its upstream request aborted.
    const gone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    void (async () => {
      try {
        // The caller first: an unauthenticated client learns nothing about models or bodies.
        const caller = deps.apiKeys?.authenticate(req.get('authorization'));
        if (caller) {
          const take = buckets.take(caller.tenant, caller.rate, clock.nowMs());
          if (!take.ok) {
            shed.inc({ service: 'other', reason: 'rate-limited' });
            retryAfter(res, take.retryAfterMs / 1000);
            throw new SsisError('SSIS_RATE_LIMITED', `tenant ${caller.tenant} is over its rate limit of ${caller.rate.ratePerSec}/s`);
          }
        }
        const call = parseCall(api, req.body, classNames);
        const spec = catalog.get(call.modelId);
        if (!spec) {
          throw new SsisError('SSIS_UNKNOWN_MODEL', `model ${call.modelId} is not in the model catalog (known: ${[...catalog.keys()].join(', ')})`, {
            issues: [{ field: api === 'ssis' ? 'env.MODEL_ID' : 'model', message: 'unknown model' }],
          });
        }
        service = call.service;
        const tenant = caller ?? anonymous(call.labels);
        if (tenant.models !== null && !tenant.models.includes(call.modelId)) {
          throw new SsisError('SSIS_FORBIDDEN', `the API key does not grant model ${call.modelId}`, { issues: [{ field: api === 'ssis' ? 'env.MODEL_ID' : 'model', message: 'not granted to this key' }] });
        }
        if (caller && call.labels['class'] !== undefined && call.labels['class'] !== caller.serviceClass) {
          throw new SsisError('SSIS_FORBIDDEN', 'the API key does not grant the service class in label.class', { issues: [{ field: 'label.class', message: 'not granted to this key' }] });
        }
        const priority = config.serviceClasses.find((c) => c.name === tenant.serviceClass)?.priority ?? serviceClassOf(config, call.modelId).priority;
        await cluster.ensureService(call.service, call.modelId);

        const admittedAt = clock.nowMs();
        const admitted = admission.admit(call.service, call.modelId, priority);
        if (admitted.kind === 'shed') {
          shed.inc({ service, reason: admitted.reason });
          retryAfter(res, config.ingress.retryAfterSec);
          throw new SsisError('SSIS_OVERLOADED', `${call.modelId} is at capacity and its queue is full; retry later`);
        }
        const requestId = ids.next();
        const inputTokens = estimateTokens(call.prompt);
        let queuedMs = 0;
        if (admitted.kind === 'granted') {
          grant = admitted.grant;
          // A slot is free, so capacity exists: the event is for the sampler, and the engine need
          // not sit idle while the broker takes it (announce never throws with capacity).
          void announce(call, api, requestId, inputTokens, tenant.serviceClass, started);
        } else {
          try {
            await announce(call, api, requestId, inputTokens, tenant.serviceClass, started);
          } catch (err) {
            // Not served: leave the queue, or the entry would later be granted a slot nobody releases.
            admitted.cancel();
            const late = await Promise.race([admitted.granted, Promise.resolve('none' as const)]);
            if (typeof late !== 'string') late.release();
            throw err;
          }
          queued.inc({ service });
          const waitFrom = clock.nowMs();
          try {
            grant = await waitForSlot(call, admitted, res);
          } finally {
            queued.dec({ service });
            queuedMs = clock.nowMs() - waitFrom;
          }
        }
        // A slot is capacity, not yet a route: while a rollout moves traffic the cluster may have
        // none to give for a moment. Wait for one (bounded) rather than fail a request it can serve.
        const probe = cluster.acquireRoute(call.service);
        probe?.release();
        if (!probe) {
          const outcome = await cluster.waitForReady(call.service, config.ingress.capacityWaitTimeoutSec * 1000);
          if (outcome === 'failed') throw unplaceable(call);
          if (outcome === 'timeout') throw new SsisError('SSIS_CAPACITY_TIMEOUT', `${call.modelId} got no route within ${config.ingress.capacityWaitTimeoutSec}s`);
        }
        const servedFrom = clock.nowMs();
        const answer = await forward(call, () => cluster.acquireRoute(call.service), config.ingress.upstreamTimeoutSec * 1000, gone.signal);
        const upstreamMs = clock.nowMs() - servedFrom;
        admission.observe(call.service, upstreamMs);
        // Where the time went: reading and checking the request, waiting for a slot (queue, cold
        // start), and at the engine.
        res.set('server-timing', `intake;dur=${admittedAt - started}, queue;dur=${queuedMs}, upstream;dur=${upstreamMs}`);
        res.set('x-ssis-request-id', requestId).set('x-request-id', requestId).set('x-ssis-service', call.service);
        if (api === 'ssis') {
          res.status(200).json(answer.body);
        } else {
          const text = typeof (answer.body as { generated_text?: unknown }).generated_text === 'string' ? (answer.body as { generated_text: string }).generated_text : '';
          const completionTokens = (answer.body as { details?: { generated_tokens?: number } }).details?.generated_tokens ?? estimateTokens(text);
          res.status(200).json(openAiResponse(api, call, requestId, text, { promptTokens: inputTokens, completionTokens }, Math.floor(started / 1000)));
        }
      } catch (err) {
        const e = asSsisError(err);
        if (e.httpStatus === 503 && !res.get('Retry-After')) retryAfter(res, config.ingress.retryAfterSec);
        if (e.code === 'SSIS_INTERNAL') ctx.logger.error({ service, error: e.message }, 'ingress failure');
        if (!res.headersSent && !gone.signal.aborted) res.status(e.httpStatus).json(api === 'ssis' ? e.toJSON() : openAiError(e));
      } finally {
        grant?.release();
        requests.inc({ service: serviceLabel(service), api, code: gone.signal.aborted && !res.writableFinished ? '499' : String(res.statusCode) });
        latency.observe({ service: serviceLabel(service), api }, (clock.nowMs() - started) / 1000);
      }
    })();
  };

  /** The answer for a model whose placement failed: the cluster's reason, retriable later. */
  function unplaceable(call: InferenceCall): SsisError {
    const condition = cluster.getService(call.service)?.condition;
    return new SsisError('SSIS_CAPACITY_UNAVAILABLE', `no capacity for ${call.modelId}: ${condition?.message ?? 'placement failed'}`);
  }

  /** request-received: demand the dispatch stage cold-starts on and the sampler counts. */
  async function announce(call: InferenceCall, api: RequestApi, requestId: string, inputTokens: number, serviceClass: string, started: number): Promise<void> {
    const received: RequestReceived = {
      requestId, service: call.service, modelId: call.modelId, api, serviceClass, inputTokens, maxNewTokens: call.maxNewTokens, sloMs: call.sloMs, envKeys: call.envKeys, receivedAt: new Date(started).toISOString(),
    };
    try {
      await ctx.publisher.publish(createEvent(REQUEST_RECEIVED, received, { source: SOURCE, clock, ids }));
    } catch (err) {
      lostEvents.inc();
      ctx.logger.warn({ service: call.service, requestId, error: asSsisError(err).message }, 'request-received not accepted by the broker');
      // Without the event nobody cold-starts the model: only serve if capacity exists.
      if (admission.slots(call.service) === 0) throw err;
    }
  }

  /**
   * Waits for the queue to grant a slot. While the service has no ready replica it also watches
   * the cold start: a failed placement ends the wait at once with 503, as does the bound.
   */
  async function waitForSlot(call: InferenceCall, admitted: Extract<ReturnType<IngressAdmission['admit']>, { kind: 'queued' }>, res: express.Response): Promise<Grant> {
    const timeoutMs = config.ingress.capacityWaitTimeoutSec * 1000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onClose = (): void => admitted.cancel('gone');
    res.on('close', onClose);
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const coldStart: Promise<Grant | ShedReason | 'failed'> | null = admission.slots(call.service) === 0
      ? cluster.waitForReady(call.service, timeoutMs).then((o): Promise<Grant | ShedReason | 'failed'> | 'failed' => {
        if (o === 'failed') return 'failed';
        if (o === 'ready') admission.pump(call.service);
        return admitted.granted;
      })
      : null;
    try {
      const first = await Promise.race<Grant | ShedReason | 'failed' | 'timeout'>([admitted.granted, timedOut, ...(coldStart ? [coldStart] : [])]);
      if (typeof first !== 'string') return first;
      admitted.cancel();
      // A grant may have raced the cancel: take it rather than leak the slot.
      const late = await Promise.race([admitted.granted, Promise.resolve('none' as const)]);
      if (typeof late !== 'string') return late;
      shed.inc({ service: call.service, reason: first === 'failed' ? 'unplaceable' : first });
      if (first === 'failed') throw unplaceable(call);
      if (first === 'timeout' && admission.slots(call.service) === 0) throw new SsisError('SSIS_CAPACITY_TIMEOUT', `${call.modelId} got no capacity within ${config.ingress.capacityWaitTimeoutSec}s`);
      if (first === 'closed') throw new SsisError('SSIS_OVERLOADED', 'the ingress is stopping; retry on another replica or later');
      if (first === 'outranked') throw new SsisError('SSIS_OVERLOADED', `${call.modelId} is overloaded: the request was displaced by higher-priority work`);
      throw new SsisError('SSIS_OVERLOADED', `${call.modelId} is overloaded: the request waited ${config.ingress.capacityWaitTimeoutSec}s for a slot`);
    } finally {
      clearTimeout(timer);
      res.off('close', onClose);
    }
  }

  const app = express();
  app.disable('x-powered-by');
  app.get('/health/liveness', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/health/readiness', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/metrics', (_req, res, next) => {
    registry.metrics().then((text) => res.type(registry.contentType).send(text), next);
  });

  const limit = opts.bodyLimitBytes ?? config.ingress.maxBodyBytes;
  const jsonBody = (api: RequestApi): express.RequestHandler => (req, res, next) => {
    const type = (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      const e = new SsisError('SSIS_UNSUPPORTED_MEDIA_TYPE', `the body must be JSON: send "Content-Type: application/json"${type ? ` (got ${type.slice(0, 100)})` : ''}`, { issues: [{ field: 'content-type', message: 'must be application/json' }] });
      requests.inc({ service: 'other', api, code: '415' });
      res.status(415).json(api === 'ssis' ? e.toJSON() : openAiError(e));
      return;
    }
    next();
  };
  const raw = express.raw({ type: () => true, limit });
  for (const [path, api] of [['/', 'ssis'], ['/v1/completions', 'openai-completions'], ['/v1/chat/completions', 'openai-chat']] as const) {
    app.post(path, jsonBody(api), raw, handle(api));
  }
  app.get('/v1/models', (req, res) => {
    try {
      deps.apiKeys?.authenticate(req.get('authorization'));
    } catch (err) {
      const e = asSsisError(err);
      res.status(e.httpStatus).json(openAiError(e));
      return;
    }
    res.json({ object: 'list', data: [...catalog.keys()].map(modelObject) });
  });
  // Model ids contain "/" (openai-community/gpt2): the rest of the path is the id.
  app.get(/^\/v1\/models\/(.+)$/, (req, res) => {
    try {
      deps.apiKeys?.authenticate(req.get('authorization'));
      const id = decodeURIComponent(req.path.slice('/v1/models/'.length));
      if (!catalog.has(id)) throw new SsisError('SSIS_UNKNOWN_MODEL', `model ${id.slice(0, 200)} is not in the model catalog`, { issues: [{ field: 'model', message: 'unknown model' }] });
      res.json(modelObject(id));
    } catch (err) {
      const e = asSsisError(err);
      res.status(e.httpStatus).json(openAiError(e));
    }
  });
  app.use((req: express.Request, res: express.Response) => {
    const e = new SsisError('SSIS_NOT_FOUND', `no route ${req.method} ${req.path.slice(0, 200)}; the ingress serves POST /, POST /v1/completions, POST /v1/chat/completions, GET /v1/models and GET /v1/models/{id}`);
    res.status(404).json(req.path.startsWith('/v1/') ? openAiError(e) : e.toJSON());
  });
  // Errors from reading the body (too large, aborted) come here: answer with the problem, never crash.
  app.use((err: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const status = typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : 500;
    const e = status === 413
      ? new SsisError('SSIS_PAYLOAD_TOO_LARGE', `the body is larger than ${limit} bytes`, { issues: [{ field: 'body', message: `at most ${limit} bytes` }] })
      : status < 500
        ? new SsisError('SSIS_INVALID_REQUEST', `request body could not be read: ${(err as Error).message}`, { issues: [{ field: 'body', message: (err as Error).message }] })
        : asSsisError(err);
    const api = APIS.find((a) => a !== 'ssis' && req.path.startsWith('/v1/')) ?? 'ssis';
    if (!res.headersSent) res.status(e.httpStatus).json(api === 'ssis' ? e.toJSON() : openAiError(e));
  });
  return { app, close: () => admission.close() };
}

function parseCall(api: RequestApi, raw: unknown, serviceClasses: readonly string[]): InferenceCall {
  const body = parseJsonBody(raw);
  return api === 'ssis' ? parseSsisBody(body, { serviceClasses }) : parseOpenAiBody(api, body);
}

function parseJsonBody(raw: unknown): unknown {
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : typeof raw === 'string' ? raw : '';
  if (text.trim() === '') throw new SsisError('SSIS_INVALID_REQUEST', 'invalid request: body: is required (a JSON object)', { issues: [{ field: 'body', message: 'is required' }] });
  // Nesting is bounded before the parse: a deep body is the client's error, never a RangeError of ours.
  return parseJsonBounded(text);
}

interface UpstreamAnswer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * Forwards the call to a replica. A replica that vanished between lease and connect (its revision
 * was just replaced) is retried once on a fresh lease: make-before-break means another is ready.
 */
async function forward(call: InferenceCall, lease: () => { url: string; release(): void } | null, timeoutMs: number, gone: AbortSignal): Promise<UpstreamAnswer> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const l = lease();
    if (!l) break;
    try {
      const path = call.subroute ?? '/generate';
      const body = call.payload ?? { inputs: call.prompt, parameters: call.parameters };
      const res = await fetch(`${l.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), gone]) });
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
      if (gone.aborted) throw new SsisError('SSIS_UPSTREAM_FAILED', 'the client went away; the upstream request was cancelled', { cause: err });
      if (attempt === 1) throw new SsisError('SSIS_UPSTREAM_FAILED', `inference service unreachable: ${String(err)}`, { cause: err });
    } finally {
      l.release();
    }
  }
  throw new SsisError('SSIS_OVERLOADED', `no ready replica for ${call.modelId}`);
}
