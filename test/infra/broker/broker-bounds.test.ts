/**
 * What the embedded broker holds and writes is bounded, and survives its restart: offsets of the
 * event log and the dead-letter log continue after a restart; memory keeps only a window of
 * recent events (the file keeps all); foreign event types do not become metric label values;
 * per-event warnings are rate-limited.
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnyCloudEvent } from '../../../events/envelope';
import { EmbeddedBroker } from '../../../infra/broker/embedded-broker';
import { fileEventLog, type LoggedEvent } from '../../../infra/broker/event-log';
import type { Delivery, TriggerManifest } from '../../../infra/knative/types';
import { deliveryWith, manifestsWith, triggerFor } from '../../support/broker-manifests';
import { RecordingLogger, type LogLine } from '../../functions/helpers';

const delivery = (over: Partial<Delivery> = {}): Delivery => deliveryWith({ retry: 0, backoffDelayMs: 1, ...over });
const trigger = (name: string, type: string, over: Partial<TriggerManifest> = {}): TriggerManifest => triggerFor(name, type, { ordered: false, delivery: delivery(), ...over });
const manifests = manifestsWith;

let n = 0;
const event = (type: string, data: unknown = {}): AnyCloudEvent => ({ specversion: '1.0', id: `ev-${++n}`, type, source: '/test', partitionkey: 'k', datacontenttype: 'application/json', data });

const fileOffsets = (path: string): number[] => readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as LoggedEvent).offset);


describe('infra/broker embedded broker: bounds and restarts', () => {
  const servers: Server[] = [];
  const brokers: EmbeddedBroker[] = [];
  afterEach(async () => {
    for (const b of brokers.splice(0)) await b.stop();
    for (const s of servers.splice(0)) s.close();
  });

  async function failingSubscriber(status: number): Promise<string> {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(status).end('nope'));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('continues the offsets of its event log and dead-letter log after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssis-broker-restart-'));
    const url = await failingSubscriber(422);
    const run = async (count: number): Promise<EmbeddedBroker> => {
      const broker = new EmbeddedBroker({
        manifests: manifests([trigger('t', 'com.example.t')]), resolve: () => url,
        eventLog: fileEventLog(join(dir, 'events.jsonl')), deadLetterLog: fileEventLog(join(dir, 'dead-letter.jsonl')),
      });
      await broker.start();
      for (let i = 0; i < count; i++) await broker.publish(event('com.example.t'));
      await broker.idle();
      await broker.stop();
      return broker;
    };
    const first = await run(3);
    expect(first.events().map((e) => e.offset)).to.deep.equal([0, 1, 2]);
    const second = await run(2);
    expect(second.events().map((e) => e.offset)).to.deep.equal([3, 4]);
    expect(fileOffsets(join(dir, 'events.jsonl'))).to.deep.equal([0, 1, 2, 3, 4]);
    expect(fileOffsets(join(dir, 'dead-letter.jsonl'))).to.deep.equal([0, 1, 2, 3, 4]);
  });

  it('keeps only a bounded window of recent events in memory; the file log keeps every one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssis-broker-window-'));
    const broker = new EmbeddedBroker({
      manifests: manifests([]), resolve: () => undefined, eventLog: fileEventLog(join(dir, 'events.jsonl')),
      recent: { maxItems: 100, maxBytes: 2_500_000 },
    });
    brokers.push(broker);
    for (let i = 0; i < 5; i++) await broker.publish(event('com.example.big', { blob: 'x'.repeat(1_000_000) }));
    expect(broker.events().map((e) => e.offset)).to.deep.equal([3, 4]);
    for (let i = 0; i < 300; i++) await broker.publish(event('com.example.small'));
    expect(broker.events()).to.have.length(100);
    expect(broker.events()[0]!.offset).to.equal(205);
    await broker.stop();
    expect(fileOffsets(join(dir, 'events.jsonl'))).to.have.length(305);
  });

  it('counts event types it does not know as "other" in ssis_broker_events_total', async () => {
    const broker = new EmbeddedBroker({ manifests: manifests([trigger('t', 'com.example.routed')]), resolve: () => undefined });
    brokers.push(broker);
    await broker.publish(event('ssis.request.received', { service: 'gpt2' }));
    await broker.publish(event('dev.knative.sources.ping'));
    await broker.publish(event('com.example.routed'));
    for (let i = 0; i < 50; i++) await broker.publish(event(`attacker.type.${i}`));
    const values = (await broker.registry.getSingleMetric('ssis_broker_events_total')!.get()).values;
    const byType = Object.fromEntries(values.map((v) => [String(v.labels['type']), v.value]));
    expect(byType).to.deep.equal({ 'ssis.request.received': 1, 'dev.knative.sources.ping': 1, 'com.example.routed': 1, other: 50 });
  });

  it('rate-limits its per-event warnings: a flood of failing deliveries writes a bounded number of lines', async () => {
    const lines: LogLine[] = [];
    const url = await failingSubscriber(500);
    const broker = new EmbeddedBroker({
      manifests: manifests([trigger('t', 'com.example.t')]), resolve: () => url, logger: new RecordingLogger(lines), sleep: () => Promise.resolve(),
      eventWarnings: { maxLines: 5, windowMs: 60_000, summaryTimer: false },
    });
    brokers.push(broker);
    for (let i = 0; i < 200; i++) await broker.publish(event('com.example.t'));
    await broker.idle();
    await broker.stop();
    const failed = lines.filter((l) => l.msg === 'delivery failed');
    const lettered = lines.filter((l) => l.msg === 'event dead-lettered');
    expect(failed).to.have.length(5);
    expect(lettered).to.have.length(5);
    const summaries = lines.filter((l) => l.msg.startsWith('suppressed'));
    expect(summaries.map((l) => l.fields['suppressed'])).to.have.members([195, 195]);
    expect(lines.length).to.be.at.most(12);
  });
});
