/**
 * The broker ingress, the same for the embedded and the Kafka broker (the Knative Kafka Broker's
 * receiver, notes/knative-kafka.md §1.1), served on 127.0.0.1:
 * - `POST /<namespace>/<broker>`: one CloudEvent in binary or structured mode; 202 once stored,
 *   400 naming the problem when it is not a valid CloudEvent, 503 while the broker stops or when
 *   storing failed in a way worth retrying (a retriable SsisError);
 * - `GET /metrics`: the broker's Prometheus registry;
 * - anything else: 404.
 * A broker carries any valid CloudEvent (CloudEvents 1.0): data in any media type, or without
 * one, is stored as received and delivered byte for byte (events/codec/http.ts fromHttpAnyEvent).
 * Only ssis.* events are held to the SSIS contract here; the functions check their own events.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { asSsisError } from '../../core/errors';
import { fromHttpAnyEvent } from '../../events/codec/http';
import type { AnyCloudEvent } from '../../events/envelope';

/** What the ingress needs of its broker. */
export interface IngressTarget {
  /** `/<namespace>/<broker>`. */
  readonly path: string;
  readonly registry: Registry;
  /** False once the broker is stopping: events are then refused with 503. */
  accepting(): boolean;
  /** Resolves once the event is stored. */
  publish(event: AnyCloudEvent): Promise<void>;
}

export interface RunningIngress {
  /** `http://127.0.0.1:<port>/<namespace>/<broker>`. */
  readonly url: string;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` (0 = any free port) and serves `target`. */
export async function startIngress(target: IngressTarget, port = 0): Promise<RunningIngress> {
  // A client that goes away mid-body (or a stop closing connections) ends its own request, never the process.
  const server: Server = createServer((req, res) => void handleIngress(target, req, res).catch(() => res.destroy()));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}${target.path}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function handleIngress(target: IngressTarget, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '').split('?')[0];
  if (req.method === 'GET' && path === '/metrics') {
    res.writeHead(200, { 'content-type': target.registry.contentType }).end(await target.registry.metrics());
    return;
  }
  if (req.method !== 'POST' || path !== target.path) {
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'SSIS_NOT_FOUND', message: `broker ingress is POST ${target.path}` }));
    return;
  }
  if (!target.accepting()) {
    res.writeHead(503).end();
    return;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    await target.publish(fromHttpAnyEvent({ headers: req.headers, body: Buffer.concat(chunks) }));
    res.writeHead(202).end();
  } catch (err) {
    const e = asSsisError(err);
    res.writeHead(e.retriable ? 503 : 400, { 'content-type': 'application/json' }).end(JSON.stringify(e.toJSON()));
  }
}
