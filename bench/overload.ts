/**
 * The ingress under a crowd (embedded stack, one model, capacity held fixed: no sampling, so no
 * scaling during the run). Baseline, measured in the same run: the service's own latency with
 * exactly its batch slots busy (a closed loop of that many clients). Then 2,000 connections at once, and the same with two tenants of
 * different priority (API keys, one class each). Prints, per run: accepted and shed counts, whether
 * every shed answer carried Retry-After, the accepted requests' p50/p99 against the bound the
 * admission promises (the class's TTFT SLO as queueing budget plus the baseline p99), any other
 * status, and the process RSS before and after.
 *
 *   npm run bench:overload                 # 2,000 connections
 *   BENCH_CONNECTIONS=500 npm run bench:overload
 */
import { request, Agent } from 'node:http';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedStack, type RunningStack } from '../app/embedded-stack';
import { silentLogger } from '../core/common/ports';
import { sloOf, serviceClassOf } from '../core/config/ssis-config';
import { generateApiKey } from '../infra/auth/api-keys';
import { IngressAdmission } from '../functions/request/admission';
import { PROJECT_ROOT } from '../infra/project-root';

const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 2000);
const MODEL = 'openai-community/gpt2';
const SERVICE = 'gpt2';
// Every connection its own socket, as 2,000 separate clients would be.
const agent = new Agent({ keepAlive: false, maxSockets: Infinity });

interface Answer {
  readonly status: number;
  readonly ms: number;
  readonly retryAfter: boolean;
  /** The ingress's own account (Server-Timing): time waiting for a slot, and at the engine. */
  readonly intakeMs?: number;
  readonly queueMs?: number;
  readonly upstreamMs?: number;
}

function serverTiming(header: string | string[] | undefined, name: string): number | undefined {
  const m = new RegExp(`${name};dur=([0-9.]+)`).exec(String(header ?? ''));
  return m ? Number(m[1]) : undefined;
}

function post(url: string, body: unknown, key?: string): Promise<Answer> {
  const data = JSON.stringify(body);
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...(key ? { authorization: `Bearer ${key}` } : {}) } }, (res) => {
      res.resume();
      res.on('end', () => {
        const timing = res.headers['server-timing'];
        const queueMs = serverTiming(timing, 'queue');
        const intakeMs = serverTiming(timing, 'intake');
        const upstreamMs = serverTiming(timing, 'upstream');
        resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, retryAfter: res.headers['retry-after'] !== undefined, ...(queueMs === undefined ? {} : { queueMs }), ...(intakeMs === undefined ? {} : { intakeMs }), ...(upstreamMs === undefined ? {} : { upstreamMs }) });
      });
    });
    req.on('error', () => resolve({ status: 0, ms: performance.now() - started, retryAfter: false }));
    req.end(data);
  });
}

const body = (n: number) => ({ token: `Question ${n}: what is deep learning?`, par: { max_new_tokens: 20 }, env: { MODEL_ID: MODEL } });

