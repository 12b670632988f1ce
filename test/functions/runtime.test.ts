/**
 * The shared function runtime (createFunctionApp) over a real loopback HTTP server: CloudEvents in
 * binary and structured mode, the reply in binary mode, the status codes the Knative Kafka
 * dispatcher acts on (200 reply / 204 done / 400 refused / 503 retry / 422 dead letter), health,
 * /metrics, and plain-HTTP body errors. Plus the real request function behind the same runtime.
 */
import { expect } from 'chai';
import express from 'express';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ERROR_CATALOG, SsisError, type ErrorCode } from '../../core/errors';
import { fromHttp, toHttpBinary, toHttpStructured, type HttpMessage } from '../../events/codec/http';
import { createEvent } from '../../events/create';
import type { SsisEvent } from '../../events/envelope';
import { PLACEMENT_FAILED } from '../../events/placement-failed';
import { REQUEST_RECEIVED, type RequestReceived } from '../../events/request-received';
import { ROLLOUT_COMPLETED, type RolloutCompleted } from '../../events/rollout-completed';
import { SCALE_DECIDED, type ScaleDecided } from '../../events/scale-decided';
import type { SimulatedCluster } from '../../infra/cluster/simulated';
import { buildRequestFunction } from '../../functions/request/index';
import type { FunctionContext, SsisFunction } from '../../functions/runtime/function';
import { createFunctionApp, deliveryStatus, isCloudEventRequest } from '../../functions/runtime/server';
import { CONFIG, eventOf, harness, iso, MODELS, newCluster, T0, until, type Harness } from './helpers';

type Behaviour = 'reply' | 'none' | 'publish' | 'retriable' | 'fatal' | 'crash';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
  readonly json: () => Record<string, unknown>;
}

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, headers: Object.fromEntries(res.headers.entries()), text, json: () => JSON.parse(text) as Record<string, unknown> };
}

const post = (url: string, message: HttpMessage): Promise<Answer> => call(url, { method: 'POST', headers: message.headers, body: message.body });

