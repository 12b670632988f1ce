/**
 * The broker ingress, the same for the embedded and the Kafka broker (the Knative Kafka Broker's
 * receiver, notes/knative-kafka.md §1.1), served on 127.0.0.1:
 * - `POST /<namespace>/<broker>`: one CloudEvent in binary or structured mode; 202 once stored,
 *   400 naming the problem when it is not a valid CloudEvent, 413 when the body is larger than the
 *   target's bound, 415 for batched mode or a structured format other than JSON, 503 while the
 *   broker stops or when storing failed in a way worth retrying (a retriable SsisError);
 * - `GET /metrics`: the broker's Prometheus registry;
 * - anything else: 404.
 * A broker carries any valid CloudEvent (CloudEvents 1.0): data in any media type, or without
 * one, is stored as received and delivered byte for byte (events/codec/http.ts fromHttpAnyEvent).
 * Only ssis.* events are held to the SSIS contract here; the functions check their own events.
 *
 * Every intake is bounded before it costs memory: the sender is authenticated (target.authenticate)
 * and the headers are judged (content mode, Content-Length) before a byte of the body is read;
 * the body is then counted as it streams and refused at the bound, never buffered whole first;
 * JSON nesting is bounded by the codec.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { asSsisError, SsisError } from '../../core/errors';
import { fromHttpAnyEvent } from '../../events/codec/http';
import type { AnyCloudEvent } from '../../events/envelope';
import { essence, isBatchMode, isStructuredMode, STRUCTURED_JSON_MEDIA_TYPE } from '../../events/media-type';

/** Kafka's default largest message (`message.max.bytes`, about 1 MiB): a bigger event could not be stored anyway. */
export const DEFAULT_MAX_EVENT_BODY_BYTES = 1 << 20;

/**
 * How long a refused sender's connection stays open after the answer, its further body read and
 * discarded: closing at once, with its bytes unread, resets the connection, and the sender may
 * then lose the answer it had not read yet.
 */
const REFUSED_LINGER_MS = 2000;

