/**
 * Emulated inference server (a FAKE model: no GPU, no weights here). It is a real HTTP server on
 * loopback that answers the TGI call `{inputs, parameters}` — `POST /generate` → `{generated_text,
 * details}`, `POST /` → `[{generated_text}]` — after the delay the batching engine computes for
 * the slice it runs on, and exposes vLLM-named metrics on `/metrics`. Everything else in the
 * stack talks to it exactly as it would talk to a real TGI/vLLM pod.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { BatchingEngine, type EngineConfig, type FinishedRequest, type StepOutcome } from '../../core/perf/batching-engine';
import { estimateTokens } from '../../core/token-estimate';
import { emulatedCompletion } from './filler-text';
import { createServerMetrics, type ServerMetrics } from './metrics';

export interface EmulatorOptions {
  readonly modelId: string;
  readonly engine: EngineConfig;
  readonly maxModelLen: number;
  readonly defaultMaxNewTokens: number;
  readonly host?: string;
  readonly port?: number;
  readonly maxBodyBytes?: number;
}

interface Pending {
  readonly prompt: string;
  readonly resolve: (done: FinishedRequest) => void;
}

export class EmulatedInferenceServer {
  private readonly engine: BatchingEngine;
  private readonly metrics: ServerMetrics;
  private readonly pending = new Map<string, Pending>();
  private server: Server | null = null;
  private draining = false;
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private idleWaiters: (() => void)[] = [];
  url = '';

  constructor(private readonly opts: EmulatorOptions) {
    this.engine = new BatchingEngine(opts.engine);
    this.metrics = createServerMetrics(opts.modelId, opts.maxModelLen, {
      running: () => this.engine.runningCount,
      waiting: () => this.engine.waitingCount,
      kvCacheUsage: () => this.engine.kvCacheUsage,
    });
  }

  get inFlight(): number {
    return this.pending.size;
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => reply(res, 500, { error: String(err), error_type: 'internal' }));
    });
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => resolve());
    });
    this.server = server;
    const { address, port } = server.address() as AddressInfo;
    this.url = `http://${address}:${port}`;
    return this.url;
  }

  /** Stops taking requests, lets the in-flight ones finish (make-before-break), then closes. */
  async stop(): Promise<void> {
    this.draining = true;
    if (this.pending.size > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    if (this.timer) clearTimeout(this.timer);
    const server = this.server;
    this.server = null;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
      res.end(await this.metrics.registry.metrics());
      return;
    }
    if (req.method === 'GET' && (path === '/health' || path === '/ready')) {
      reply(res, this.draining ? 503 : 200, { status: this.draining ? 'draining' : 'ok' });
      return;
    }
    if (req.method === 'GET' && path === '/info') {
      reply(res, 200, { model_id: this.opts.modelId, max_total_tokens: this.opts.maxModelLen, max_batch_size: this.opts.engine.maxBatchSize, emulated: true });
      return;
    }
    if (req.method !== 'POST' || (path !== '/' && path !== '/generate')) {
      reply(res, 404, { error: `no route ${req.method ?? ''} ${path ?? ''}`, error_type: 'not_found' });
      return;
    }
    if (this.draining) {
      reply(res, 503, { error: 'server is draining', error_type: 'overloaded' });
      return;
    }
    const body = await readJson(req, this.opts.maxBodyBytes ?? 1 << 20);
    const parsed = this.validate(body);
    if ('error' in parsed) {
      reply(res, 422, { error: parsed.error, error_type: 'validation' });
      return;
    }
    const id = `r${++this.seq}`;
    const done = new Promise<FinishedRequest>((resolve) => this.pending.set(id, { prompt: parsed.inputs, resolve }));
    res.on('close', () => {
      // Client gone before the answer: free its KV reservation where the engine allows it.
      if (!res.writableFinished && this.pending.has(id) && this.engine.cancel(id)) this.settle(id);
    });
    this.engine.submit({ id, inputTokens: parsed.inputTokens, maxNewTokens: parsed.maxNewTokens, arrivedMs: performance.now() });
    this.pump();
    const finished = await done;
    const text = emulatedCompletion(parsed.inputs, finished.outputTokens);
    const details = { finished_reason: 'length', generated_tokens: finished.outputTokens, prompt_tokens: finished.inputTokens, seed: null };
    if (path === '/') reply(res, 200, [{ generated_text: text }]);
    else reply(res, 200, { generated_text: text, details });
  }

  private validate(body: unknown): { inputs: string; inputTokens: number; maxNewTokens: number } | { error: string } {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return { error: 'request body must be a JSON object {inputs, parameters}' };
    const { inputs, parameters } = body as { inputs?: unknown; parameters?: unknown };
    if (typeof inputs !== 'string' || inputs.length === 0) return { error: '`inputs` must be a non-empty string' };
    let maxNewTokens = this.opts.defaultMaxNewTokens;
    if (parameters !== undefined && parameters !== null) {
      if (typeof parameters !== 'object' || Array.isArray(parameters)) return { error: '`parameters` must be an object' };
      const raw = (parameters as Record<string, unknown>)['max_new_tokens'];
      if (raw !== undefined && raw !== null) {
        // The reference payload sends "20" as a string (notes/ssis.md §1.2): accept numeric strings.
        const n = typeof raw === 'string' ? Number(raw) : raw;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) return { error: '`max_new_tokens` must be a positive integer' };
        maxNewTokens = n;
      }
    }
    const inputTokens = estimateTokens(inputs);
    if (inputTokens + maxNewTokens > this.opts.maxModelLen) {
      return { error: `\`inputs\` tokens + \`max_new_tokens\` must be <= ${this.opts.maxModelLen}. Given: ${inputTokens} \`inputs\` tokens and ${maxNewTokens} \`max_new_tokens\`` };
    }
    if (!this.engine.fits(inputTokens, maxNewTokens)) return { error: `request needs ${inputTokens + maxNewTokens} KV-cache tokens, more than this slice holds` };
    return { inputs, inputTokens, maxNewTokens };
  }

  /** Runs engine steps back to back with real timers while there is work. */
  private pump(): void {
    if (this.timer || this.engine.stepping || this.engine.idle) return;
    const durationMs = this.engine.startStep(performance.now());
    if (durationMs === null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.record(this.engine.finishStep());
      this.pump();
    }, durationMs);
  }

  private record(step: StepOutcome): void {
    const m = this.metrics;
    for (const t of step.tokens) {
      m.generationTokens.inc();
      if (t.interTokenMs !== null) m.itl.observe(t.interTokenMs / 1000);
    }
    for (const f of step.finished) {
      m.promptTokens.inc(f.inputTokens);
      m.requestSuccess.inc({ finished_reason: 'length' });
      m.ttft.observe((f.firstTokenMs - f.arrivedMs) / 1000);
      m.e2e.observe((f.finishedMs - f.arrivedMs) / 1000);
      m.queueTime.observe((f.scheduledMs - f.arrivedMs) / 1000);
      m.promptLen.observe(f.inputTokens);
      m.generationLen.observe(f.outputTokens);
      if (f.outputTokens > 1) m.tpot.observe((f.finishedMs - f.firstTokenMs) / (f.outputTokens - 1) / 1000);
      m.tgiMeanTimePerToken.observe((f.finishedMs - f.scheduledMs) / f.outputTokens / 1000);
      this.pending.get(f.id)?.resolve(f);
      this.settle(f.id);
    }
  }

  private settle(id: string): void {
    this.pending.delete(id);
    if (this.pending.size === 0 && this.idleWaiters.length > 0) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
