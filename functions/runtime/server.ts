/**
 * The shared function runtime: one express app per function with CloudEvents in (binary and
 * structured), a reply event out (binary mode), `/health/readiness`, `/health/liveness` and
 * `/metrics` (prom-client, one registry per function). A CloudEvent is taken only from a sender
 * that authenticates (`intakeAuth`: the stack's secret locally, an OIDC token in a cluster), checked
 * before its body is read; the public inference APIs are not served here (functions/request/ingress.ts). Status codes follow what the Knative Kafka
 * dispatcher does with them (notes/knative-kafka.md §1.5, §1.7): 200 + event = reply, 204 = done,
 * and for an error the status {@link deliveryStatus} derives from its `retriable` flag.
 */
import express from 'express';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { asSsisError, SsisError } from '../../core/errors';
import { fromHttp, toHttpBinary } from '../../events/codec/http';
import { rateLimitedLogger } from '../../infra/logging/rate-limited';
import type { EventIntakeAuth } from '../../infra/auth/event-auth';
import type { FunctionContext, SsisFunction } from './function';

export interface RuntimeOptions {
  readonly bodyLimitBytes?: number;
  /**
   * Who may deliver events. Absent only in tests of the handlers themselves; every wiring passes
   * one (app/embedded-stack.ts, functions/runtime/main.ts).
   */
  readonly intakeAuth?: EventIntakeAuth;
}

export function isCloudEventRequest(headers: Record<string, string | string[] | undefined>): boolean {
  const type = String(headers['content-type'] ?? '');
  return headers['ce-id'] !== undefined || headers['ce-specversion'] !== undefined || type.startsWith('application/cloudevents');
}

/**
 * The status a failed delivery is answered with, decided by `retriable` (docs/errors.md): the Kafka
 * dispatcher retries any 5xx (and 404, 408, 409, 429) and dead-letters any other 4xx. Retriable →
 * 503. Not retriable → 400 when the catalogue's status is 400 (the event itself is at fault), else
 * 422: the catalogue's own 404 or 409 would be retried, and its 500s are not retriable either.
 */
export function deliveryStatus(e: SsisError): 400 | 422 | 503 {
  if (e.retriable) return 503;
  return e.httpStatus === 400 ? 400 : 422;
}

/** The registry a function's context carries; create it before building the function. */
export function createFunctionRegistry(name: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ function: name });
  // process_* and nodejs_* (CPU, memory, event-loop lag, GC), as every prom-client service exports.
  collectDefaultMetrics({ register: registry });
  return registry;
}

export function createFunctionApp(fn: SsisFunction, ctx: FunctionContext, opts: RuntimeOptions = {}): express.Express {
  const registry = ctx.registry;
  const events = new Counter({ name: 'ssis_function_events_total', help: 'CloudEvents handled, by type and outcome.', labelNames: ['type', 'outcome'], registers: [registry] });
  const duration = new Histogram({
    name: 'ssis_function_event_duration_seconds',
    help: 'Time to handle one CloudEvent.',
    labelNames: ['type'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });

  // Anyone who can reach the port can send bad events: their warnings are bounded.
  const warnings = rateLimitedLogger(ctx.logger);
  // Label values only from the types this function handles: foreign types cannot mint series.
  const typeLabel = (t: string): string => (fn.handles.includes(t) ? t : 'other');

  const app = express();
  app.disable('x-powered-by');
  app.get('/health/liveness', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/health/readiness', (_req, res) => {
    const ok = fn.ready?.() ?? true;
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'not ready' });
  });
  app.get('/metrics', (_req, res, next) => {
    registry.metrics().then((text) => res.type(registry.contentType).send(text), next);
  });

  // CloudEvents (from the broker's triggers) are recognised by their headers on any POST.
  const authenticate: express.RequestHandler = (req, res, next) => {
    if (!isCloudEventRequest(req.headers)) {
      next('route');
      return;
    }
    if (!opts.intakeAuth) {
      next();
      return;
    }
    opts.intakeAuth.verify(req.get('authorization')).then(() => next(), (err: unknown) => {
      const e = asSsisError(err);
      events.inc({ type: 'other', outcome: 'unauthenticated' });
      warnings.warn({ function: fn.name, code: e.code, error: e.message }, 'event sender not authenticated');
      if (e.httpStatus !== 401) res.set('Retry-After', '1');
      res.status(e.httpStatus === 401 ? 401 : 503).set('connection', 'close').json(e.toJSON());
    });
  };
  app.post(/.*/, authenticate, express.raw({ type: () => true, limit: opts.bodyLimitBytes ?? 1 << 20 }), (req, res) => {
    const started = process.hrtime.bigint();
    let type = 'unknown';
    void (async () => {
      try {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const event = fromHttp({ headers: req.headers, body });
        type = typeLabel(event.type);
        if (!fn.handles.includes(event.type)) {
          throw new SsisError('SSIS_UNSUPPORTED_EVENT_TYPE', `function ${fn.name} does not handle ${event.type} (handles: ${fn.handles.join(', ')})`, {
            issues: [{ field: 'type', message: `unsupported: ${event.type}` }],
          });
        }
        const reply = await fn.onEvent(event, ctx);
        events.inc({ type, outcome: 'ok' });
        if (!reply) {
          res.status(204).end();
          return;
        }
        const message = toHttpBinary(reply);
        res.status(200).set(message.headers).send(message.body);
      } catch (err) {
        const e = asSsisError(err);
        events.inc({ type, outcome: e.retriable ? 'retry' : 'rejected' });
        warnings.warn({ function: fn.name, type, code: e.code, retriable: e.retriable, issues: e.issues.slice(0, 5), error: e.message.slice(0, 500) }, 'event not handled');
        const status = deliveryStatus(e);
        // A retriable failure says when: the Kafka dispatcher and HTTP clients honour Retry-After.
        if (status === 503) res.set('Retry-After', '1');
        res.status(status).json(e.toJSON());
      } finally {
        duration.observe({ type }, Number(process.hrtime.bigint() - started) / 1e9);
      }
    })();
  });

  app.use((req: express.Request, res: express.Response) => {
    res.status(404).json(new SsisError('SSIS_NOT_FOUND', `no route ${req.method} ${req.path} on function ${fn.name}`).toJSON());
  });
  // Errors from reading the body (too large, aborted) come here: answer with the problem, never crash.
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const status = typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : 500;
    const e = status < 500
      ? new SsisError('SSIS_INVALID_REQUEST', `request body could not be read: ${(err as Error).message}`, { issues: [{ field: 'body', message: (err as Error).message }] })
      : asSsisError(err);
    res.status(status < 500 ? status : e.httpStatus).json(e.toJSON());
  });
  return app;
}