function pct(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

async function start(keysFile?: string): Promise<RunningStack> {
  return startEmbeddedStack({
    knativeDir: join(PROJECT_ROOT, 'knative'),
    stateDir: mkdtempSync(join(tmpdir(), 'ssis-bench-overload-')),
    ingressPort: 0,
    logger: silentLogger,
    sampleEverySec: 24 * 3600,
    loadTimeScale: 0.01,
    ...(keysFile ? { apiKeysFile: keysFile } : {}),
    configure: (c) => ({
      ...c,
      ssis: {
        ...c.ssis,
        serviceClasses: [
          ...c.ssis.serviceClasses,
          { name: 'batch', priority: 50, policy: 'inferno', ttftMs: c.ssis.serviceClasses[0]!.ttftMs, itlMs: c.ssis.serviceClasses[0]!.itlMs, models: [] },
        ],
      },
    }),
  });
}

function slots(stack: RunningStack): number {
  return new IngressAdmission({ cluster: stack.cluster, catalog: stack.configuration.catalog, config: stack.configuration.ssis }).slots(SERVICE);
}

function report(label: string, answers: readonly Answer[], boundMs: number, budgetMs: number, rssBefore: number): void {
  const accepted = answers.filter((a) => a.status === 200);
  const ok = accepted.map((a) => a.ms);
  const shed = answers.filter((a) => a.status === 503 || a.status === 429);
  const other = answers.filter((a) => a.status !== 200 && a.status !== 503 && a.status !== 429);
  const p99 = pct(ok, 99);
  console.log(`${label.padEnd(34)} accepted ${String(ok.length).padStart(5)}  shed ${String(shed.length).padStart(5)} (Retry-After on ${shed.filter((a) => a.retryAfter).length})  other ${other.length}${other.length ? ` [${[...new Set(other.map((a) => a.status))].join(',')}]` : ''}`);
  console.log(`${''.padEnd(34)} accepted p50 ${pct(ok, 50).toFixed(0)} ms, p99 ${p99.toFixed(0)} ms = ${(p99 / boundMs).toFixed(2)} × bound ${boundMs.toFixed(0)} ms; shed answered in p99 ${pct(shed.map((a) => a.ms), 99).toFixed(0)} ms`);
  console.log(`${''.padEnd(34)} at the ingress: queue wait p99 ${pct(accepted.map((a) => a.queueMs ?? NaN), 99).toFixed(0)} ms = ${(pct(accepted.map((a) => a.queueMs ?? NaN), 99) / budgetMs).toFixed(2)} × the ${budgetMs} ms TTFT budget; intake p99 ${pct(accepted.map((a) => a.intakeMs ?? NaN), 99).toFixed(0)} ms; engine p99 ${pct(accepted.map((a) => a.upstreamMs ?? NaN), 99).toFixed(0)} ms`);
  console.log(`${''.padEnd(34)} RSS ${(rssBefore / 2 ** 20).toFixed(0)} → ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
}

/**
 * The crowd runs in a worker thread, so that on a small machine the clients' event loop does not
 * queue behind the server's and inflate every latency it measures.
 */
function crowd(url: string, keys: readonly string[]): Promise<Answer[]> {
  return new Promise((resolve, reject) => {
    // This file again, through tsx's require hook (a worker does not inherit tsx's loader).
    const worker = new Worker(`require('tsx/cjs'); require(${JSON.stringify(__filename)});`, { eval: true, workerData: { url, keys, connections: CONNECTIONS } });
    worker.once('message', (answers: Answer[]) => {
      resolve(answers);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ssis-bench-keys-'));
  const online = generateApiKey();
  const batch = generateApiKey();
  const keysFile = join(dir, 'keys.yaml');
  writeFileSync(keysFile, `keys:\n  - {id: online, tenant: online, sha256: ${online.sha256}, serviceClass: default, ratePerSec: 100000}\n  - {id: batch, tenant: batch, sha256: ${batch.sha256}, serviceClass: batch, ratePerSec: 100000}\n`);
  const stack = await start(keysFile);
  try {
    // Cold start, then the baseline: exactly the replica's batch slots busy, nothing queued.
    const first = await post(stack.ingressUrl, body(0), online.key);
    if (first.status !== 200) throw new Error(`cold start answered ${first.status}`);
    const capacity = slots(stack);
    const slo = sloOf(serviceClassOf(stack.configuration.ssis, MODEL), MODEL);
    // A closed loop of exactly `capacity` clients for a while: the engine's steady state at full
    // batch, requests joining as others finish (what the crowd's admitted requests see).
    const baseline: number[] = [];
    const until = performance.now() + 8000;
    await Promise.all(Array.from({ length: capacity }, async (_, i) => {
      while (performance.now() < until) baseline.push((await post(stack.ingressUrl, body(i), online.key)).ms);
    }));
    const boundMs = slo.ttftMs + pct(baseline, 99);
    console.log(`one ${MODEL} replica: ${capacity} batch slots; baseline at capacity p50 ${pct(baseline, 50).toFixed(0)} ms, p99 ${pct(baseline, 99).toFixed(0)} ms; TTFT SLO ${slo.ttftMs} ms → bound ${boundMs.toFixed(0)} ms\n`);

    let rss = process.memoryUsage().rss;
    const single = await crowd(stack.ingressUrl, [online.key]);
    report(`${CONNECTIONS} connections, one tenant`, single, boundMs, slo.ttftMs, rss);

    rss = process.memoryUsage().rss;
    const mixed = (await crowd(stack.ingressUrl, [online.key, batch.key])).map((a, i) => ({ a, tenant: i % 2 === 0 ? 'online' : 'batch' }));
    console.log('');
    report(`${CONNECTIONS} connections, two tenants:`, mixed.map((m) => m.a), boundMs, slo.ttftMs, rss);
    for (const tenant of ['online', 'batch']) report(`  ${tenant} (${tenant === 'online' ? 'priority 1' : 'priority 50'})`, mixed.filter((m) => m.tenant === tenant).map((m) => m.a), boundMs, slo.ttftMs, rss);
  } finally {
    await stack.stop();
  }
}

if (isMainThread) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
} else {
  // The crowd: every connection at once, keys taken in turn.
  const { url, keys, connections } = workerData as { url: string; keys: string[]; connections: number };
  void Promise.all(Array.from({ length: connections }, (_, i) => post(url, body(i), keys[i % keys.length]))).then((answers) => parentPort!.postMessage(answers));
}
