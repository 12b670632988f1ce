/**
 * What the Kafka broker mode writes, read back from a real Apache Kafka: the Knative Kafka
 * Broker's topic and group names, and its record layout byte for byte (key, headers in order,
 * value), so records are interchangeable with those of Knative's broker (notes/knative-kafka.md §1).
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { toHttpBinary } from '../../../events/codec/http';
import { SCALE_DECIDED } from '../../../events/scale-decided';
import { KafkaBroker } from '../../../infra/kafka/kafka-broker';
import { readTopic } from '../../../infra/kafka/topic-reader';
import { loadManifests } from '../../../infra/knative/manifests';
import { ROOT } from '../../e2e/helpers';
import { pinnedScaleDecided, TRACEPARENT } from '../../events/fixtures';
import { sharedKafka } from './kafka-fixture';


describe('kafka broker mode: names and record layout on a real Kafka', function () {
  this.timeout(60_000);
  const manifests = loadManifests(join(ROOT, 'knative'));
  let broker: KafkaBroker;
  let bootstrap: string;

  before(async () => {
    bootstrap = (await sharedKafka()).bootstrap;
    // Knative's own names, no test suffix: this is the layout a cluster shares with us.
    broker = new KafkaBroker({ brokers: [bootstrap], manifests, resolve: () => undefined });
    await broker.start();
  });
  after(async () => {
    await broker?.stop();
  });

  it('uses the topic knative-broker-<ns>-<broker> with the broker config\'s partitions, and the KafkaSink topic', async () => {
    expect(broker.names.topic).to.equal('knative-broker-ssis-default');
    expect(broker.names.sinkTopic('ssis-dead-letter')).to.equal('ssis-dead-letter');
    const admin = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: ['knative-broker-ssis-default', 'ssis-dead-letter'] });
      expect(topics.map((t) => t.partitions.length)).to.deep.equal([10, 10]);
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
      for (const t of manifests.triggers) expect(groups).to.include(`knative-trigger-ssis-${t.name}`);
    } finally {
      await admin.disconnect();
    }
  });

  it('stores an event POSTed to the ingress as Knative does, byte for byte', async () => {
    const ev = pinnedScaleDecided();
    const message = toHttpBinary(ev);
    const res = await fetch(broker.url, { method: 'POST', headers: message.headers, body: message.body });
    expect(res.status).to.equal(202);

    const records = (await readTopic({ brokers: [bootstrap], topic: 'knative-broker-ssis-default' })).filter((r) => r.event?.id === ev.id);
    expect(records).to.have.length(1);
    const raw = records[0]!.raw;
    expect(raw.key!.equals(Buffer.from('gpt2', 'utf8'))).to.equal(true);
    expect(Object.entries(raw.headers ?? {}).map(([k, v]) => [k, (v as Buffer).toString('hex')])).to.deep.equal(
      [
        ['ce_specversion', '1.0'],
        ['ce_id', 'evt-1'],
        ['ce_source', '/ssis/functions/request'],
        ['ce_type', 'ssis.scale.decided'],
        ['ce_time', '2026-11-03T10:00:00.000Z'],
        ['ce_subject', 'gpt2'],
        ['ce_partitionkey', 'gpt2'],
        ['ce_traceparent', TRACEPARENT],
        ['content-type', 'application/json'],
      ].map(([k, v]) => [k, Buffer.from(v!, 'utf8').toString('hex')]),
    );
    const expectedValue =
      '{"decisionId":"dec-42","service":"gpt2","modelId":"openai-community/gpt2","action":"cold-start","policy":"cold-start",' +
      '"fromGeneration":0,"current":{"profile":null,"gpuModel":null,"replicas":0},' +
      '"target":{"profile":"1g.10gb","gpuModel":"A100-SXM4-80GB","replicas":1},' +
      '"reason":"request for a service at zero replicas","decidedAt":"2026-11-03T10:00:00.000Z"}';
    expect(raw.value!.equals(Buffer.from(expectedValue, 'utf8'))).to.equal(true);
    expect(raw.timestamp).to.equal('1793700000000');
    expect(records[0]!.event).to.deep.equal(ev);
  });

  it('stores any valid CloudEvent with its data as the value, byte for byte: text, and bytes without content type', async () => {
    const ce = (id: string): Record<string, string> => ({ 'ce-specversion': '1.0', 'ce-id': id, 'ce-type': 'com.example.note', 'ce-source': '/notes', 'ce-time': '2026-11-03T10:00:00Z' });
    const text = Buffer.from('<note>héllo</note>\r\n', 'utf8');
    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x80]);
    expect((await fetch(broker.url, { method: 'POST', headers: { ...ce('note-text'), 'content-type': 'application/xml' }, body: text })).status).to.equal(202);
    expect((await fetch(broker.url, { method: 'POST', headers: ce('note-bytes'), body: bytes })).status).to.equal(202);

    const records = (await readTopic({ brokers: [bootstrap], topic: 'knative-broker-ssis-default' })).filter((r) => r.event?.id.startsWith('note-'));
    const byId = new Map(records.map((r) => [r.event!.id, r]));
    const xml = byId.get('note-text')!.raw;
    expect(xml.value!.equals(text)).to.equal(true);
    expect(Object.entries(xml.headers ?? {}).map(([k, v]) => [k, String(v)])).to.deep.equal([
      ['ce_specversion', '1.0'], ['ce_id', 'note-text'], ['ce_source', '/notes'], ['ce_type', 'com.example.note'], ['ce_time', '2026-11-03T10:00:00Z'], ['content-type', 'application/xml'],
    ]);
    const opaque = byId.get('note-bytes')!;
    expect(opaque.raw.value!.equals(bytes)).to.equal(true);
    expect(Object.keys(opaque.raw.headers ?? {})).to.not.include('content-type');
    expect(opaque.event!.data_base64).to.equal(bytes.toString('base64'));
  });

  it('refuses an invalid CloudEvent at the ingress with 400 and stores nothing', async () => {
    const res = await fetch(broker.url, { method: 'POST', headers: { 'ce-specversion': '1.0', 'ce-type': SCALE_DECIDED, 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).to.equal(400);
  });
});
