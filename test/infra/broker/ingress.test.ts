import { expect } from 'chai';
import { request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { Registry } from 'prom-client';
import { DEFAULT_MAX_JSON_DEPTH } from '../../../core/common/bounded-json';
import { SsisError } from '../../../core/errors';
import type { AnyCloudEvent } from '../../../events/envelope';
import { DEFAULT_MAX_EVENT_BODY_BYTES, startIngress, type IngressTarget, type RunningIngress } from '../../../infra/broker/ingress';

const PATH = '/ssis/default';
const BINARY = { 'ce-specversion': '1.0', 'ce-id': 'e-1', 'ce-type': 'com.example.text', 'ce-source': '/producer', 'content-type': 'text/plain' } as const;

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** A stub broker: records what it is asked to store, and who was authenticated before that. */
function stubTarget(over: Partial<IngressTarget> = {}): IngressTarget & { readonly published: AnyCloudEvent[] } {
  const published: AnyCloudEvent[] = [];
  return { path: PATH, registry: new Registry(), accepting: () => true, publish: (ev) => Promise.resolve(void published.push(ev)), published, ...over };
}

/**
 * Sends the request head (and `body`, if any) on a raw socket and reads until the server closes:
 * the answer must come without the client sending the body it announced.
 */
function rawExchange(url: string, headers: Record<string, string>, body = ''): Promise<Answer> {
  const { hostname, port, pathname } = new URL(url);
  const head = [`POST ${pathname} HTTP/1.1`, `host: ${hostname}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = connect(Number(port), hostname, () => sock.write(head + body));
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer; got so far: ${Buffer.concat(chunks).toString()}`));
    }, 5000);
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('end', () => {
      clearTimeout(timer);
      sock.destroy();
      const text = Buffer.concat(chunks).toString();
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]), body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
  });
}

/** POSTs `body` with fetch. */
async function post(url: string, headers: Record<string, string>, body: string | Buffer): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, body: await res.text() };
}

const codeOf = (a: Answer): unknown => (JSON.parse(a.body) as { code?: unknown }).code;

