/**
 * The Knative stand-in's data path for one Knative Service, in place of Knative's ingress and
 * activator: a loopback HTTP proxy that picks a revision per request by the weights of the
 * Service's traffic targets and forwards the request to that revision's server, streaming both
 * bodies through. A client that goes away cancels the upstream request (so the engine frees its
 * work). No target, or a target whose server is gone: 503 with `Retry-After`, where Knative's
 * activator would hold the request while it scaled a revision from zero (SSIS's never are).
 */
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Stand-in only: the response header naming the revision that served (Knative sets none). */
export const SERVED_BY_HEADER = 'x-ssis-stand-in-revision';

export interface WeightedTarget {
  readonly revisionName: string;
  readonly percent: number;
}

export interface TrafficProxyOptions {
  /** The targets now programmed (read per request). */
  readonly targets: () => readonly WeightedTarget[];
  /** The base URL of a revision's server, if it runs. */
  readonly endpointOf: (revision: string) => string | undefined;
  readonly random?: () => number;
}

/** RFC 9110 §7.6.1 connection-specific headers, which a proxy must not forward. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

function forwardable(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const named = new Set((headers.connection ?? '').split(',').map((h) => h.trim().toLowerCase()));
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !HOP_BY_HOP.has(k) && !named.has(k)));
}

function fail(res: ServerResponse, status: number, message: string, retryAfterSec?: number): void {
  if (res.writableEnded || res.destroyed) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: message, error_type: status === 503 ? 'unavailable' : 'upstream' });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(retryAfterSec === undefined ? {} : { 'retry-after': String(retryAfterSec) }) });
  res.end(body);
}

/** A target by weight; targets at 0 % get nothing. */
export function pickTarget(targets: readonly WeightedTarget[], random: () => number): WeightedTarget | undefined {
  const weighted = targets.filter((t) => t.percent > 0);
  const total = weighted.reduce((sum, t) => sum + t.percent, 0);
  let pick = random() * total;
  return weighted.find((t) => (pick -= t.percent) < 0) ?? weighted[weighted.length - 1];
}

export class TrafficProxy {
  private server: Server | null = null;
  private readonly agent = new Agent({ keepAlive: true });
  url = '';

  constructor(private readonly opts: TrafficProxyOptions) {}

  async start(): Promise<string> {
    const server = createServer((req, res) => this.forward(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.agent.destroy();
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const target = pickTarget(this.opts.targets(), this.opts.random ?? Math.random);
    const endpoint = target ? this.opts.endpointOf(target.revisionName) : undefined;
    if (!target || endpoint === undefined) {
      req.resume();
      fail(res, 503, target ? `revision ${target.revisionName} has no running server` : 'no revision is routable yet', 1);
      return;
    }
    const upstream = httpRequest(new URL(req.url ?? '/', endpoint), { method: req.method, headers: forwardable(req.headers), agent: this.agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, { ...forwardable(answer.headers), [SERVED_BY_HEADER]: target.revisionName });
      answer.pipe(res);
    });
    upstream.on('error', (err) => fail(res, 502, `revision ${target.revisionName}: ${err.message}`));
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }
}
