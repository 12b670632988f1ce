/**
 * The few HTTP calls the engine tests make against a real llama-server: a JSON POST, a streamed
 * POST read as Server-Sent Events, and a /metrics scrape through the project's own exposition
 * parser (the one the sample function uses on engines).
 */
import { request, type IncomingMessage } from 'node:http';
import { parseExposition, type ExpositionSample } from '../../../infra/metrics/exposition';

export async function postJson(url: string, body: unknown, timeoutMs = 60_000): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

export async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  return res.json();
}

export interface SseStream {
  readonly status: number;
  readonly contentType: string;
  /** The next event's `data:` payload, or undefined once the stream has ended. */
  next(): Promise<string | undefined>;
  /** Disconnects, as a client that goes away does. */
  abort(): void;
}

/**
 * POSTs `body` and reads the answer as SSE, one event at a time, on a connection of its own:
 * llama-server closes the connection after every streamed answer although it offered keep-alive,
 * so a pooled client (fetch) that reuses it for the next request fails with "other side closed".
 */
export async function postSse(url: string, body: unknown): Promise<SseStream> {
  const payload = JSON.stringify(body);
  const res = await new Promise<IncomingMessage>((done, fail) => {
    const req = request(url, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', connection: 'close', 'content-length': Buffer.byteLength(payload) },
    }, done);
    req.once('error', fail);
    req.end(payload);
  });
  res.setEncoding('utf8');
  const pending: string[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  res.on('data', (chunk: string) => {
    pending.push(chunk.replace(/\r\n/g, '\n'));
    wake?.();
  });
  const finish = (): void => {
    ended = true;
    wake?.();
  };
  res.once('end', finish);
  res.once('close', finish);
  res.once('error', finish);
  let buffered = '';
  const next = async (): Promise<string | undefined> => {
    for (;;) {
      const end = buffered.indexOf('\n\n');
      if (end >= 0) {
        const event = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const data = event.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice('data:'.length).trimStart());
        if (data.length > 0) return data.join('\n');
        continue;
      }
      if (pending.length > 0) {
        buffered += pending.splice(0).join('');
        continue;
      }
      if (ended) return undefined;
      await new Promise<void>((done) => (wake = done));
      wake = undefined;
    }
  };
  return {
    status: res.statusCode ?? 0,
    contentType: String(res.headers['content-type'] ?? ''),
    next,
    abort: () => res.destroy(),
  };
}

export interface MetricsPage {
  readonly samples: readonly ExpositionSample[];
  /** `# TYPE` of each metric family. */
  readonly types: ReadonlyMap<string, string>;
  value(name: string): number;
}

export async function scrapeMetrics(baseUrl: string): Promise<MetricsPage> {
  const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status} ${text}`);
  const samples = parseExposition(text);
  const types = new Map<string, string>();
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(match[1] ?? '', match[2] ?? '');
  return {
    samples,
    types,
    value(name) {
      const sample = samples.find((s) => s.name === name);
      if (sample === undefined) throw new Error(`no ${name} on /metrics`);
      return sample.value;
    },
  };
}