/** What the ingress needs of its broker. */
export interface IngressTarget {
  /** `/<namespace>/<broker>`. */
  readonly path: string;
  readonly registry: Registry;
  /** The largest body taken, in bytes (default DEFAULT_MAX_EVENT_BODY_BYTES); larger ones get 413. */
  readonly maxBodyBytes?: number;
  /**
   * Judges the sender before its body is read (default: every sender is taken). To refuse, throw an
   * SsisError: it is answered with its status (SSIS_UNAUTHENTICATED 401, SSIS_FORBIDDEN 403; a
   * retriable one 503); anything else thrown counts as an internal failure (503).
   */
  readonly authenticate?: (req: IncomingMessage) => Promise<void>;
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
  const serve = (expectsContinue: boolean) => (req: IncomingMessage, res: ServerResponse): void => void handleIngress(target, req, res, expectsContinue).catch(() => res.destroy());
  const server: Server = createServer(serve(false));
  // A sender that asks (Expect: 100-continue) is told to go on only once the headers pass, so a refused body is never sent.
  server.on('checkContinue', serve(true));
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

async function handleIngress(target: IngressTarget, req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): Promise<void> {
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
  let bodyRead = false;
  try {
    await target.authenticate?.(req);
    const maxBodyBytes = target.maxBodyBytes ?? DEFAULT_MAX_EVENT_BODY_BYTES;
    checkContentMode(req.headers);
    checkDeclaredLength(req.headers, maxBodyBytes);
    if (expectsContinue) res.writeContinue();
    const body = await readBodyBounded(req, maxBodyBytes);
    bodyRead = true;
    await target.publish(fromHttpAnyEvent({ headers: req.headers, body }));
    res.writeHead(202).end();
  } catch (err) {
    const e = asSsisError(err);
    const body = JSON.stringify(e.toJSON());
    const headers = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
    if (bodyRead) res.writeHead(statusOf(e), headers).end(body);
    else refuseUnread(req, res, statusOf(e), headers, body);
  }
}

/**
 * Retriable failures are 503 (the sender tries again later); other SsisErrors keep their 4xx
 * status, and a non-retriable failure that is not the sender's (a 5xx code) is a plain 400, as
 * the Knative receiver answers an event it will not store.
 */
function statusOf(e: SsisError): number {
  if (e.retriable) return 503;
  return e.httpStatus >= 400 && e.httpStatus < 500 ? e.httpStatus : 400;
}

/**
 * The content mode, from the headers alone: binary mode carries `ce-specversion`; structured mode
 * is `application/cloudevents+json` (the only event format the codec reads); batched mode is not
 * taken (one event per request).
 * @throws {SsisError} SSIS_UNSUPPORTED_MEDIA_TYPE (415) for batched mode or another event format; SSIS_INVALID_EVENT (400) naming `specversion` for neither mode
 */
function checkContentMode(headers: IncomingHttpHeaders): void {
  const contentType = headers['content-type'];
  if (isBatchMode(contentType)) {
    throw new SsisError('SSIS_UNSUPPORTED_MEDIA_TYPE', 'batched mode (application/cloudevents-batch+json) is not supported: send one event per request', {
      issues: [{ field: 'content-type', message: 'batched mode is not supported' }],
    });
  }
  if (contentType !== undefined && isStructuredMode(contentType)) {
    if (essence(contentType) === STRUCTURED_JSON_MEDIA_TYPE) return;
    throw new SsisError('SSIS_UNSUPPORTED_MEDIA_TYPE', `structured mode takes only the JSON event format (${STRUCTURED_JSON_MEDIA_TYPE})`, {
      issues: [{ field: 'content-type', message: `must be ${STRUCTURED_JSON_MEDIA_TYPE} in structured mode` }],
    });
  }
  if (headers['ce-specversion'] === undefined) {
    throw new SsisError('SSIS_INVALID_EVENT', `invalid CloudEvent: specversion: is required (binary mode needs a ce-specversion header; structured mode needs content-type ${STRUCTURED_JSON_MEDIA_TYPE})`, {
      issues: [{ field: 'specversion', message: 'is required' }],
    });
  }
}

/** @throws {SsisError} SSIS_PAYLOAD_TOO_LARGE when Content-Length announces more than the bound */
function checkDeclaredLength(headers: IncomingHttpHeaders, maxBodyBytes: number): void {
  // Node's parser has already refused a Content-Length that is not a decimal number.
  const declared = headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBodyBytes) throw tooLarge(maxBodyBytes);
}

/**
 * The body, counted as it streams (Content-Length may be absent, with chunked encoding, or
 * understated): reading stops at the first chunk past the bound, so at most the bound plus one
 * chunk is ever held.
 * @throws {SsisError} SSIS_PAYLOAD_TOO_LARGE past the bound
 */
function readBodyBounded(req: IncomingMessage, maxBodyBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (): void => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= maxBodyBytes) {
        chunks.push(chunk);
        return;
      }
      stop();
      req.pause();
      reject(tooLarge(maxBodyBytes));
    };
    const onEnd = (): void => {
      stop();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      stop();
      reject(err);
    };
    const onClose = (): void => onError(new Error('the sender closed the connection before the end of its body'));
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

function tooLarge(maxBodyBytes: number): SsisError {
  return new SsisError('SSIS_PAYLOAD_TOO_LARGE', `the event is larger than the broker takes (${maxBodyBytes} bytes)`, {
    issues: [{ field: 'body', message: `must be at most ${maxBodyBytes} bytes` }],
    details: { maxBodyBytes },
  });
}

/**
 * Answers a request whose body was not read (refused before it, or stopped at the bound), then
 * closes the connection: what the sender still sends is discarded unbuffered for a short while
 * (REFUSED_LINGER_MS says why), never taken as the next request.
 */
function refuseUnread(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  res.writeHead(status, { ...headers, connection: 'close' }).end(body);
  res.once('finish', () => {
    req.resume();
    const linger = setTimeout(() => req.socket.destroy(), REFUSED_LINGER_MS);
    linger.unref();
    req.socket.once('close', () => clearTimeout(linger));
  });
}
