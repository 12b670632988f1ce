/**
 * The brokers' HTTP client for deliveries: one POST over node:http(s) with keep-alive agents.
 * Node's global fetch (undici, web streams, abort signals) cost the Kafka dispatcher more CPU
 * per delivery than decoding the record did (bench:kafka profile); a plain request on a pooled
 * socket does the same work for a fraction of it, which is what keeps the tail low on 2 cores.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body as UTF-8 text. */
  readonly body: string;
  /** The body as received, for data that is not text (a reply event's binary data). */
  readonly bytes: Buffer;
}

export interface PostOptions {
  readonly headers: Readonly<Record<string, string>>;
  /** Text is sent as UTF-8; a Buffer (an event's binary data) as it is. */
  readonly body: string | Buffer;
  /** The whole exchange, connect to last byte of the answer. */
  readonly timeoutMs: number;
}

// Idle sockets close before a Node server's default 5 s keep-alive timeout would close them
// under us (a reused socket closed by the server mid-request is the classic ECONNRESET).
const IDLE_SOCKET_MS = 4_000;
const httpAgent = new HttpAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS });
const httpsAgent = new HttpsAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS });

/**
 * POSTs and resolves with the answer, whatever its status.
 * @throws {Error} on a network error, a bad URL or the timeout (the caller decides about retries)
 */
export async function postHttp(url: string, opts: PostOptions): Promise<HttpResponse> {
  const target = new URL(url);
  try {
    return await once(target, opts);
  } catch (err) {
    // A pooled socket the server closed as we reused it: the request never reached a handler
    // that answered, so one immediate retry on a fresh socket is safe (deliveries are at least once anyway).
    if (err instanceof ReusedSocketReset) return once(target, opts);
    throw err;
  }
}

class ReusedSocketReset extends Error {}

function once(target: URL, opts: PostOptions): Promise<HttpResponse> {
  const secure = target.protocol === 'https:';
  if (!secure && target.protocol !== 'http:') return Promise.reject(new Error(`unsupported protocol ${target.protocol} in ${target.href}`));
  const body = typeof opts.body === 'string' ? Buffer.from(opts.body, 'utf8') : opts.body;
  return new Promise<HttpResponse>((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)(target, {
      method: 'POST',
      agent: secure ? httpsAgent : httpAgent,
      headers: { ...opts.headers, 'content-length': String(body.length) },
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      const code = (err as NodeJS.ErrnoException).code;
      reject(req.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE') ? new ReusedSocketReset(err.message) : err);
    };
    req.once('error', fail);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('error', fail);
      res.once('end', () => {
        clearTimeout(timer);
        const bytes = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: bytes.toString('utf8'), bytes });
      });
    });
    req.end(body);
  });
}
