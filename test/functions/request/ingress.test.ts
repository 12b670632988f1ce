/**
 * The public ingress (createIngressApp) over loopback HTTP with a REAL SimulatedCluster and its
 * emulated replicas: it takes no CloudEvents, authenticates callers by API key (401/403/429 in the
 * shape of each API), keeps keys out of events, metrics and logs, checks content type and size
 * before reading a body, and keeps its metric labels to names the system knows.
 */
import { expect } from 'chai';
import { parseKeyFile } from '../../../core/auth/tenants';
import { SsisError } from '../../../core/errors';
import { toHttpBinary, toHttpStructured } from '../../../events/codec/http';
import { createEvent } from '../../../events/create';
import { REQUEST_RECEIVED, type RequestReceived } from '../../../events/request-received';
import { SCALE_DECIDED, type ScaleDecided } from '../../../events/scale-decided';
import { generateApiKey, keyAuthenticator } from '../../../infra/auth/api-keys';
import type { SimulatedCluster } from '../../../infra/cluster/simulated';
import type { FunctionContext } from '../../../functions/runtime/function';
import { deploy, gpuSnapshot, iso, MODELS, newCluster, T0, type Harness } from '../helpers';
import { call, chatBody, json, ssisBody, startIngress, twoClassConfig, type Answer, type RunningIngress } from './ingress-fixture';

const GPT2 = MODELS.gpt2;

