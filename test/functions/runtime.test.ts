/**
 * The shared function runtime (createFunctionApp) over a real loopback HTTP server: CloudEvents in
 * binary and structured mode, the reply in binary mode, the status codes the Knative Kafka
 * dispatcher acts on (200 reply / 204 done / 400 refused / 503 retry / 422 dead letter), sender
 * authentication (the stack secret), health, /metrics with bounded labels, and no plain-HTTP routes.
 * Plus the real request function split in two: its public ingress (createIngressApp) and its
 * dispatch stage behind this runtime.
 */
import { expect } from 'chai';
import type express from 'express';
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
import { sharedSecretAuth } from '../../infra/auth/event-auth';
import { buildRequestFunction } from '../../functions/request/index';
import { createIngressApp } from '../../functions/request/ingress';
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
      // prom-client's default collectors run too: the process as every Node service reports it.
      expect(r.text).to.match(/^process_cpu_user_seconds_total\{function="test"\} /m).and.to.match(/^nodejs_eventloop_lag_seconds\{function="test"\} /m);
      expect(r.headers['content-type']).to.match(/^text\/plain/);
      const line = (type: string, outcome: string): string => `ssis_function_events_total{type="${type}",outcome="${outcome}",function="test"}`;
      expect(r.text).to.include(`${line(ROLLOUT_COMPLETED, 'ok')} 2`);
      expect(r.text).to.include(`${line(ROLLOUT_COMPLETED, 'retry')} 1`);
      expect(r.text).to.include(`${line(ROLLOUT_COMPLETED, 'rejected')} 1`);
      expect(r.text).to.include(`${line('unknown', 'rejected')} 1`);
      expect(r.text).to.include(`ssis_function_event_duration_seconds_count{function="test",type="${ROLLOUT_COMPLETED}"} 4`);
    });

    it('labels an event of a type the function does not handle "other", never with the type the sender wrote', async () => {
      const { headers, body } = toHttpBinary(input());
      for (let k = 0; k < 20; k++) {
        expect((await post(url, { headers: { ...headers, 'ce-type': `com.example.forged-${k}` }, body })).status).to.equal(400);
      }
      // A schema-valid pipeline type this function does not take is foreign too.
      const foreign = createEvent(REQUEST_RECEIVED, {
        requestId: 'r1', service: 'gpt2', modelId: MODELS.gpt2, api: 'ssis', serviceClass: 'default', inputTokens: 3, maxNewTokens: null, sloMs: null, envKeys: [], receivedAt: iso(T0),
      } satisfies RequestReceived, { source: '/ssis/functions/request', clock: h.clock, ids: h.inputIds });
      expect((await post(url, toHttpBinary(foreign))).status).to.equal(400);
      const text = (await call(`${url}/metrics`)).text;
      expect(text).to.include('ssis_function_events_total{type="other",outcome="rejected",function="test"} 21');
      expect(text).to.include('ssis_function_event_duration_seconds_count{function="test",type="other"} 21');
      expect(text).to.not.include('forged').and.not.include(REQUEST_RECEIVED);
      expect(received).to.deep.equal([]);
    });
  });

  describe('no plain HTTP', () => {
    it('answers a POST that is not a CloudEvent with 404 SSIS_NOT_FOUND on any path; the handler is not called', async () => {
      for (const path of ['/', '/config', '/some/trigger/path']) {
        const r = await call(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(completedData()) });
        expect(r.status, path).to.equal(404);
        expect(r.json()['code'], path).to.equal('SSIS_NOT_FOUND');
      }
      expect(received).to.deep.equal([]);
      expect((await call(`${url}/health/liveness`)).status).to.equal(200);
    });

    it('serves no inference API: the SSIS and OpenAI routes and GET /v1/models are 404', async () => {
      const ssis = await call(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'hi', env: { MODEL_ID: MODELS.gpt2 } }) });
      const chat = await call(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODELS.gpt2, messages: [{ role: 'user', content: 'hi' }] }) });
      const models = await call(`${url}/v1/models`);
      expect([ssis.status, chat.status, models.status]).to.deep.equal([404, 404, 404]);
      expect(received).to.deep.equal([]);
      expect(h.publisher.events).to.deep.equal([]);
    });

    it('answers a CloudEvent over the body limit with 413 naming the body, and keeps serving', async () => {
      const { headers } = toHttpBinary(input());
      const big = await post(url, { headers, body: JSON.stringify({ ...completedData(), padding: 'x'.repeat(5000) }) });
      expect(big.status).to.equal(413);
      expect(big.json()).to.deep.include({ code: 'SSIS_INVALID_REQUEST' });
      expect((big.json()['issues'] as { field: string }[])[0]!.field).to.equal('body');
      expect(received).to.deep.equal([]);
      expect((await post(url, toHttpBinary(input()))).status).to.equal(204);
    });
  });

  describe('sender authentication (intakeAuth: the stack secret)', () => {
    const SECRET = 's'.repeat(40);
    let authed: { server: Server; url: string };
    let ah: Harness;

    beforeEach(async () => {
      // Its own registry (one runtime per registry); the test function still records into `received`.
      ah = harness('test');
      authed = await listen(createFunctionApp(testFunction(), ah.ctx, { bodyLimitBytes: 4096, intakeAuth: sharedSecretAuth(SECRET) }));
    });
    afterEach(async () => {
      authed.server.closeAllConnections();
      await new Promise<void>((resolve) => authed.server.close(() => resolve()));
    });

    const withAuth = (message: HttpMessage, authorization: string | undefined): HttpMessage => ({
      headers: authorization === undefined ? message.headers : { ...message.headers, authorization },
      body: message.body,
    });

    it('refuses an event without Authorization, with a wrong secret or another scheme with 401 SSIS_UNAUTHENTICATED; the handler is not called', async () => {
      behaviour = 'reply';
      for (const authorization of [undefined, 'Bearer wrong-secret', `Bearer ${SECRET}x`, `Bearer ${SECRET.slice(1)}`, `Basic ${Buffer.from(`ssis:${SECRET}`).toString('base64')}`, SECRET]) {
        const r = await post(authed.url, withAuth(toHttpBinary(input()), authorization));
        expect(r.status, String(authorization)).to.equal(401);
        expect(r.json(), String(authorization)).to.deep.include({ code: 'SSIS_UNAUTHENTICATED', retriable: false });
        expect((r.json()['issues'] as { field: string }[])[0]!.field).to.equal('authorization');
        expect(r.text, 'the secret is never echoed').to.not.include(SECRET.slice(0, 20));
      }
      const structured = await post(authed.url, withAuth(toHttpStructured(input()), 'Bearer nope'));
      expect(structured.status).to.equal(401);
      expect(received).to.deep.equal([]);
      expect(ah.publisher.events).to.deep.equal([]);
      expect(ah.logger.lines.length, 'refusals are logged').to.be.greaterThan(0);
      expect(JSON.stringify(ah.logger.lines), 'no presented credential in the logs').to.not.include('wrong-secret').and.not.include(SECRET.slice(0, 20));
    });

    it('handles an event that carries the secret, in binary and structured mode, as usual', async () => {
      const binary = await post(authed.url, withAuth(toHttpBinary(input()), `Bearer ${SECRET}`));
      expect(binary.status).to.equal(204);
      behaviour = 'reply';
      const structured = await post(authed.url, withAuth(toHttpStructured(input()), `bearer ${SECRET}`));
      expect(structured.status).to.equal(200);
      expect(structured.headers['ce-type']).to.equal(SCALE_DECIDED);
      expect(received).to.have.length(2);
    });

    it('checks the credential before it reads the body: an unauthenticated event over the body limit is 401, not 413', async () => {
      const { headers } = toHttpBinary(input());
      const r = await post(authed.url, { headers, body: JSON.stringify({ ...completedData(), padding: 'x'.repeat(5000) }) });
      expect(r.status).to.equal(401);
      expect(r.json()['code']).to.equal('SSIS_UNAUTHENTICATED');
      expect(received).to.deep.equal([]);
    });

    it('counts refused senders under type "other", outcome "unauthenticated": a forged type never becomes a label', async () => {
      const { headers, body } = toHttpBinary(input());
      await post(authed.url, { headers: { ...headers, 'ce-type': 'com.example.forged-1' }, body });
      await post(authed.url, { headers: { ...headers, 'ce-type': 'com.example.forged-2', authorization: 'Bearer nope' }, body });
      const text = (await call(`${authed.url}/metrics`)).text;
      expect(text).to.include('ssis_function_events_total{type="other",outcome="unauthenticated",function="test"} 2');
      expect(text).to.not.include('forged');
    });

    it('does not ask for a credential on a POST that is not a CloudEvent: it is 404, as without intakeAuth', async () => {
      const r = await call(authed.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(r.status).to.equal(404);
      expect((await call(`${authed.url}/health/readiness`)).status, 'health needs no credential').to.equal(200);
    });
  });

  describe('with the real request function', () => {
    let cluster: SimulatedCluster;
    let rh: Harness;

    beforeEach(() => {
      rh = harness('request');
      cluster = newCluster(1);
    });
    afterEach(async () => {
      await cluster.shutdown();
    });

    const inference = (prompt: string): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: prompt, env: { MODEL_ID: MODELS.gpt2 } }) });
    const chat = (prompt: string): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODELS.gpt2, messages: [{ role: 'user', content: prompt }] }) });

    async function withServer<T>(app: express.Express, run: (url: string) => Promise<T>): Promise<T> {
      const { server: s, url: u } = await listen(app);
      try {
        return await run(u);
      } finally {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    }

    describe('(a) the public ingress (createIngressApp)', () => {
      const ingressOf = (ctx: FunctionContext = rh.ctx) => createIngressApp({ cluster, catalog: CONFIG.catalog, config: CONFIG.ssis, clock: rh.clock, ids: rh.ids }, ctx, { bodyLimitBytes: CONFIG.ssis.ingress.maxBodyBytes });

      it('answers a bad JSON body with 400 on both APIs naming body (SSIS shape on /, OpenAI shape on /v1), publishing nothing', async () => {
        const ingress = ingressOf();
        await withServer(ingress.app, async (u) => {
          const ssis = await call(u, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"token": "hi", ' });
          expect(ssis.status).to.equal(400);
          expect(ssis.json()).to.deep.include({ code: 'SSIS_INVALID_REQUEST', retriable: false });
          expect((ssis.json()['issues'] as { field: string }[])[0]!.field).to.equal('body');

          const openai = await call(`${u}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model": ' });
          expect(openai.status).to.equal(400);
          const error = openai.json()['error'] as Record<string, unknown>;
          expect(Object.keys(openai.json())).to.deep.equal(['error']);
          expect(error).to.include({ type: 'invalid_request_error', param: 'body', code: null });
          expect(error['message']).to.match(/^invalid request: body: is not valid JSON/);

          expect(rh.publisher.events).to.deep.equal([]);
          expect(cluster.listServices()).to.deep.equal([]);
          expect((await call(`${u}/health/liveness`)).status).to.equal(200);
        });
        ingress.close();
      });

      it('answers a request whose model cannot be placed with 503 SSIS_CAPACITY_UNAVAILABLE (retriable) and Retry-After, on both APIs', async () => {
        const ingress = ingressOf();
        await withServer(ingress.app, async (u) => {
          const ssis = call(u, inference('hi'));
          const openai = call(`${u}/v1/chat/completions`, chat('hi'));
          // Held once request-received is out; then the placement fails (what reconfigure reports).
          await until('two request-received', () => (rh.publisher.events.length >= 2 ? true : undefined));
          await cluster.setCondition('gpt2', { ready: false, reason: 'Unschedulable', message: 'no 1g.5gb fits' });
          const [s, o] = await Promise.all([ssis, openai]);
          for (const r of [s, o]) {
            expect(r.status).to.equal(503);
            expect(r.headers['retry-after']).to.equal(String(CONFIG.ssis.ingress.retryAfterSec));
          }
          expect(s.json()).to.deep.include({ code: 'SSIS_CAPACITY_UNAVAILABLE', message: `no capacity for ${MODELS.gpt2}: no 1g.5gb fits`, retriable: true });
          expect(o.json()).to.deep.equal({ error: { message: `no capacity for ${MODELS.gpt2}: no 1g.5gb fits`, type: 'server_error', param: null, code: 'overloaded' } });
        });
        ingress.close();
      });

      it('answers 503 with Retry-After while the broker does not take request-received, 500 when it refuses it', async () => {
        const cases = [
          { error: new SsisError('SSIS_BROKER_UNAVAILABLE', 'broker refused: 503'), status: 503, retryAfter: String(CONFIG.ssis.ingress.retryAfterSec), type: 'server_error' },
          { error: new SsisError('SSIS_BROKER_REFUSED', 'broker refused: 400'), status: 500, retryAfter: undefined, type: 'server_error' },
        ];
        for (const { error, status, retryAfter, type } of cases) {
          const fh = harness('ingress');
          const failing: FunctionContext = { ...fh.ctx, publisher: { publish: () => Promise.reject(error) } };
          const ingress = ingressOf(failing);
          await withServer(ingress.app, async (u) => {
            const r = await call(u, inference('hi'));
            expect(r.status, error.code).to.equal(status);
            expect(r.headers['retry-after'], error.code).to.equal(retryAfter);
            expect(r.json(), error.code).to.deep.include({ code: error.code, retriable: error.retriable });
            const o = await call(`${u}/v1/chat/completions`, chat('hi'));
            expect(o.status, error.code).to.equal(status);
            expect(o.json(), error.code).to.deep.equal({ error: { message: error.message, type, param: null, code: null } });
          });
          ingress.close();
        }
      });

      it('answers an unknown route in the shape of its API: OpenAI under /v1/, SSIS elsewhere', async () => {
        const ingress = ingressOf();
        await withServer(ingress.app, async (u) => {
          const v1 = await call(`${u}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
          expect(v1.status).to.equal(404);
          expect(v1.json()['error']).to.include({ type: 'invalid_request_error', code: 'unknown_url', param: null });
          const other = await call(`${u}/admin`);
          expect(other.status).to.equal(404);
          expect(other.json()['code']).to.equal('SSIS_NOT_FOUND');
        });
        ingress.close();
      });
    });

    describe('(b) the dispatch stage over HTTP (createFunctionApp)', () => {
      const SECRET = 'd'.repeat(40);
      const receivedEvent = (): SsisEvent<RequestReceived> => createEvent(REQUEST_RECEIVED, {
        requestId: 'r1', service: 'gpt2', modelId: MODELS.gpt2, api: 'ssis', serviceClass: 'default', inputTokens: 3, maxNewTokens: 20, sloMs: null, envKeys: ['MODEL_ID'], receivedAt: iso(T0),
      } satisfies RequestReceived, { source: '/ssis/functions/request', clock: rh.clock, ids: rh.inputIds });
      const dispatchApp = (): express.Express => createFunctionApp(buildRequestFunction({ cluster, catalog: CONFIG.catalog, config: CONFIG.ssis, clock: rh.clock, ids: rh.ids }), rh.ctx, {
        bodyLimitBytes: CONFIG.ssis.ingress.maxBodyBytes, intakeAuth: sharedSecretAuth(SECRET),
      });
      const signed = (m: HttpMessage): HttpMessage => ({ headers: { ...m.headers, authorization: `Bearer ${SECRET}` }, body: m.body });

      it('request-received → 200 with the cold-start scale-decided; again while pending → 204', async () => {
        await cluster.ensureService('gpt2', MODELS.gpt2);
        await withServer(dispatchApp(), async (u) => {
          const first = await post(u, signed(toHttpBinary(receivedEvent())));
          expect(first.status).to.equal(200);
          const reply = fromHttp({ headers: first.headers, body: first.text });
          expect(reply.type).to.equal(SCALE_DECIDED);
          expect(reply.data).to.deep.include({ decisionId: 'gpt2-g0-cold-start', action: 'cold-start', target: { profile: '1g.5gb', gpuModel: 'A100-SXM4-40GB', replicas: 1 } });
          expect((await post(u, signed(toHttpStructured(receivedEvent())))).status).to.equal(204);
        });
      });

      it('an unauthenticated request-received is 401 and decides nothing: the next authenticated one still gets the cold start', async () => {
        await cluster.ensureService('gpt2', MODELS.gpt2);
        await withServer(dispatchApp(), async (u) => {
          expect((await post(u, toHttpBinary(receivedEvent()))).status).to.equal(401);
          const ok = await post(u, signed(toHttpBinary(receivedEvent())));
          expect(ok.status, 'not marked pending by the refused event').to.equal(200);
        });
      });

      it('serves no inference API: an SSIS body or an OpenAI call to the dispatch endpoint is 404 and publishes nothing', async () => {
        await withServer(dispatchApp(), async (u) => {
          expect((await call(u, inference('hi'))).status).to.equal(404);
          expect((await call(`${u}/v1/chat/completions`, chat('hi'))).status).to.equal(404);
          expect((await call(`${u}/v1/models`)).status).to.equal(404);
        });
        expect(rh.publisher.events).to.deep.equal([]);
        expect(cluster.listServices()).to.deep.equal([]);
      });
    });
  });
});