async function listen(app: express.Express): Promise<{ server: Server; url: string }> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('functions/runtime (createFunctionApp on loopback HTTP)', () => {
  let h: Harness;
  let server: Server;
  let url: string;
  let behaviour: Behaviour;
  let readyFlag: boolean;
  let received: SsisEvent[];

  const completedData = (): RolloutCompleted => ({
    decisionId: 'gpt2-g0-cold-start', service: 'gpt2', revision: 'gpt2-00001', previousRevision: null, profile: '1g.5gb', gpuModel: 'A100-SXM4-40GB',
    replicas: 1, generation: 1, readyAfterMs: 30, completedAt: iso(T0),
  });
  const input = (): SsisEvent<RolloutCompleted> => eventOf(ROLLOUT_COMPLETED, completedData(), '/ssis/functions/rollout', h);

  /** The function under the runtime: a test double whose behaviour each test picks. */
  function testFunction(): SsisFunction {
    return {
      name: 'test',
      handles: [ROLLOUT_COMPLETED, PLACEMENT_FAILED],
      ready: () => readyFlag,
      onEvent(event: SsisEvent, ctx: FunctionContext): Promise<SsisEvent | undefined> {
        received.push(event);
        const data = event.data as RolloutCompleted;
        const decision: ScaleDecided = {
          decisionId: `${data.service}-g1-out-1g.5gbx2`, service: data.service, modelId: MODELS.gpt2, action: 'out', policy: 'ssis-ladder', fromGeneration: 1,
          current: { profile: '1g.5gb', gpuModel: 'A100-SXM4-40GB', replicas: 1 }, target: { profile: '1g.5gb', gpuModel: 'A100-SXM4-40GB', replicas: 2 },
          reason: 'test reply', decidedAt: iso(h.clock.nowMs()),
        };
        const reply = createEvent(SCALE_DECIDED, decision, { source: '/ssis/functions/test', clock: h.clock, ids: h.ids, extensions: { attempt: 2 } });
        switch (behaviour) {
          case 'reply':
            return Promise.resolve(reply);
          case 'none':
            return Promise.resolve(undefined);
          case 'publish':
            return ctx.publisher.publish(reply).then(() => undefined);
          case 'retriable':
            return Promise.reject(new SsisError('SSIS_BROKER_UNAVAILABLE', 'broker refused: 503'));
          case 'fatal':
            return Promise.reject(new SsisError('SSIS_NOT_FOUND', 'service gpt2 does not exist'));
          case 'crash':
            throw new Error('boom');
        }
      },
      routes(app) {
        // A plain-HTTP route with its own JSON parser (PUT: the runtime's raw reader takes POST bodies only).
        app.put('/config', express.json(), (req, res) => void res.json({ got: req.body as unknown }));
      },
    };
  }

  beforeEach(async () => {
    h = harness('test');
    behaviour = 'none';
    readyFlag = true;
    received = [];
    ({ server, url } = await listen(createFunctionApp(testFunction(), h.ctx, { bodyLimitBytes: 4096 })));
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  describe('CloudEvents', () => {
    it('accepts binary mode and answers 204 when the handler has no reply', async () => {
      const ev = input();
      const r = await post(url, toHttpBinary(ev));
      expect(r.status).to.equal(204);
      expect(r.text).to.equal('');
      expect(received).to.deep.equal([ev]);
    });

    it('accepts structured mode on any path', async () => {
      const ev = input();
      const r = await post(`${url}/some/trigger/path`, toHttpStructured(ev));
      expect(r.status).to.equal(204);
      expect(received).to.deep.equal([ev]);
    });

    it('returns the reply event in binary mode with 200', async () => {
      behaviour = 'reply';
      h.clock.advance(42);
      const r = await post(url, toHttpBinary(input()));
      expect(r.status).to.equal(200);
      expect(r.headers).to.include({ 'ce-specversion': '1.0', 'ce-type': SCALE_DECIDED, 'ce-id': 'test-1', 'ce-source': '/ssis/functions/test', 'ce-partitionkey': 'gpt2', 'ce-attempt': '2' });
      expect(r.headers['content-type']).to.match(/^application\/json/);
      const reply = fromHttp({ headers: r.headers, body: r.text });
      expect(reply).to.deep.include({ type: SCALE_DECIDED, id: 'test-1', subject: 'gpt2', time: iso(T0 + 42) });
      expect((reply.data as ScaleDecided).decisionId).to.equal('gpt2-g1-out-1g.5gbx2');
      // An integer extension comes back as a string in binary mode (events/codec/http.ts).
      expect(reply.extensions).to.deep.equal({ attempt: '2' });
    });

    it('passes its context to the handler: events published there go to the publisher (a FAKE here), not the reply', async () => {
      behaviour = 'publish';
      expect((await post(url, toHttpBinary(input()))).status).to.equal(204);
      expect(h.publisher.events.map((e) => e.type)).to.deep.equal([SCALE_DECIDED]);
    });

    it('refuses an invalid event with 400 naming the field; the handler is not called', async () => {
      const { headers, body } = toHttpBinary(input());
      const withoutId = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'ce-id'));
      const r = await post(url, { headers: withoutId, body });
      expect(r.status).to.equal(400);
      expect(r.json()).to.deep.include({ code: 'SSIS_INVALID_EVENT', retriable: false });
      expect(r.json()['issues']).to.deep.include({ field: 'id', message: 'is required' });

      const bad = await post(url, { headers, body: JSON.stringify({ ...completedData(), replicas: -1 }) });
      expect(bad.status).to.equal(400);
      expect((bad.json()['issues'] as { field: string }[]).map((i) => i.field)).to.deep.equal(['data.replicas']);

      const notJson = await post(url, { headers: { 'content-type': 'application/cloudevents+json' }, body: '{"specversion":' });
      expect(notJson.status).to.equal(400);
      expect(notJson.json()['code']).to.equal('SSIS_INVALID_EVENT');
      expect(received).to.deep.equal([]);
    });

    it('refuses a type the function does not handle with 400 SSIS_UNSUPPORTED_EVENT_TYPE', async () => {
      const ev = createEvent(REQUEST_RECEIVED, {
        requestId: 'r1', service: 'gpt2', modelId: MODELS.gpt2, api: 'ssis', serviceClass: 'default', inputTokens: 3, maxNewTokens: null, sloMs: null, envKeys: [], receivedAt: iso(T0),
      } satisfies RequestReceived, { source: '/ssis/functions/request', clock: h.clock, ids: h.inputIds });
      const r = await post(url, toHttpBinary(ev));
      expect(r.status).to.equal(400);
      const body = r.json();
      expect(body).to.deep.include({ code: 'SSIS_UNSUPPORTED_EVENT_TYPE', retriable: false, issues: [{ field: 'type', message: `unsupported: ${REQUEST_RECEIVED}` }] });
      expect(body['message']).to.include(`handles: ${ROLLOUT_COMPLETED}, ${PLACEMENT_FAILED}`);
      expect(received).to.deep.equal([]);
    });

    it('answers 503 for a retriable SsisError (the dispatcher retries) and for an unexpected throw (SSIS_INTERNAL)', async () => {
      behaviour = 'retriable';
      const r = await post(url, toHttpBinary(input()));
      expect(r.status).to.equal(503);
      expect(r.json()).to.deep.equal({ code: 'SSIS_BROKER_UNAVAILABLE', message: 'broker refused: 503', retriable: true, issues: [], details: {} });
      behaviour = 'crash';
      const crash = await post(url, toHttpBinary(input()));
      expect(crash.status).to.equal(503);
      expect(crash.json()).to.deep.include({ code: 'SSIS_INTERNAL', message: 'boom', retriable: true });
    });

    it('answers 422 for a non-retriable SsisError (straight to the dead-letter sink)', async () => {
      behaviour = 'fatal';
      const r = await post(url, toHttpBinary(input()));
      expect(r.status).to.equal(422);
      expect(r.json()).to.deep.include({ code: 'SSIS_NOT_FOUND', retriable: false });
      expect(h.logger.lines.filter((l) => l.level === 'warn').map((l) => l.fields['code'])).to.deep.equal(['SSIS_NOT_FOUND']);
    });

    it('takes the delivery status from retriable alone, for every code of the catalogue', () => {
      // What the Knative Kafka dispatcher retries (notes/knative-kafka.md): any 5xx, 404, 408, 409, 429.
      const dispatcherRetries = (status: number): boolean => status >= 500 || [404, 408, 409, 429].includes(status);
      for (const code of Object.keys(ERROR_CATALOG) as ErrorCode[]) {
        const e = new SsisError(code, 'x');
        const status = deliveryStatus(e);
        expect(dispatcherRetries(status), code).to.equal(e.retriable);
        expect(status, code).to.equal(e.retriable ? 503 : e.httpStatus === 400 ? 400 : 422);
      }
      // Not retriable, so neither the catalogue's 409 nor its 500 may reach the dispatcher.
      expect(deliveryStatus(new SsisError('SSIS_STALE_DECISION', 'x'))).to.equal(422);
      expect(deliveryStatus(new SsisError('SSIS_INVALID_CONFIG', 'x'))).to.equal(422);
    });

    it('recognises CloudEvent requests by ce-id, ce-specversion or the structured content type', () => {
      expect(isCloudEventRequest({ 'ce-id': 'x' })).to.equal(true);
      expect(isCloudEventRequest({ 'ce-specversion': '1.0' })).to.equal(true);
      expect(isCloudEventRequest({ 'content-type': 'application/cloudevents+json; charset=utf-8' })).to.equal(true);
      expect(isCloudEventRequest({ 'content-type': 'application/json' })).to.equal(false);
    });
  });

  describe('health and metrics', () => {
    it('/health/liveness is 200; /health/readiness follows fn.ready()', async () => {
      expect(await call(`${url}/health/liveness`).then((r) => [r.status, r.json()])).to.deep.equal([200, { status: 'ok' }]);
      expect(await call(`${url}/health/readiness`).then((r) => [r.status, r.json()])).to.deep.equal([200, { status: 'ok' }]);
      readyFlag = false;
      expect(await call(`${url}/health/readiness`).then((r) => [r.status, r.json()])).to.deep.equal([503, { status: 'not ready' }]);
      expect((await call(`${url}/health/liveness`)).status, 'alive while not ready').to.equal(200);
    });

    it('/metrics counts events by type and outcome (ssis_function_events_total), with the function label', async () => {
      for (const b of ['none', 'reply', 'retriable', 'fatal'] as const) {
        behaviour = b;
        await post(url, toHttpBinary(input()));
      }
      const { headers, body } = toHttpBinary(input());
      await post(url, { headers: { ...headers, 'ce-specversion': '0.3' }, body });
      const r = await call(`${url}/metrics`);
      expect(r.status).to.equal(200);
      expect(r.headers['content-type']).to.match(/^text\/plain/);
      const line = (type: string, outcome: string): string => `ssis_function_events_total{type="${type}",outcome="${outcome}",function="test"}`;
      expect(r.text).to.include(`${line(ROLLOUT_COMPLETED, 'ok')} 2`);
      expect(r.text).to.include(`${line(ROLLOUT_COMPLETED, 'retry')} 1`);
      expect(r.text).to.include(`${line(ROLLOUT_COMPLETED, 'rejected')} 1`);
      expect(r.text).to.include(`${line('unknown', 'rejected')} 1`);
      expect(r.text).to.include(`ssis_function_event_duration_seconds_count{function="test",type="${ROLLOUT_COMPLETED}"} 4`);
    });
  });

  describe('plain HTTP', () => {
    it('a bad JSON body to a plain-HTTP route answers 400 naming the body, and the server keeps serving', async () => {
      const r = await call(`${url}/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"a":' });
      expect(r.status).to.equal(400);
      expect(r.json()).to.deep.include({ code: 'SSIS_INVALID_REQUEST', retriable: false });
      expect((r.json()['issues'] as { field: string }[])[0]!.field).to.equal('body');
      expect((await call(`${url}/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"a":1}' })).json()).to.deep.equal({ got: { a: 1 } });
      expect((await call(`${url}/health/liveness`)).status).to.equal(200);
    });

    it('a body over the limit answers 413, a route that does not exist 404', async () => {
      const big = await call(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'x'.repeat(5000) }) });
      expect(big.status).to.equal(413);
      expect(big.json()).to.deep.include({ code: 'SSIS_INVALID_REQUEST' });
      const missing = await call(`${url}/nowhere`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(missing.status).to.equal(404);
      expect(missing.json()['code']).to.equal('SSIS_NOT_FOUND');
    });
  });

  describe('with the real request function', () => {
    let cluster: SimulatedCluster;
    let reqServer: Server;
    let reqUrl: string;
    let rh: Harness;

    beforeEach(async () => {
      rh = harness('request');
      cluster = newCluster(1);
      const fn = buildRequestFunction({ cluster, catalog: CONFIG.catalog, config: CONFIG.ssis, clock: rh.clock, ids: rh.ids });
      ({ server: reqServer, url: reqUrl } = await listen(createFunctionApp(fn, rh.ctx, { bodyLimitBytes: CONFIG.ssis.ingress.maxBodyBytes })));
    });
    afterEach(async () => {
      reqServer.closeAllConnections();
      await new Promise<void>((resolve) => reqServer.close(() => resolve()));
      await cluster.shutdown();
    });

    it('the ingress answers a bad JSON body with 400 SSIS_INVALID_REQUEST on both APIs, publishing nothing', async () => {
      for (const path of ['/', '/v1/chat/completions']) {
        const r = await call(`${reqUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"token": "hi", ' });
        expect(r.status, path).to.equal(400);
        const body = r.json();
        const field = path === '/' ? (body['issues'] as { field: string }[])[0]!.field : (body['error'] as { param: string }).param;
        expect(field, path).to.equal('body');
      }
      expect(rh.publisher.events).to.deep.equal([]);
      expect(cluster.listServices()).to.deep.equal([]);
      expect((await call(`${reqUrl}/health/liveness`)).status).to.equal(200);
    });

    it('dispatch over HTTP: request-received → 200 with the cold-start scale-decided; again while pending → 204', async () => {
      await cluster.ensureService('gpt2', MODELS.gpt2);
      const ev = createEvent(REQUEST_RECEIVED, {
        requestId: 'r1', service: 'gpt2', modelId: MODELS.gpt2, api: 'ssis', serviceClass: 'default', inputTokens: 3, maxNewTokens: 20, sloMs: null, envKeys: ['MODEL_ID'], receivedAt: iso(T0),
      } satisfies RequestReceived, { source: '/ssis/functions/request', clock: rh.clock, ids: rh.inputIds });
      const first = await post(reqUrl, toHttpBinary(ev));
      expect(first.status).to.equal(200);
      const reply = fromHttp({ headers: first.headers, body: first.text });
      expect(reply.type).to.equal(SCALE_DECIDED);
      expect((reply.data as ScaleDecided).target).to.deep.equal({ profile: '1g.5gb', gpuModel: 'A100-SXM4-40GB', replicas: 1 });
      expect((await post(reqUrl, toHttpStructured(ev))).status).to.equal(204);
    });

    const inference = (prompt: string): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: prompt, env: { MODEL_ID: MODELS.gpt2 } }) });

    it('a request whose model cannot be placed answers 503 SSIS_CAPACITY_UNAVAILABLE (retriable) with Retry-After', async () => {
      const answer = call(reqUrl, inference('hi'));
      // Held once request-received is out; then the placement fails (what reconfigure reports).
      await until('request-received', () => (rh.publisher.events.length > 0 ? true : undefined));
      await cluster.setCondition('gpt2', { ready: false, reason: 'Unschedulable', message: 'no 1g.5gb fits' });
      const r = await answer;
      expect(r.status).to.equal(503);
      expect(r.headers['retry-after']).to.equal(String(CONFIG.ssis.ingress.retryAfterSec));
      expect(r.json()).to.deep.include({ code: 'SSIS_CAPACITY_UNAVAILABLE', message: `no capacity for ${MODELS.gpt2}: no 1g.5gb fits`, retriable: true });
    });

    it('a broker that does not take request-received: 503 with Retry-After while it is unavailable, 500 when it refuses', async () => {
      const cases = [
        { error: new SsisError('SSIS_BROKER_UNAVAILABLE', 'broker refused: 503'), status: 503, retryAfter: String(CONFIG.ssis.ingress.retryAfterSec) },
        { error: new SsisError('SSIS_BROKER_REFUSED', 'broker refused: 400'), status: 500, retryAfter: undefined },
      ];
      for (const { error, status, retryAfter } of cases) {
        const fh = harness('request');
        const fn = buildRequestFunction({ cluster, catalog: CONFIG.catalog, config: CONFIG.ssis, clock: fh.clock, ids: fh.ids });
        const failing = { ...fh.ctx, publisher: { publish: () => Promise.reject(error) } };
        const { server: failingServer, url: failingUrl } = await listen(createFunctionApp(fn, failing, { bodyLimitBytes: CONFIG.ssis.ingress.maxBodyBytes }));
        try {
          const r = await call(failingUrl, inference('hi'));
          expect(r.status, error.code).to.equal(status);
          expect(r.headers['retry-after'], error.code).to.equal(retryAfter);
          expect(r.json(), error.code).to.deep.include({ code: error.code, retriable: error.retriable });
        } finally {
          failingServer.closeAllConnections();
          await new Promise<void>((resolve) => failingServer.close(() => resolve()));
        }
      }
    });
  });
});