describe('functions/request public ingress (createIngressApp on loopback HTTP)', () => {
  let cluster: SimulatedCluster;
  let ing: RunningIngress;
  const stopBoth = async (): Promise<void> => {
    await ing.stop();
    await cluster.shutdown();
  };

  describe('takes no CloudEvents', () => {
    beforeEach(async () => {
      cluster = newCluster(1);
      ing = await startIngress({ cluster });
    });
    afterEach(stopBoth);

    const receivedEvent = (h: Harness) => createEvent(REQUEST_RECEIVED, {
      requestId: 'forged-1', service: 'gpt2', modelId: GPT2, api: 'ssis', serviceClass: 'default', inputTokens: 3, maxNewTokens: 20, sloMs: null, envKeys: ['MODEL_ID'], receivedAt: iso(T0),
    } satisfies RequestReceived, { source: '/ssis/functions/request', clock: h.clock, ids: h.inputIds });
    const decidedEvent = (h: Harness) => createEvent(SCALE_DECIDED, {
      decisionId: 'gpt2-g0-cold-start', service: 'gpt2', modelId: GPT2, action: 'cold-start', policy: 'cold-start', fromGeneration: 0,
      current: { profile: null, gpuModel: null, replicas: 0 }, target: { profile: '7g.40gb', gpuModel: 'A100-SXM4-40GB', replicas: 1 }, reason: 'forged', decidedAt: iso(T0),
    } satisfies ScaleDecided, { source: '/ssis/functions/evaluate', clock: h.clock, ids: h.inputIds });

    it('does not handle a schema-valid request-received or scale-decided, in binary or structured mode, on any path: no event, no cluster change', async () => {
      const gpus = gpuSnapshot(cluster);
      const statuses: Record<string, number> = {};
      for (const [name, ev] of [['request-received', receivedEvent(ing.h)], ['scale-decided', decidedEvent(ing.h)]] as const) {
        for (const path of ['/', '/v1/chat/completions', '/request', '/events']) {
          const binary = toHttpBinary(ev);
          statuses[`${name} binary ${path}`] = (await call(`${ing.url}${path}`, { method: 'POST', headers: binary.headers, body: binary.body })).status;
          const structured = toHttpStructured(ev);
          statuses[`${name} structured ${path}`] = (await call(`${ing.url}${path}`, { method: 'POST', headers: structured.headers, body: structured.body })).status;
        }
      }
      for (const [what, status] of Object.entries(statuses)) {
        // Structured mode is not JSON to the inference APIs (415); elsewhere there is no route (404);
        // binary data on an inference route is read as an inference body, which it is not (400).
        const [, mode, path] = what.split(' ');
        const expected = mode === 'structured' && (path === '/' || path!.startsWith('/v1/')) ? 415 : path === '/' || path!.startsWith('/v1/') ? 400 : 404;
        expect(status, what).to.equal(expected);
      }
      expect(ing.h.publisher.events).to.deep.equal([]);
      expect(cluster.listServices()).to.deep.equal([]);
      expect(gpuSnapshot(cluster)).to.deep.equal(gpus);
    });
  });

  describe('request bodies', () => {
    beforeEach(async () => {
      cluster = newCluster(1);
      ing = await startIngress({ cluster }, { bodyLimitBytes: 4096 });
    });
    afterEach(stopBoth);

    it('answers a body that is not application/json with 415 SSIS_UNSUPPORTED_MEDIA_TYPE, in the shape of each API, without reading it', async () => {
      const body = JSON.stringify(ssisBody('hi'));
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonp', undefined]) {
        const headers: Record<string, string> = type === undefined ? {} : { 'content-type': type };
        const ssis = await call(ing.url, { method: 'POST', headers, body: type === undefined ? new Blob([body]) : body });
        expect(ssis.status, String(type)).to.equal(415);
        expect(ssis.json(), String(type)).to.deep.include({ code: 'SSIS_UNSUPPORTED_MEDIA_TYPE', retriable: false, issues: [{ field: 'content-type', message: 'must be application/json' }] });
      }
      const chat = await call(`${ing.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(chatBody('hi')) });
      expect(chat.status).to.equal(415);
      expect(chat.json()).to.deep.equal({ error: { message: 'the body must be JSON: send "Content-Type: application/json" (got text/plain)', type: 'invalid_request_error', param: 'content-type', code: null } });
      // application/json with parameters is JSON.
      const withCharset = await call(ing.url, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{' });
      expect(withCharset.status).to.equal(400);
      expect(ing.h.publisher.events).to.deep.equal([]);
    });

    it('answers a body over the limit with 413 SSIS_PAYLOAD_TOO_LARGE naming body, on both APIs, and keeps serving', async () => {
      const big = await call(ing.url, json(ssisBody('x'.repeat(5000))));
      expect(big.status).to.equal(413);
      expect(big.json()).to.deep.include({ code: 'SSIS_PAYLOAD_TOO_LARGE', retriable: false, issues: [{ field: 'body', message: 'at most 4096 bytes' }] });
      const chat = await call(`${ing.url}/v1/chat/completions`, json(chatBody('x'.repeat(5000))));
      expect(chat.status).to.equal(413);
      expect(chat.json()['error']).to.include({ type: 'invalid_request_error', param: 'body' });
      expect(ing.h.publisher.events).to.deep.equal([]);
      expect(cluster.listServices()).to.deep.equal([]);
      expect((await call(`${ing.url}/health/liveness`)).status).to.equal(200);
    });
  });

  describe('API keys', () => {
    const open = generateApiKey();
    const narrow = generateApiKey();
    const slow = generateApiKey();
    const unknown = generateApiKey();
    const KEYS = [open, narrow, slow, unknown].map((k) => k.key);
    const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

    const config = twoClassConfig();
    const keys = () => keyAuthenticator(parseKeyFile({
      keys: [
        { id: 'team-a-ci', tenant: 'team-a', sha256: open.sha256, ratePerSec: 100 },
        { id: 'team-b-app', tenant: 'team-b', sha256: narrow.sha256, models: [MODELS.llama1b] },
        { id: 'team-c-batch', tenant: 'team-c', sha256: slow.sha256, ratePerSec: 0.01, burst: 2 },
      ],
    }, config.serviceClasses.map((c) => c.name), config.ingress.defaultServiceClass));

    /** FAKE publisher that refuses its first event (so that the ingress has something to log), then records. */
    const flakyCtx = (h: Harness): FunctionContext => {
      let calls = 0;
      return { ...h.ctx, publisher: { publish: (e) => (calls++ === 0 ? Promise.reject(new SsisError('SSIS_BROKER_UNAVAILABLE', 'broker refused: 503')) : h.publisher.publish(e)) } };
    };

    before(async function () {
      this.timeout(30_000);
      cluster = newCluster(1);
      await deploy(cluster, 'gpt2', GPT2, '1g.5gb', 1);
    });
    beforeEach(async () => {
      ing = await startIngress({ cluster, config, apiKeys: keys() }, { ctx: flakyCtx });
    });
    afterEach(async () => {
      await ing.stop();
    });
    after(async () => {
      await cluster.shutdown();
    });

    const expectNoKey = (text: string, where: string): void => {
      for (const k of KEYS) expect(text, `${where} holds an API key`).to.not.include(k);
    };

    it('answers a missing or unknown key with 401: OpenAI shape (authentication_error) on /v1, SSIS shape on /', async () => {
      for (const headers of [{}, bearer(unknown.key), { authorization: `Basic ${Buffer.from(`u:${open.key}`).toString('base64')}` }, { authorization: open.key }, bearer(`${open.key}x`)]) {
        const chat = await call(`${ing.url}/v1/chat/completions`, json(chatBody('hi'), headers));
        expect(chat.status).to.equal(401);
        const error = chat.json()['error'] as Record<string, unknown>;
        expect(error).to.include({ type: 'authentication_error', code: 'invalid_api_key', param: null });
        const ssis = await call(ing.url, json(ssisBody('hi'), headers));
        expect(ssis.status).to.equal(401);
        expect(ssis.json()).to.deep.include({ code: 'SSIS_UNAUTHENTICATED', retriable: false });
        expect((ssis.json()['issues'] as { field: string }[])[0]!.field).to.equal('authorization');
        expectNoKey(chat.text + ssis.text, 'a 401 answer');
      }
      // The caller is refused before anything about the body is looked at, and nothing is announced.
      const bad = await call(`${ing.url}/v1/completions`, json('{"model":', {}));
      expect(bad.status).to.equal(401);
      expect(ing.h.publisher.events).to.deep.equal([]);
    });

    it('answers a key that does not grant the model with 403 (permission_error), naming the model field', async () => {
      const chat = await call(`${ing.url}/v1/chat/completions`, json(chatBody('hi'), bearer(narrow.key)));
      expect(chat.status).to.equal(403);
      expect(chat.json()['error']).to.include({ type: 'permission_error', code: 'model_not_allowed', param: 'model' });
      const ssis = await call(ing.url, json(ssisBody('hi'), bearer(narrow.key)));
      expect(ssis.status).to.equal(403);
      expect(ssis.json()).to.deep.include({ code: 'SSIS_FORBIDDEN', issues: [{ field: 'env.MODEL_ID', message: 'not granted to this key' }] });
      expect(ing.h.publisher.events).to.deep.equal([]);
    });

    it('answers a key asking for a service class other than its own (a higher priority) with 403 naming label.class', async () => {
      const promoted = await call(ing.url, json(ssisBody('hi', GPT2, { class: 'premium' }), bearer(open.key)));
      expect(promoted.status).to.equal(403);
      expect(promoted.json()).to.deep.include({ code: 'SSIS_FORBIDDEN', issues: [{ field: 'label.class', message: 'not granted to this key' }] });
      expect((await call(ing.url, json(ssisBody('hi', GPT2, { class: 'default' }), bearer(open.key)))).status, 'its own class').to.equal(200);
    });

    it('answers a tenant over its rate with 429 (rate_limit_error) and Retry-After, other tenants unaffected', async () => {
      const first = await call(ing.url, json(ssisBody('one'), bearer(slow.key)));
      const second = await call(`${ing.url}/v1/completions`, json({ model: GPT2, prompt: 'two', max_tokens: 4 }, bearer(slow.key)));
      expect([first.status, second.status]).to.deep.equal([200, 200]);
      const over = await call(`${ing.url}/v1/chat/completions`, json(chatBody('three'), bearer(slow.key)));
      expect(over.status).to.equal(429);
      // 0.01 tokens a second, none left, and the ingress's clock stands still: one token takes 100 s.
      expect(over.headers['retry-after']).to.equal('100');
      expect(over.json()['error']).to.include({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
      const overSsis = await call(ing.url, json(ssisBody('four'), bearer(slow.key)));
      expect(overSsis.status).to.equal(429);
      expect(overSsis.json()).to.deep.include({ code: 'SSIS_RATE_LIMITED', retriable: true });
      expect((await call(ing.url, json(ssisBody('other'), bearer(open.key)))).status, 'another tenant').to.equal(200);
    });

    it('needs the key for GET /v1/models too', async () => {
      const anonymous = await call(`${ing.url}/v1/models`);
      expect(anonymous.status).to.equal(401);
      expect(anonymous.json()['error']).to.include({ type: 'authentication_error' });
      expect((await call(`${ing.url}/v1/models`, { headers: bearer(unknown.key) })).status).to.equal(401);
      const listed = await call(`${ing.url}/v1/models`, { headers: bearer(open.key) });
      expect(listed.status).to.equal(200);
      expect((listed.json()['data'] as { id: string }[]).map((m) => m.id)).to.include(GPT2);
    });

    it('GET /v1/models/{id} retrieves one model (ids contain "/"), or 404 model_not_found in OpenAI\'s shape', async () => {
      const one = await call(`${ing.url}/v1/models/${GPT2}`, { headers: bearer(open.key) });
      expect(one.status).to.equal(200);
      expect(one.json()).to.deep.equal({ id: GPT2, object: 'model', created: 0, owned_by: 'ssis' });
      const missing = await call(`${ing.url}/v1/models/acme/none`, { headers: bearer(open.key) });
      expect(missing.status).to.equal(404);
      expect(missing.json()['error']).to.include({ type: 'invalid_request_error', code: 'model_not_found' });
      expect((await call(`${ing.url}/v1/models/${GPT2}`)).status, 'needs the key').to.equal(401);
    });

    it('keeps every key out of the published request-received events, the ingress\'s /metrics and its logs', async () => {
      const answers: Answer[] = [];
      answers.push(await call(ing.url, json(ssisBody('hello'), bearer(open.key))));
      answers.push(await call(ing.url, json(ssisBody('hello again'), bearer(open.key))));
      answers.push(await call(`${ing.url}/v1/chat/completions`, json(chatBody('hello'), bearer(open.key))));
      answers.push(await call(`${ing.url}/v1/completions`, json({ model: GPT2, prompt: 'hello', max_tokens: 4 }, bearer(open.key))));
      answers.push(await call(ing.url, json(ssisBody('hello'), bearer(unknown.key))));
      answers.push(await call(ing.url, json(ssisBody('hello'), bearer(narrow.key))));
      answers.push(await call(`${ing.url}/v1/chat/completions`, json(chatBody('hello', 'acme/not-a-model'), bearer(open.key))));
      expect(answers.map((a) => a.status)).to.deep.equal([200, 200, 200, 200, 401, 403, 404]);
      for (const a of answers) expectNoKey(JSON.stringify(a.headers) + a.text, 'an answer');

      // The first request-received was refused by the FAKE broker (and logged); the other three are out.
      expect(ing.h.publisher.events.map((e) => e.type)).to.deep.equal([REQUEST_RECEIVED, REQUEST_RECEIVED, REQUEST_RECEIVED]);
      expectNoKey(JSON.stringify(ing.h.publisher.events), 'a request-received');
      expect(ing.h.logger.lines.some((l) => l.msg === 'request-received not accepted by the broker'), 'something was logged').to.equal(true);
      expectNoKey(JSON.stringify(ing.h.logger.lines), 'the log');
      expectNoKey((await call(`${ing.url}/metrics`)).text, '/metrics');
      // Nor their digests: the key file is the only place those live.
      const digests = [open, narrow, slow, unknown].map((k) => k.sha256);
      const everything = JSON.stringify(ing.h.publisher.events) + JSON.stringify(ing.h.logger.lines) + (await call(`${ing.url}/metrics`)).text;
      for (const d of digests) expect(everything).to.not.include(d);
    });
  });

  describe('bounded metrics', () => {
    afterEach(stopBoth);

    it('2,000 requests for distinct unknown models leave /metrics within a few KB of its size after one (labels use "other")', async function () {
      this.timeout(60_000);
      cluster = newCluster(1);
      ing = await startIngress({ cluster });
      const send = (k: number): Promise<Answer> => call(ing.url, json(ssisBody('hi', `acme/unknown-model-${k}`)));
      expect((await send(0)).status).to.equal(404);
      const after1 = (await call(`${ing.url}/metrics`)).text;
      for (let k = 1; k < 2000; k += 50) {
        const batch = await Promise.all(Array.from({ length: Math.min(50, 2000 - k) }, (_, j) => send(k + j)));
        expect(batch.every((r) => r.status === 404)).to.equal(true);
      }
      const after2000 = (await call(`${ing.url}/metrics`)).text;
      // The runtime's own process_*/nodejs_* series change with GC and the heap: count the SSIS ones.
      const ssisSeries = (text: string): number => text.split('\n').filter((l) => l.includes('ssis_')).join('\n').length;
      expect(ssisSeries(after2000) - ssisSeries(after1)).to.be.below(2048);
      expect(after2000).to.not.include('acme').and.not.include('unknownmodel');
      expect(after2000).to.match(/ssis_ingress_requests_total\{service="other",api="ssis",code="404",function="ingress"\} 2000/);
      expect(cluster.listServices(), 'an unknown model makes no service').to.deep.equal([]);
      expect(ing.h.publisher.events).to.deep.equal([]);
    });
  });
});
