/**
 * Fuzzing the running stack (seeded, bounded in time): hostile requests to the public ingress,
 * CloudEvents to the broker ingress and to every function's event endpoint, with and without the
 * stack's secret, most of them mutations of valid bodies and events. Nothing may answer a 5xx
 * other than 503 with Retry-After (load, to be retried), the stack must keep serving, its memory
 * and its log must stay bounded.
 */
import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { mulberry32 } from '../../core/common/prng';
import { VALID_DATA } from '../events/fixtures';
import { startTestStack, type TestStack } from '../e2e/helpers';
import { int, mutate, pick, rawRequest, type Rand, type RawRequest } from './generators';

const SEED = Number(process.env['SSIS_FUZZ_SEED'] ?? 20261201);
const agent = new Agent({ keepAlive: true, maxSockets: 24 });

interface Outcome {
  readonly status: number;
  readonly retryAfter: boolean;
}

function send(base: string, r: RawRequest): Promise<Outcome> {
  return new Promise((resolve) => {
    const body = r.body === undefined || r.method === 'GET' ? undefined : typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
    const req = request(`${base}${r.path}`, { method: r.method, agent, headers: { ...r.headers, ...(body ? { 'content-length': String(body.length) } : {}) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] !== undefined }));
      res.on('error', () => resolve({ status: -1, retryAfter: false }));
    });
    // A server may refuse and close before reading a big body: that is an answer, not a crash.
    req.on('error', () => resolve({ status: -1, retryAfter: false }));
    req.setTimeout(30_000, () => req.destroy());
    req.end(body);
  });
}

const GPT2 = 'openai-community/gpt2';
const BODIES: readonly unknown[] = [
  { token: 'What is deep learning?', par: { max_new_tokens: 2 }, env: { MODEL_ID: GPT2, HF_TOKEN: 'hf_secret' }, label: { class: 'default' } },
  { model: GPT2, prompt: 'Hello', max_tokens: 2 },
  { model: GPT2, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 },
];

/** A CloudEvent of a random SSIS type with its data (and sometimes its envelope) mutated. */
function cloudEvent(rand: Rand, authorization: string | undefined): RawRequest {
  const valid = pick(rand, VALID_DATA);
  const data = rand() < 0.15 ? valid.data : mutate(rand, valid.data);
  // Encoded by hand, not with the codec: it would refuse the very events this sends.
  const service = (data as { service?: unknown }).service;
  const key = typeof service === 'string' ? service : JSON.stringify(service ?? null);
  const attributes = { specversion: '1.0', id: `fuzz-${int(rand, 0, 1e9)}`, type: valid.type, source: '/fuzz', subject: key, time: '2026-12-01T00:00:00.000Z', partitionkey: key };
  const structured = rand() < 0.3;
  const headers: Record<string, string> = structured
    ? { 'content-type': 'application/cloudevents+json' }
    : { 'content-type': 'application/json', ...Object.fromEntries(Object.entries(attributes).map(([k, v]) => [`ce-${k}`, encodeURIComponent(v)])) };
  const message = { body: structured ? JSON.stringify({ ...attributes, datacontenttype: 'application/json', data }) : JSON.stringify(data) };
  if (rand() < 0.2) delete headers[pick(rand, Object.keys(headers))];
  if (rand() < 0.1) headers['ce-type'] = pick(rand, ['evil.type', 'ssis.scale.decided', '']);
  if (authorization) headers['authorization'] = authorization;
  return { method: 'POST', path: '/', headers, body: typeof message.body === 'string' ? message.body : Buffer.from(message.body) };
}

describe('fuzz: the running stack under hostile input (seeded)', function () {
  this.timeout(240_000);
  let t: TestStack;
  let secret: string;

  before(async () => {
    t = await startTestStack((c) => ({ ...c, ssis: { ...c.ssis, ingress: { ...c.ssis.ingress, capacityWaitTimeoutSec: 5 } } }));
    secret = readFileSync(t.stack.eventSecretPath, 'utf8').trim();
  });
  after(async () => {
    await t?.stack.stop();
  });

  it(`answers ≥ 10,000 generated inputs across the ingress, the broker and each function with no 5xx but 503 + Retry-After, and keeps serving (seed ${SEED})`, async () => {
    const rand = mulberry32(SEED);
    const { stack } = t;
    const brokerBase = stack.brokerUrl.replace(/\/[^/]+\/[^/]+$/, '');
    const brokerPath = stack.brokerUrl.slice(brokerBase.length);
    type Target = { name: string; count: number; next: () => [string, RawRequest] };
    const targets: Target[] = [
      { name: 'ingress', count: 4000, next: () => [stack.ingressUrl, rawRequest(rand, BODIES)] },
      { name: 'broker (with the secret)', count: 1000, next: () => [brokerBase, { ...cloudEvent(rand, `Bearer ${secret}`), path: brokerPath }] },
      { name: 'broker (without)', count: 500, next: () => [brokerBase, { ...cloudEvent(rand, rand() < 0.5 ? undefined : 'Bearer wrong'), path: brokerPath }] },
      ...Object.entries(stack.functionUrls).map(([name, url]): Target => ({
        name: `function ${name}`,
        count: 1000,
        next: () => [url, rand() < 0.9 ? cloudEvent(rand, `Bearer ${secret}`) : rawRequest(rand, BODIES)],
      })),
    ];
    const rssBefore = process.memoryUsage().rss;
    const logBefore = t.logLines.length;
    const bad: string[] = [];
    const statuses = new Map<string, number>();
    let sent = 0;
    for (const target of targets) {
      for (let done = 0; done < target.count;) {
        const batch = Array.from({ length: Math.min(24, target.count - done) }, () => target.next());
        const outcomes = await Promise.all(batch.map(([base, r]) => send(base, r).then((o) => ({ o, r }))));
        for (const { o, r } of outcomes) {
          const key = `${target.name} ${o.status}`;
          statuses.set(key, (statuses.get(key) ?? 0) + 1);
          if (o.status >= 500 && !(o.status === 503 && o.retryAfter)) bad.push(`${target.name}: ${o.status} for ${r.method} ${r.path.slice(0, 40)} ${String(r.headers['content-type'] ?? '')} ${String(r.body ?? '').slice(0, 120)}`);
        }
        done += batch.length;
        sent += batch.length;
      }
    }
    if (process.env["SSIS_FUZZ_REPORT"]) console.log([...statuses].sort().map(([k, n]) => `${k}: ${n}`).join("\n"));
    expect(sent).to.be.at.least(10_000);
    expect(bad.slice(0, 10), `${bad.length} answers were 5xx without Retry-After; by target and status: ${JSON.stringify([...statuses])}`).to.deep.equal([]);

    // Still serving: a real request is answered and every endpoint is healthy.
    const ok = await send(stack.ingressUrl, { method: 'POST', path: '/', headers: { 'content-type': 'application/json' }, body: JSON.stringify(BODIES[0]) });
    expect(ok.status).to.equal(200);
    for (const url of Object.values(stack.functionUrls)) expect((await send(url, { method: 'GET', path: '/health/liveness', headers: {} })).status).to.equal(200);
    // Bounded: memory, and the log (bad input is logged at a bounded rate).
    const grownMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    expect(grownMiB, 'RSS growth (MiB)').to.be.below(300);
    expect(t.logLines.length - logBefore, 'log lines written for the whole run').to.be.below(3000);
  });
});
