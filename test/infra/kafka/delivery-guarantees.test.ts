/**
 * Delivery guarantees of the Kafka broker mode, against a real Apache Kafka:
 * - the broker restarted in the middle of a stream loses no event (and keeps per-key order);
 * - a dispatcher killed mid-batch (SIGKILL) resumes from its committed offsets, and the real
 *   reconfigure function, being idempotent, applies no decision twice;
 * - a poison event is dead-lettered (at once when refused with 400, after the Trigger's retries
 *   when it keeps failing with 5xx) while the rest keeps flowing.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { toKafkaRecord } from '../../../events/codec/kafka';
import type { SsisEvent } from '../../../events/envelope';
import { SCALE_DECIDED, type ScaleDecided } from '../../../events/scale-decided';
import { buildReconfigureFunction } from '../../../functions/reconfigure/index';
import type { SimulatedCluster } from '../../../infra/cluster/simulated';
import { KafkaBroker } from '../../../infra/kafka/kafka-broker';
import type { LocalKafka } from '../../../infra/kafka/local-kafka';
import { knativeNames } from '../../../infra/kafka/names';
import { readTopic } from '../../../infra/kafka/topic-reader';
import { loadManifests } from '../../../infra/knative/manifests';
import { ROOT } from '../../e2e/helpers';
import { eventOf } from '../../events/fixtures';
import { scaleDecided } from '../../events/fixtures';
import { CONFIG, newCluster } from '../../functions/helpers';
import { isolatedNames, sharedKafka } from './kafka-fixture';
import { functionServer, recordingSubscriber } from './subscriber';

const manifests = loadManifests(join(ROOT, 'knative'));
const onlyReconfigure = (t: { name: string }): boolean => t.name === 'ssis-reconfigure';

/**
 * The i-th decision of a chain for gpt2: each is computed from the generation the previous one produced.
 * No rollout runs here, so gpt2 never gets a replica: each is a cold start, as the policy allows.
 */
function chainDecision(i: number): SsisEvent<ScaleDecided> {
  const target = { profile: '1g.5gb', gpuModel: 'A100-SXM4-40GB', replicas: 1 };
  const data: ScaleDecided = {
    decisionId: `gpt2-g${i}-cold-start`,
    service: 'gpt2',
    modelId: 'openai-community/gpt2',
    action: 'cold-start',
    policy: 'cold-start',
    fromGeneration: i,
    current: { profile: null, gpuModel: null, replicas: 0 },
    target,
    reason: 'test chain',
    decidedAt: new Date().toISOString(),
  };
  return eventOf(SCALE_DECIDED, data, { source: '/ssis/functions/evaluate', ids: { next: () => `chain-${i}-${Math.random().toString(36).slice(2, 8)}` } });
}

/**
 * Records which decisions the cluster accepted (beginDecision true = applied), and ends each one's
 * rollout at once, standing in for the rollout function: the next decision of the chain would be
 * refused while one is rolling out.
 */