describe('infra/broker ingress: bounded intake', () => {
  let ingress: RunningIngress | undefined;
  const start = async (target: IngressTarget): Promise<string> => {
    ingress = await startIngress(target);
    return ingress.url;
  };
  afterEach(async () => {
    await ingress?.close();
    ingress = undefined;
  });

  it('takes a binary and a structured event up to the default bound of 1 MiB (202)', async () => {
    const target = stubTarget();
    const url = await start(target);
    expect(DEFAULT_MAX_EVENT_BODY_BYTES).to.equal(1 << 20);
    expect((await post(url, BINARY, 'x'.repeat(DEFAULT_MAX_EVENT_BODY_BYTES))).status).to.equal(202);
    const structured = JSON.stringify({ specversion: '1.0', id: 's-1', type: 'com.example.json', source: '/producer', datacontenttype: 'application/json', data: { ok: true } });
    expect((await post(url, { 'content-type': 'application/cloudevents+json; charset=utf-8' }, structured)).status).to.equal(202);
    expect(target.published.map((e) => e.id)).to.deep.equal(['e-1', 's-1']);
  });

  it('refuses at once with 413 when Content-Length exceeds the bound, before the body is sent', async () => {
    const target = stubTarget();
    const url = await start(target);
    const answer = await rawExchange(url, { ...BINARY, 'content-length': String(50 * 1024 * 1024) });
    expect(answer.status).to.equal(413);
    expect(codeOf(answer)).to.equal('SSIS_PAYLOAD_TOO_LARGE');
    expect((await rawExchange(url, { ...BINARY, 'content-length': String(DEFAULT_MAX_EVENT_BODY_BYTES + 1) })).status).to.equal(413);
    expect(target.published).to.have.length(0);
    expect((await post(url, BINARY, 'still serving')).status).to.equal(202);
  });

  it('takes its bound from the target (maxBodyBytes)', async () => {
    const url = await start(stubTarget({ maxBodyBytes: 100 }));
    expect((await post(url, BINARY, 'x'.repeat(100))).status).to.equal(202);
    expect((await rawExchange(url, { ...BINARY, 'content-length': '101' })).status).to.equal(413);
  });

  it('counts a chunked body as it streams and answers 413 at the bound, without waiting for the rest', async () => {
    const target = stubTarget({ maxBodyBytes: 64 * 1024 });
    const url = await start(target);
    const total = 50 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const { status, written } = await new Promise<{ status: number; written: number }>((resolve, reject) => {
      let written = 0;
      let answered = false;
      const req = request(url, { method: 'POST', headers: { ...BINARY, 'transfer-encoding': 'chunked' } }, (res: IncomingMessage) => {
        answered = true;
        res.resume();
        req.destroy();
        resolve({ status: res.statusCode ?? 0, written });
      });
      req.on('error', (err) => {
        if (!answered) reject(err);
      });
      const pump = (): void => {
        while (!answered && written < total) {
          written += chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
        if (!answered) req.end();
      };
      pump();
    });
    expect(status).to.equal(413);
    expect(written, 'the answer came long before the whole body was sent').to.be.below(total / 2);
    expect(target.published).to.have.length(0);
    expect((await post(url, BINARY, 'still serving')).status).to.equal(202);
  });

  it('with Expect: 100-continue, refuses a body over the bound without asking for it, and asks for one within', async () => {
    const url = await start(stubTarget({ maxBodyBytes: 1000 }));
    const exchange = (length: number): Promise<{ status: number; continued: boolean }> =>
      new Promise((resolve, reject) => {
        let continued = false;
        const req = request(url, { method: 'POST', headers: { ...BINARY, expect: '100-continue', 'content-length': String(length) } }, (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, continued });
        });
        req.on('continue', () => {
          continued = true;
          req.end('x'.repeat(length));
        });
        req.on('error', reject);
        req.flushHeaders();
      });
    expect(await exchange(5000)).to.deep.equal({ status: 413, continued: false });
    expect(await exchange(10)).to.deep.equal({ status: 202, continued: true });
  });

  it('refuses batched mode and structured formats other than JSON with 415, before reading the body', async () => {
    const url = await start(stubTarget());
    for (const contentType of ['application/cloudevents-batch+json', 'application/cloudevents+xml', 'application/cloudevents+avro']) {
      const answer = await rawExchange(url, { 'content-type': contentType, 'content-length': '1000' });
      expect(answer.status, contentType).to.equal(415);
      expect(codeOf(answer), contentType).to.equal('SSIS_UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('refuses a body that is neither binary mode (no ce-specversion) nor structured with 400 naming specversion, before reading it', async () => {
    const url = await start(stubTarget());
    for (const contentType of ['application/json', 'text/plain']) {
      const answer = await rawExchange(url, { 'content-type': contentType, 'ce-id': '1', 'content-length': '1000' });
      expect(answer.status, contentType).to.equal(400);
      expect((JSON.parse(answer.body) as { issues: unknown[] }).issues).to.deep.equal([{ field: 'specversion', message: 'is required' }]);
    }
  });

  it('refuses JSON nested deeper than the bound with 400 (structured event, binary data), never storing it', async () => {
    const target = stubTarget();
    const url = await start(target);
    const deep = `${'['.repeat(5000)}1${']'.repeat(5000)}`;
    const structured = `{"specversion":"1.0","id":"d-1","type":"com.example.json","source":"/p","datacontenttype":"application/json","data":${deep}}`;
    const s = await post(url, { 'content-type': 'application/cloudevents+json' }, structured);
    expect(s.status).to.equal(400);
    expect(s.body).to.contain('"field":"event"').and.to.contain(String(DEFAULT_MAX_JSON_DEPTH));
    const b = await post(url, { ...BINARY, 'content-type': 'application/json' }, deep);
    expect(b.status).to.equal(400);
    expect(b.body).to.contain('"field":"data"');
    expect(target.published).to.have.length(0);
  });

  describe('the authenticate hook (no scheme here: a stub stands in for one)', () => {
    const requireToken = (req: IncomingMessage): Promise<void> => {
      if (req.headers['authorization'] === 'Bearer good') return Promise.resolve();
      if (req.headers['authorization'] === 'Bearer other-tenant') return Promise.reject(new SsisError('SSIS_FORBIDDEN', 'this sender may not publish here'));
      return Promise.reject(new SsisError('SSIS_UNAUTHENTICATED', 'no valid credential'));
    };

    it('is called before the body is read, and its SsisError is answered with its status', async () => {
      const target = stubTarget({ authenticate: requireToken });
      const url = await start(target);
      // The body is announced (50 MB) but never sent: the refusal comes first, and is about the sender, not the size.
      const unauthenticated = await rawExchange(url, { ...BINARY, 'content-length': String(50 * 1024 * 1024) });
      expect(unauthenticated.status).to.equal(401);
      expect(codeOf(unauthenticated)).to.equal('SSIS_UNAUTHENTICATED');
      const forbidden = await rawExchange(url, { ...BINARY, authorization: 'Bearer other-tenant', 'content-length': '10' });
      expect(forbidden.status).to.equal(403);
      expect((await post(url, { ...BINARY, authorization: 'Bearer good' }, 'hello')).status).to.equal(202);
      expect(target.published).to.have.length(1);
    });

    it('answers a failure of the hook itself (not an SsisError) with 503, as any internal failure', async () => {
      const url = await start(stubTarget({ authenticate: () => Promise.reject(new Error('key store unreachable')) }));
      expect((await post(url, BINARY, 'x')).status).to.equal(503);
    });
  });
});
