import { expect } from 'chai';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { postHttp } from '../../../infra/http/post';

interface Harness {
  readonly url: string;
  readonly connections: Socket[];
  close(): Promise<void>;
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: string, requestOnSocket: number) => void): Promise<Harness> {
  const connections: Socket[] = [];
  const perSocket = new Map<Socket, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      handler(req, res, Buffer.concat(chunks).toString('utf8'), n);
    });
  });
  server.on('connection', (s: Socket) => connections.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fn`,
    connections,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('infra/http postHttp (the brokers\' delivery client)', () => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  it('POSTs headers and a UTF-8 body and returns status, headers and body of any status', async () => {
    harness = await serve((req, res, body) => {
      res.writeHead(req.headers['ce-type'] === 'ssis.test' ? 409 : 500, { 'content-type': 'text/plain', 'ce-id': 'reply-1' }).end(`got ${body} (${req.headers['content-length']} bytes)`);
    });
    const res = await postHttp(harness.url, { headers: { 'ce-type': 'ssis.test', 'content-type': 'application/json' }, body: '{"model":"Llama-3.1-8B","note":"µ→"}', timeoutMs: 2_000 });
    expect(res.status).to.equal(409);
    expect(res.headers['ce-id']).to.equal('reply-1');
    expect(res.body).to.equal(`got {"model":"Llama-3.1-8B","note":"µ→"} (${Buffer.byteLength('{"model":"Llama-3.1-8B","note":"µ→"}')} bytes)`);
  });

  it('reuses one kept-alive connection for sequential deliveries', async () => {
    harness = await serve((_req, res) => res.writeHead(202).end());
    for (let i = 0; i < 5; i++) expect((await postHttp(harness.url, { headers: {}, body: `{"i":${i}}`, timeoutMs: 2_000 })).status).to.equal(202);
    expect(harness.connections).to.have.length(1);
  });

  it('gives up after timeoutMs on a subscriber that never answers', async () => {
    harness = await serve(() => undefined);
    const started = Date.now();
    let error: unknown;
    await postHttp(harness.url, { headers: {}, body: '{}', timeoutMs: 150 }).catch((err: unknown) => (error = err));
    expect(String(error)).to.contain('no answer within 150 ms');
    expect(Date.now() - started).to.be.lessThan(2_000);
  });

  it('(fault injection) retries once on a fresh socket when the server closed the pooled one under the request', async () => {
    // The second request on a connection finds it reset, as when a server's keep-alive timeout fires as the client reuses it.
    harness = await serve((_req, res, _body, requestOnSocket) => {
      if (requestOnSocket >= 2) res.socket?.destroy();
      else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    expect((await postHttp(harness.url, { headers: {}, body: '{}', timeoutMs: 2_000 })).body).to.equal('ok');
    expect((await postHttp(harness.url, { headers: {}, body: '{}', timeoutMs: 2_000 })).body).to.equal('ok');
    expect(harness.connections).to.have.length(2);
  });

  it('refuses a URL that is not http(s), naming the protocol', async () => {
    let error: unknown;
    await postHttp('ftp://127.0.0.1/fn', { headers: {}, body: '{}', timeoutMs: 500 }).catch((err: unknown) => (error = err));
    expect(String(error)).to.contain('unsupported protocol ftp:');
  });
});