function spyApplied(cluster: SimulatedCluster): string[] {
  const applied: string[] = [];
  const begin = cluster.beginDecision.bind(cluster);
  cluster.beginDecision = async (service, decisionId, fromGeneration) => {
    const ok = await begin(service, decisionId, fromGeneration);
    if (ok) {
      applied.push(decisionId);
      await cluster.endRollout(service, decisionId);
    }
    return ok;
  };
  return applied;
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('kafka broker mode: delivery guarantees on a real Kafka', function () {
  this.timeout(120_000);
  let kafka: LocalKafka;
  before(async () => {
    kafka = await sharedKafka();
  });

  it('loses no event and keeps per-key order when Kafka restarts in the middle of a stream', async () => {
    const sub = await recordingSubscriber();
    const broker = new KafkaBroker({ brokers: [kafka.bootstrap], manifests, names: isolatedNames(manifests), resolve: () => sub.url, dispatch: onlyReconfigure, ingress: false });
    await broker.start();
    try {
      const total = 240;
      const sent: SsisEvent[] = [];
      let restart: Promise<void> | undefined;
      let publishRetries = 0;
      for (let i = 0; i < total; i++) {
        const ev = eventOf(SCALE_DECIDED, { ...scaleDecided, service: `svc${i % 4}`, decisionId: `d-${i}` }, { ids: { next: () => `stream-${i}` } });
        if (i === total / 3) restart = kafka.restart();
        // A publisher retries what the broker did not acknowledge, as the functions' senders do.
        for (;;) {
          try {
            await broker.publish(ev);
            break;
          } catch {
            publishRetries++;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
        sent.push(ev);
        await new Promise((r) => setTimeout(r, 5));
      }
      await restart;
      await broker.idle();
      const ids = new Set(sub.received.map((e) => e.id));
      expect(sent.filter((e) => !ids.has(e.id)).map((e) => e.id), 'events never delivered').to.deep.equal([]);
      for (let k = 0; k < 4; k++) {
        const firsts = [...new Set(sub.received.filter((e) => e.partitionkey === `svc${k}`).map((e) => Number(e.id.split('-')[1])))];
        expect(firsts, `order of svc${k}`).to.deep.equal([...firsts].sort((a, b) => a - b));
      }
      expect(publishRetries).to.be.at.least(0);
    } finally {
      await broker.stop();
      await sub.close();
    }
  });

  it('resumes from committed offsets after a dispatcher is killed mid-batch, applying no decision twice', async () => {
    const cluster = newCluster(4);
    await cluster.ensureService('gpt2', 'openai-community/gpt2');
    const applied = spyApplied(cluster);
    const fn = await functionServer(buildReconfigureFunction({ cluster, catalog: CONFIG.catalog, config: CONFIG.ssis, clock: { nowMs: () => Date.now() }, ids: { next: () => crypto.randomUUID() } }), 40);
    const suffix = `-kill-${Math.random().toString(36).slice(2, 8)}`;
    const names = knativeNames(manifests, suffix);
    const publisher = new KafkaBroker({ brokers: [kafka.bootstrap], manifests, names, resolve: () => undefined, dispatch: () => false, ingress: false });
    await publisher.start();
    const children: ChildProcess[] = [];
    const startChild = async (commitIntervalMs: number): Promise<ChildProcess> => {
      const child = spawn(process.execPath, ['--require', 'tsx/cjs', join(__dirname, 'dispatcher-child.ts')], {
        env: { ...process.env, BOOTSTRAP: kafka.bootstrap, SUFFIX: suffix, TARGET_URL: fn.url, COMMIT_INTERVAL_MS: String(commitIntervalMs) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => (d.toString().includes('ready') ? resolve() : undefined));
        child.once('exit', (code) => reject(new Error(`dispatcher exited with ${code}`)));
      });
      return child;
    };
    try {
      const decisions = Array.from({ length: 12 }, (_, i) => chainDecision(i));
      // The first dispatcher commits rarely, so its kill leaves delivered-but-uncommitted records.
      const first = await startChild(60_000);
      for (const d of decisions) await publisher.publish(d);
      await until('half of the chain applied', () => (applied.length >= 5 ? true : undefined), 30_000);
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
      const appliedAtKill = applied.length;
      expect(appliedAtKill).to.be.lessThan(decisions.length);

      await startChild(50);
      await until('the whole chain applied', () => (applied.length >= decisions.length ? true : undefined), 60_000);
      await new Promise((r) => setTimeout(r, 500)); // any late duplicate would show up here
      expect(applied).to.deep.equal(decisions.map((d) => d.data.decisionId));
      expect(cluster.getService('gpt2')!.generation).to.equal(decisions.length);
      const ignored = fn.logLines.filter((l) => l.includes('stale or duplicate decision ignored')).length;
      expect(ignored, 'records redelivered after the kill were recognised').to.be.at.least(1);
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await publisher.stop();
      await fn.close();
      await cluster.shutdown();
    }
  });

  it('dead-letters a schema-invalid event refused by the function (400) at once, and the rest keeps flowing', async () => {
    const cluster = newCluster(2);
    await cluster.ensureService('gpt2', 'openai-community/gpt2');
    const applied = spyApplied(cluster);
    const fn = await functionServer(buildReconfigureFunction({ cluster, catalog: CONFIG.catalog, config: CONFIG.ssis, clock: { nowMs: () => Date.now() }, ids: { next: () => crypto.randomUUID() } }));
    const names = isolatedNames(manifests);
    const broker = new KafkaBroker({ brokers: [kafka.bootstrap], manifests, names, resolve: () => fn.url, dispatch: onlyReconfigure, ingress: false });
    await broker.start();
    const producer = new Kafka({ brokers: [kafka.bootstrap], logLevel: logLevel.NOTHING }).producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      await broker.publish(chainDecision(0));
      // A foreign producer writes straight to the topic, past the ingress's validation.
      const valid = eventOf(SCALE_DECIDED, scaleDecided, { ids: { next: () => 'poison-1' } });
      const poison = toKafkaRecord({ ...valid, data: { service: 'gpt2', decisionId: 'poison' } });
      await producer.send({ topic: names.topic, acks: -1, messages: [{ key: poison.key, value: poison.value, headers: poison.headers, timestamp: poison.timestamp }] });
      await broker.publish(chainDecision(1));
      await broker.idle();

      expect(applied).to.deep.equal([chainDecision(0).data.decisionId, chainDecision(1).data.decisionId]);
      const [letter] = broker.deadLetters();
      expect(letter).to.include({ trigger: 'ssis-reconfigure', errorCode: 400, attempts: 1 });
      expect(letter!.attributes['id']).to.equal('poison-1');
      const dlq = await readTopic({ brokers: [kafka.bootstrap], topic: names.sinkTopic('ssis-dead-letter')! });
      expect(dlq).to.have.length(1);
      const headers = Object.fromEntries(Object.entries(dlq[0]!.raw.headers ?? {}).map(([k, v]) => [k, String(v)]));
      expect(headers).to.include({ ce_id: 'poison-1', ce_type: SCALE_DECIDED, ce_knativeerrorcode: '400', ce_knativeerrordest: fn.url });
      expect(headers['ce_knativeerrordata']).to.match(/SSIS_INVALID_EVENT/);
      expect(dlq[0]!.raw.key!.toString()).to.equal(valid.partitionkey);
    } finally {
      await producer.disconnect();
      await broker.stop();
      await fn.close();
      await cluster.shutdown();
    }
  });

  it('dead-letters an event that keeps failing with 5xx after the Trigger\'s retries, then delivers the next one', async () => {
    const sub = await recordingSubscriber((e) => (e.id === 'flaky' ? 503 : 204));
    const names = isolatedNames(manifests);
    const broker = new KafkaBroker({ brokers: [kafka.bootstrap], manifests, names, resolve: () => sub.url, dispatch: onlyReconfigure, ingress: false });
    await broker.start();
    try {
      const trigger = manifests.triggers.find(onlyReconfigure)!;
      const started = Date.now();
      await broker.publish(eventOf(SCALE_DECIDED, scaleDecided, { ids: { next: () => 'flaky' } }));
      await broker.publish(eventOf(SCALE_DECIDED, { ...scaleDecided, decisionId: 'next' }, { ids: { next: () => 'after-flaky' } }));
      await broker.idle();
      expect(sub.received.map((e) => e.id)).to.deep.equal([...Array<string>(trigger.delivery.retry + 1).fill('flaky'), 'after-flaky']);
      expect(broker.deadLetters().map((l) => [l.attributes['id'], l.errorCode, l.attempts])).to.deep.equal([['flaky', 503, trigger.delivery.retry + 1]]);
      // Exponential back-off from PT0.2S between the attempts (0.4 + 0.8 + 1.6 s).
      expect(Date.now() - started).to.be.at.least(2_500);
    } finally {
      await broker.stop();
      await sub.close();
    }
  });
});
