/**
 * Set-up shared by the ingress tests: the public ingress (createIngressApp) on a real loopback
 * server, a REAL SimulatedCluster whose routes can be pointed at a FAKE upstream that holds each
 * request until the test answers it (so that slots stay taken for as long as a test needs), and a
 * configuration with two service classes of different priority.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type express from 'express';
import type { ModelCatalog } from '../../../core/catalog/model-catalog';
import type { SsisConfig } from '../../../core/config/ssis-config';
import type { RouteLease } from '../../../core/ports/cluster';
import { SimulatedCluster } from '../../../infra/cluster/simulated';
import { createIngressApp, type Ingress, type IngressDeps } from '../../../functions/request/ingress';
import type { FunctionContext } from '../../../functions/runtime/function';
import { catalogWith, CONFIG, harness, MODELS, spec, until, type Harness } from '../helpers';

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
  readonly json: () => Record<string, unknown>;
}

export async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, headers: Object.fromEntries(res.headers.entries()), text, json: () => JSON.parse(text) as Record<string, unknown> };
}

export async function listen(app: express.Express | RequestListener): Promise<{ server: Server; url: string }> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

/** An SSIS body (`POST /`) for `modelId`, with optional `label` entries. */
export const ssisBody = (prompt: string, modelId: string = MODELS.gpt2, label?: Record<string, string>): Record<string, unknown> => ({
  token: prompt, par: { max_new_tokens: 4 }, env: { MODEL_ID: modelId }, ...(label ? { label } : {}),
});

export const chatBody = (prompt: string, modelId: string = MODELS.gpt2): Record<string, unknown> => ({
  model: modelId, messages: [{ role: 'user', content: prompt }], max_tokens: 4,
});

/** The real catalog with gpt2's batch size replaced: a replica of it then has exactly that many slots. */
export const gpt2Batch = (maxBatchSize: number): ModelCatalog => catalogWith({ ...spec(MODELS.gpt2), maxBatchSize });

/**
 * The shipped configuration with two service classes: `default` (gpt2's class) at priority 2 and
 * `premium` at priority 1 (the highest), same SLOs, so that label.class orders the queue.
 */
export function twoClassConfig(ingress: Partial<SsisConfig['ingress']> = {}): SsisConfig {
  const base = CONFIG.ssis.serviceClasses.find((c) => c.name === 'default')!;
  return {
    ...CONFIG.ssis,
    ingress: { ...CONFIG.ssis.ingress, ...ingress },
    serviceClasses: [{ ...base, priority: 2 }, { ...base, name: 'premium', priority: 1, models: [] }],
  };
}

interface HeldRequest {
  readonly body: Record<string, unknown>;
  /** The ingress closed the request before it was answered (its client left). */
  closedEarly: boolean;
  answered: boolean;
  readonly answer: () => void;
}

/**
 * FAKE upstream (stands in for a model replica's TGI endpoint): a real loopback HTTP server that
 * records every request and holds it until the test answers it; records whether the caller closed
 * it first.
 */
export class HoldingUpstream {
  readonly requests: HeldRequest[] = [];
  /** Answer at once instead of holding (to warm up a service's measured service time). */
  autoAnswer = false;
  private server: Server | null = null;
  url = '';

  async start(): Promise<this> {
    const { server, url } = await listen((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        const held: HeldRequest = {
          body,
          closedEarly: false,
          answered: false,
          answer: () => {
            if (held.answered || held.closedEarly) return;
            held.answered = true;
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ generated_text: ` answer to ${String(body['inputs'])}`, details: { finish_reason: 'length', generated_tokens: 4 } }));
          },
        };
        res.on('close', () => {
          if (!held.answered) held.closedEarly = true;
        });
        this.requests.push(held);
        if (this.autoAnswer) held.answer();
      });
    });
    this.server = server;
    this.url = url;
    return this;
  }

  /** The prompts (TGI `inputs`) in the order they arrived. */
  prompts(): string[] {
    return this.requests.map((r) => String(r.body['inputs']));
  }

  /** Waits until `n` requests have arrived. */
  arrived(n: number): Promise<true> {
    return until(`${n} upstream request(s)`, () => (this.requests.length >= n ? true : undefined));
  }

  answerAll(): void {
    for (const r of this.requests) r.answer();
  }

  async stop(): Promise<void> {
    this.answerAll();
    if (this.server) await closeServer(this.server);
  }
}

/**
 * A REAL SimulatedCluster (replicas, traffic, leases, readiness as usual) whose route leases point
 * at a FAKE upstream instead of the replica's emulated server, when one is set.
 */
export class UpstreamRoutedCluster extends SimulatedCluster {
  upstreamUrl: string | null = null;

  override acquireRoute(service: string): RouteLease | null {
    const lease = super.acquireRoute(service);
    if (!lease || this.upstreamUrl === null) return lease;
    return { url: this.upstreamUrl, replica: lease.replica, release: () => lease.release() };
  }
}

export function routedCluster(catalog: ModelCatalog = CONFIG.catalog, gpus = 1): UpstreamRoutedCluster {
  return new UpstreamRoutedCluster({ namespace: CONFIG.ssis.namespace, nodes: [{ name: 'node-a', gpus: [{ model: 'A100-SXM4-40GB', count: gpus }] }], catalog, loadTimeScale: 0.01, random: () => 0 });
}

export interface RunningIngress {
  readonly h: Harness;
  readonly ingress: Ingress;
  readonly server: Server;
  readonly url: string;
  stop(): Promise<void>;
}

/** The ingress over `cluster` on a loopback port, with a fresh harness (FAKE publisher, RecordingLogger). */
export async function startIngress(
  deps: Partial<IngressDeps> & Pick<IngressDeps, 'cluster'>,
  opts: { bodyLimitBytes?: number; ctx?: (h: Harness) => FunctionContext } = {},
): Promise<RunningIngress> {
  const h = harness('ingress');
  const ingress = createIngressApp(
    { catalog: CONFIG.catalog, config: CONFIG.ssis, clock: h.clock, ids: h.ids, ...deps },
    opts.ctx ? opts.ctx(h) : h.ctx,
    opts.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: opts.bodyLimitBytes },
  );
  const { server, url } = await listen(ingress.app);
  return {
    h, ingress, server, url,
    stop: async () => {
      ingress.close();
      await closeServer(server);
    },
  };
}

/** One sample of `name` with (at least) `labels` in the ingress's /metrics; undefined when there is none. */
export async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const text = (await call(`${url}/metrics`)).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}
