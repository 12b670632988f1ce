import { expect } from 'chai';
import { connect } from 'node:net';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sequentialIds, ManualClock } from '../../../core/common/ports';
import { toHttpBinary } from '../../../events/codec/http';
import type { SsisEvent } from '../../../events/envelope';
import { backoffMs, EmbeddedBroker } from '../../../infra/broker/embedded-broker';
import type { TriggerManifest } from '../../../infra/knative/types';
import { deliveryWith, manifestsWith, triggerFor } from '../../support/broker-manifests';

interface Received {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly bytes: Buffer;
}

type Responder = (r: Received, n: number) => { status: number; headers?: Record<string, string>; body?: string } | Promise<{ status: number; headers?: Record<string, string>; body?: string }>;

/** A real HTTP subscriber that records what it gets and answers as told. */
async function subscriber(respond: Responder): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const bytes = Buffer.concat(chunks);
      const r = { path: req.url ?? '', headers: req.headers, body: bytes.toString('utf8'), bytes };
      received.push(r);
      void Promise.resolve(respond(r, received.length)).then((a) => {
        res.writeHead(a.status, a.headers ?? {});
        res.end(a.body ?? '');
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

const delivery = deliveryWith;
const trigger = triggerFor;
const manifests = manifestsWith;

const ids = sequentialIds('e');
function event(type: string, key: string, data: Record<string, unknown> = {}): SsisEvent {
  return { specversion: '1.0', id: ids.next(), type, source: '/test', subject: key, time: '2026-11-23T00:00:00.000Z', datacontenttype: 'application/json', partitionkey: key, data };
}

describe('infra/broker embedded broker (Knative Kafka Broker semantics)', () => {
  const servers: Server[] = [];
  let broker: EmbeddedBroker | undefined;
  const sleeps: number[] = [];
  const start = async (triggers: TriggerManifest[], urls: Record<string, string>): Promise<EmbeddedBroker> => {
    broker = new EmbeddedBroker({
      manifests: manifests(triggers),
      resolve: (d) => ('kind' in d ? urls[d.name] : d.uri),
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
      now: new ManualClock(1000).nowMs.bind(new ManualClock(1000)),
    });
    await broker.start();
    return broker;
  };
  afterEach(async () => {
    await broker?.stop();
    for (const s of servers.splice(0)) s.close();
    sleeps.length = 0;
  });

  it('delivers each event to the Triggers whose filters match, in binary mode with Prefer: reply', async () => {
    const a = await subscriber(() => ({ status: 204 }));
    const b = await subscriber(() => ({ status: 204 }));
    servers.push(a.server, b.server);
    const br = await start([trigger('a', 'com.example.a'), trigger('b', 'com.example.b')], { a: a.url, b: b.url });
    await br.publish(event('com.example.a', 'k1'));
    await br.publish(event('com.example.b', 'k1'));
    await br.publish(event('com.example.c', 'k1'));
    await br.idle();
    expect(a.received.map((r) => r.headers['ce-type'])).to.deep.equal(['com.example.a']);
    expect(b.received.map((r) => r.headers['ce-type'])).to.deep.equal(['com.example.b']);
    expect(a.received[0]!.headers['prefer']).to.equal('reply');
    expect(a.received[0]!.headers['kn-namespace']).to.equal('ssis');
    expect(a.received[0]!.headers['ce-partitionkey']).to.equal('k1');
    expect(br.events()).to.have.length(3);
  });

  it('survives a client that disconnects in the middle of its body, and keeps answering', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown): void => {
      rejections.push(reason);
    };
    process.on('unhandledRejection', onRejection);
    broker = new EmbeddedBroker({ manifests: manifests([]), resolve: () => undefined });
    const ingress = await broker.start();
    const { hostname, port, pathname } = new URL(ingress);
    await new Promise<void>((resolve) => {
      const sock = connect(Number(port), hostname, () => {
        sock.write(`POST ${pathname} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"partial":`);
        setTimeout(() => {
          sock.destroy();
          resolve();
        }, 50);
      });
    });
    await new Promise((r) => setTimeout(r, 50));
    const res = await fetch(ingress, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status, 'the ingress still answers (400: not a CloudEvent)').to.equal(400);
    process.off('unhandledRejection', onRejection);
    expect(rejections.map(String), 'no unhandled rejection (Node would exit on one)').to.deep.equal([]);
  });

  it('keeps order per partition key on an ordered Trigger, even when early events are slow', async () => {
    const s = await subscriber(async (r) => {
      const n = Number((JSON.parse(r.body) as { n: number }).n);
      await new Promise((res) => setTimeout(res, n % 3 === 0 ? 15 : 1));
      return { status: 204 };
    });
    servers.push(s.server);
    const br = await start([trigger('o', 'com.example.o')], { o: s.url });
    for (let n = 0; n < 12; n++) await br.publish(event('com.example.o', n % 2 === 0 ? 'even' : 'odd', { n }));
    await br.idle();
    const order = (key: string): number[] => s.received.filter((r) => r.headers['ce-partitionkey'] === key).map((r) => (JSON.parse(r.body) as { n: number }).n);
    expect(order('even')).to.deep.equal([0, 2, 4, 6, 8, 10]);
    expect(order('odd')).to.deep.equal([1, 3, 5, 7, 9, 11]);
  });

  it('retries retriable statuses with back-off and succeeds', async () => {
    const s = await subscriber((_r, n) => ({ status: n < 3 ? 503 : 204 }));
    servers.push(s.server);
    const br = await start([trigger('r', 'com.example.r')], { r: s.url });
    await br.publish(event('com.example.r', 'k'));
    await br.idle();
    expect(s.received).to.have.length(3);
    expect(sleeps).to.deep.equal([10, 20]); // linear: delay × n
    expect(br.deadLetters()).to.have.length(0);
  });

  it('dead-letters after the last retry, with the Knative error extensions', async () => {
    const s = await subscriber(() => ({ status: 500, body: 'boom' }));
    servers.push(s.server);
    const br = await start([trigger('d', 'com.example.d', { delivery: delivery({ backoffPolicy: 'exponential' }) })], { d: s.url });
    await br.publish(event('com.example.d', 'k'));
    await br.idle();
    expect(s.received).to.have.length(3); // retry 2 → 3 attempts
    expect(sleeps).to.deep.equal([20, 40]); // exponential: delay × 2^n
    const [dl] = br.deadLetters();
    expect(dl!.event.extensions).to.include({ knativeerrorcode: 500, knativeerrordata: 'boom', knativeerrordest: s.url });
  });

  it('dead-letters a non-retriable 4xx at once', async () => {
    const s = await subscriber(() => ({ status: 422, body: '{"code":"SSIS_STALE_DECISION"}' }));
    servers.push(s.server);
    const br = await start([trigger('n', 'com.example.n')], { n: s.url });
    await br.publish(event('com.example.n', 'k'));
    await br.idle();
    expect(s.received).to.have.length(1);
    expect(br.deadLetters()[0]!.errorCode).to.equal(422);
  });

  it('stores a reply event and routes it on; a non-event body fails the delivery', async () => {
    const reply = event('com.example.reply', 'k', { ok: true });
    const first = await subscriber(() => {
      const m = toHttpBinary(reply);
      return { status: 200, headers: m.headers, body: m.body };
    });
    const second = await subscriber(() => ({ status: 204 }));
    const junk = await subscriber(() => ({ status: 200, body: 'not an event' }));
    servers.push(first.server, second.server, junk.server);
    const br = await start(
      [trigger('first', 'com.example.start'), trigger('second', 'com.example.reply'), trigger('junk', 'com.example.junk')],
      { first: first.url, second: second.url, junk: junk.url },
    );
    await br.publish(event('com.example.start', 'k'));
    await br.publish(event('com.example.junk', 'k'));
    await br.idle();
    expect(second.received.map((r) => r.headers['ce-id'])).to.deep.equal([reply.id]);
    expect(br.events().map((e) => e.event.type)).to.include('com.example.reply');
    expect(junk.received).to.have.length(3);
    expect(br.deadLetters().map((d) => d.trigger)).to.deep.equal(['junk']);
  });

  it('ingress answers 202 for a CloudEvent and 400 naming the problem otherwise', async () => {
    const br = await start([], {});
    const ok = toHttpBinary(event('com.example.x', 'k'));
    expect((await fetch(br.url, { method: 'POST', headers: ok.headers, body: ok.body })).status).to.equal(202);
    const bad = await fetch(br.url, { method: 'POST', headers: { 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-type': 't', 'ce-source': '/s' }, body: '{}' });
    expect(bad.status).to.equal(400);
    expect(JSON.stringify(await bad.json())).to.contain('id');
    expect((await fetch(br.url.replace('/ssis/default', '/other'), { method: 'POST', body: '' })).status).to.equal(404);
  });

  describe('carries any valid CloudEvent, its data and content type as they came in', () => {
    const ce = (id: string, type: string, extra: Record<string, string> = {}): Record<string, string> => ({
      'ce-specversion': '1.0', 'ce-id': id, 'ce-type': type, 'ce-source': '/producer', 'ce-time': '2026-11-23T00:00:00Z', ...extra,
    });
    const xml = '<?xml version="1.0" encoding="UTF-8"?>\n<reading unit="°C">21.5</reading>';
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const opaque = Buffer.from([0xff, 0x00, 0xfe, 0x80, 0x0a, 0xc3]); // not UTF-8
    const cases: readonly { name: string; type: string; headers: Record<string, string>; body: Buffer; contentType: string | undefined; data: Buffer }[] = [
      { name: 'a text/plain event', type: 'com.example.text', headers: { ...ce('t-1', 'com.example.text'), 'content-type': 'text/plain; charset=utf-8' }, body: Buffer.from('héllo\r\nworld  ', 'utf8'), contentType: 'text/plain; charset=utf-8', data: Buffer.from('héllo\r\nworld  ', 'utf8') },
      { name: 'an XML event', type: 'com.example.xml', headers: { ...ce('x-1', 'com.example.xml'), 'content-type': 'application/xml' }, body: Buffer.from(xml, 'utf8'), contentType: 'application/xml', data: Buffer.from(xml, 'utf8') },
      {
        name: 'a structured event with data_base64',
        type: 'com.example.image',
        headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
        body: Buffer.from(JSON.stringify({ specversion: '1.0', id: 'b-1', type: 'com.example.image', source: '/producer', datacontenttype: 'image/png', data_base64: png.toString('base64') })),
        contentType: 'image/png',
        data: png,
      },
      { name: 'a binary event without datacontenttype', type: 'com.example.opaque', headers: ce('o-1', 'com.example.opaque'), body: opaque, contentType: undefined, data: opaque },
    ];
    for (const c of cases) {
      it(`accepts ${c.name} (202) and delivers it intact to a Trigger subscriber`, async () => {
        const s = await subscriber(() => ({ status: 204 }));
        servers.push(s.server);
        const br = await start([trigger('t', c.type)], { t: s.url });
        const res = await fetch(br.url, { method: 'POST', headers: c.headers, body: c.body });
        expect(res.status, await res.text()).to.equal(202);
        await br.idle();
        expect(s.received).to.have.length(1);
        const [got] = s.received;
        expect(got!.bytes.equals(c.data), `body ${got!.bytes.toString('hex')}`).to.equal(true);
        expect(got!.headers['content-type']).to.equal(c.contentType);
        expect(got!.headers['ce-type']).to.equal(c.type);
        expect(got!.headers['ce-source']).to.equal('/producer');
        expect(br.events()[0]!.event.data_base64).to.equal(c.data.toString('base64'));
      });
    }

    it('passes an event without time on without one', async () => {
      const s = await subscriber(() => ({ status: 204 }));
      servers.push(s.server);
      const br = await start([trigger('t', 'com.example.text')], { t: s.url });
      const headers = { ...ce('t-2', 'com.example.text'), 'content-type': 'text/plain' };
      delete (headers as Record<string, string | undefined>)['ce-time'];
      expect((await fetch(br.url, { method: 'POST', headers, body: 'tick' })).status).to.equal(202);
      await br.idle();
      expect(s.received[0]!.headers).to.not.have.property('ce-time');
      expect(s.received[0]!.body).to.equal('tick');
    });

    it('still holds ssis.* events to the SSIS contract: JSON data', async () => {
      const br = await start([], {});
      const res = await fetch(br.url, { method: 'POST', headers: { ...ce('s-1', 'ssis.scale.decided', { 'ce-partitionkey': 'gpt2' }), 'content-type': 'text/plain' }, body: 'scale up' });
      expect(res.status).to.equal(400);
      expect(JSON.stringify(await res.json())).to.contain('datacontenttype');
    });

    it('refuses what is not a valid CloudEvent with 400 naming the attribute', async () => {
      const br = await start([], {});
      const valid = { ...ce('v-1', 'com.example.text'), 'content-type': 'text/plain' };
      for (const attribute of ['id', 'source', 'type', 'specversion']) {
        const headers: Record<string, string> = { ...valid };
        delete headers[`ce-${attribute}`];
        const res = await fetch(br.url, { method: 'POST', headers, body: 'x' });
        expect(res.status, attribute).to.equal(400);
        const issues = ((await res.json()) as { issues: { field: string; message: string }[] }).issues;
        expect(issues, attribute).to.deep.include({ field: attribute, message: 'is required' });
      }
      const wrongVersion = await fetch(br.url, { method: 'POST', headers: { ...valid, 'ce-specversion': '0.3' }, body: 'x' });
      expect(wrongVersion.status).to.equal(400);
      expect(((await wrongVersion.json()) as { issues: unknown[] }).issues).to.deep.equal([{ field: 'specversion', message: 'must be 1.0, not "0.3"' }]);
      const badBase64 = await fetch(br.url, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify({ specversion: '1.0', id: 'b', type: 't', source: '/s', data_base64: 'not base64!' }),
      });
      expect(badBase64.status).to.equal(400);
      expect(JSON.stringify(await badBase64.json())).to.contain('data_base64');
      expect(br.events()).to.have.length(0);
    });
  });

  it('computes Knative back-off delays', () => {
    expect(backoffMs(delivery({ backoffPolicy: 'linear', backoffDelayMs: 200 }), 3)).to.equal(600);
    expect(backoffMs(delivery({ backoffPolicy: 'exponential', backoffDelayMs: 200 }), 3)).to.equal(1600);
  });
});
