/**
 * The whole pipeline on the Kafka broker mode (`ssis start` with SSIS_BROKER=kafka://…) against a
 * real Kafka: the README request cold-starts gpt2 through the five Triggers' consumer groups; a
 * duplicated scale-decided does not scale twice; a recorded burst, read back from the topic, is
 * replayed offline with other scaler settings (`ssis replay --what-if`) and prints differing decisions.
 */
import { expect } from 'chai';
import { toHttpBinary } from '../../../events/codec/http';
import { SCALE_DECIDED, type ScaleDecided } from '../../../events/scale-decided';
import { createEvent } from '../../../events/create';
import { sequentialIds, systemClock } from '../../../core/common/ports';
import type { KafkaBroker } from '../../../infra/kafka/kafka-broker';
import { runReplay } from '../../../cli/replay';
import { eventSenderHeaders, gpt2, postJson, waitFor } from '../../e2e/helpers';
import { startKafkaTestStack, type KafkaTestStack } from './kafka-stack';

async function captureStdout(run: () => Promise<void>): Promise<string> {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    await run();
  } finally {
    process.stdout.write = write;
  }
  return chunks.join('');
}

describe('kafka broker mode: the pipeline end to end on a real Kafka', function () {
  this.timeout(180_000);
  let t: KafkaTestStack;
  const events = () => t.stack.broker.events().map((e) => e.event);
  const decisions = (): ScaleDecided[] => events().filter((e) => e.type === 'ssis.scale.decided').map((e) => e.data as ScaleDecided);

  before(async () => {
    t = await startKafkaTestStack();
  });
  after(async () => {
    await t?.stack.stop();
  });

  it('cold-starts gpt2 for the README request through the Kafka topic', async () => {
    const r = await postJson(t.stack.ingressUrl, gpt2('What is Deep Learning?', 20));
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    const seq = events().map((e) => e.type);
    for (const type of ['ssis.request.received', 'ssis.scale.decided', 'ssis.slice.reconfigured', 'ssis.rollout.completed']) expect(seq, type).to.include(type);
    expect(decisions()[0]).to.include({ action: 'cold-start', service: 'gpt2' });
    expect(t.stack.brokerMode).to.equal(`kafka://${t.bootstrap}`);
  });

  it('does not scale twice when a scale-decided is duplicated in the topic', async () => {
    await t.stack.broker.idle();
    const original = events().find((e) => e.type === 'ssis.scale.decided' && e.partitionkey === 'gpt2')!;
    const generation = t.stack.cluster.getService('gpt2')!.generation;
    const slices = (): number => events().filter((e) => e.type === 'ssis.slice.reconfigured' && e.partitionkey === 'gpt2').length;
    const before = slices();
    const message = toHttpBinary(original);
    expect((await fetch(t.stack.brokerUrl, { method: 'POST', headers: message.headers, body: message.body })).status, 'without the stack secret').to.equal(401);
    expect((await fetch(t.stack.brokerUrl, { method: 'POST', headers: { ...message.headers, ...eventSenderHeaders(t.stack) }, body: message.body })).status).to.equal(202);
    await t.stack.broker.idle();
    expect(slices()).to.equal(before);
    expect(t.stack.cluster.getService('gpt2')!.generation).to.equal(generation);
    expect(t.logLines.some((l) => l.includes('stale or duplicate decision ignored'))).to.equal(true);
  });

  it('replays a recorded burst offline with other scaler settings and prints the differing decisions', async () => {
    let stop = false;
    const client = async (): Promise<void> => {
      while (!stop) await postJson(t.stack.ingressUrl, gpt2('Explain the transformer architecture in detail', 20));
    };
    const clients = Array.from({ length: 24 }, () => client());
    try {
      await waitFor('a scale-up decision', () => decisions().find((d) => d.action === 'up'), 90_000);
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    await t.stack.broker.idle();
    // The stack ran the ladder with the test's short windows (kafka-stack.ts): the baseline.
    const args = ['--broker', `kafka://${t.bootstrap}`, '--topic', t.names.topic, '--subject', 'gpt2', '--what-if', '--policy', 'ssis-ladder'];
    const same = await captureStdout(() => runReplay([...args, '--set', 'scaler.stabilizationWindowSec=4', '--set', 'scaler.upCooldownSec=3']));
    expect(same, 'the recorded settings reproduce the recorded decisions').to.match(/; 0 of \d+ decision points differ/);
    const other = await captureStdout(() => runReplay([...args, '--set', 'scaler.stabilizationWindowSec=60', '--set', 'scaler.upCooldownSec=60']));
    expect(other).to.match(/recorded\s+ssis-ladder scaler\.stabilizationWindowSec=60/);
    expect(other).to.match(/≠/);
    expect(Number(/; (\d+) of \d+ decision points differ/.exec(other)?.[1])).to.be.greaterThan(0);
  });

  // Last: the forged decision stays in the topic, and the what-if replay above reads the topic.
  it('dead-letters a forged 20-replica decision from an authenticated sender, carrying nothing out', async () => {
    await t.stack.broker.idle();
    const service = t.stack.cluster.getService('gpt2')!;
    const replicas = service.revisions.reduce((n, r) => n + r.replicas.length, 0);
    const serving = service.revisions.find((r) => r.replicas.length > 0)!;
    const forged: ScaleDecided = {
      decisionId: 'forged-20', service: 'gpt2', modelId: 'openai-community/gpt2', action: 'out', policy: 'inferno', fromGeneration: service.generation,
      current: { profile: serving.profile, gpuModel: serving.gpuModel, replicas }, target: { profile: serving.profile, gpuModel: serving.gpuModel, replicas: 20 },
      reason: 'forged', decidedAt: new Date().toISOString(),
    };
    const message = toHttpBinary(createEvent(SCALE_DECIDED, forged, { source: '/ssis/functions/evaluate', clock: systemClock, ids: sequentialIds('forged') }));
    expect((await fetch(t.stack.brokerUrl, { method: 'POST', headers: { ...message.headers, ...eventSenderHeaders(t.stack) }, body: message.body })).status).to.equal(202);
    const broker = t.stack.broker as unknown as KafkaBroker;
    const letter = await waitFor('the forged decision dead-lettered', () => broker.deadLetters().find((l) => l.attributes['id'] === 'forged-1'), 30_000);
    expect(letter.errorCode).to.equal(422);
    expect(letter.errorData).to.contain('SSIS_DECISION_REFUSED').and.to.contain('data.target.replicas');
    const after = t.stack.cluster.getService('gpt2')!;
    expect(after.generation, 'no generation bump').to.equal(service.generation);
    expect(after.revisions.reduce((n, r) => n + r.replicas.length, 0)).to.equal(replicas);
  });
});
