/**
 * The reference SSIS behaviour, end to end on the embedded stack with the reference's policy, the tier
 * ladder (inferno-policy.test.ts runs the default, the optimizer): cold start answers synchronously; a
 * sustained burst above gpt2's SLO scales it up a tier (scale-decided, slice-reconfigured, rollout
 * in the event log) and the SLO metric recovers; the burst's end scales it back down; no accepted
 * request is lost across the revision switches; the HF token appears nowhere; bad input gets a
 * 4xx naming the problem.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import type { MetricsSampled } from '../../events/metrics-sampled';
import type { ScaleDecided } from '../../events/scale-decided';
import { eventSenderHeaders, gpt2, postJson, startTestStack, waitFor, type TestStack } from './helpers';

const SECRET = 'hf_secret_123';

describe('e2e: the four-stage pipeline on the embedded default, ssis-ladder policy', function () {
  this.timeout(180_000);
  let t: TestStack;
  const types = (): string[] => t.stack.broker.events().map((e) => e.event.type);
  const decisions = (): ScaleDecided[] => t.stack.broker.events().filter((e) => e.event.type === 'ssis.scale.decided').map((e) => e.event.data as ScaleDecided);

  before(async () => {
    t = await startTestStack((c) => ({ ...c, ssis: { ...c.ssis, serviceClasses: c.ssis.serviceClasses.map((cl) => ({ ...cl, policy: 'ssis-ladder' as const })) } }));
  });
  after(async () => {
    await t?.stack.stop();
  });

  it('answers the README request with generated text, cold-starting gpt2 on the smallest fitting slice', async () => {
    const r = await postJson(t.stack.ingressUrl, gpt2('What is Deep Learning?', 20, { HF_TOKEN: SECRET }));
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.body['generated_text']).to.be.a('string').with.length.greaterThan(0);
    expect(r.headers.get('x-ssis-service')).to.equal('gpt2');
    const seq = types();
    for (const type of ['ssis.request.received', 'ssis.scale.decided', 'ssis.slice.reconfigured', 'ssis.rollout.completed']) expect(seq, type).to.include(type);
    expect(seq.indexOf('ssis.scale.decided')).to.be.lessThan(seq.indexOf('ssis.slice.reconfigured'));
    expect(seq.indexOf('ssis.slice.reconfigured')).to.be.lessThan(seq.indexOf('ssis.rollout.completed'));
    const cold = decisions()[0]!;
    expect(cold.action).to.equal('cold-start');
    expect(cold.target).to.include({ profile: '1g.5gb', gpuModel: 'A100-SXM4-40GB', replicas: 1 });
    const gpt = t.stack.cluster.getService('gpt2')!;
    expect(gpt.revisions.map((rev) => rev.profile)).to.deep.equal(['1g.5gb']);
    // The string max_new_tokens of the reference's test payload is accepted too.
    expect((await postJson(t.stack.ingressUrl, gpt2('hello', '5'))).status).to.equal(200);
  });

  it('scales up a tier under a sustained burst, recovers the SLO metric, and loses no request', async () => {
    const results: number[] = [];
    let stop = false;
    const client = async (): Promise<void> => {
      while (!stop) {
        const r = await postJson(t.stack.ingressUrl, gpt2('Explain the transformer architecture in detail', 20, { HF_TOKEN: SECRET }));
        results.push(r.status);
      }
    };
    const clients = Array.from({ length: 24 }, () => client());
    try {
      const up = await waitFor('a scale-up decision', () => decisions().find((d) => d.action === 'up'), 60_000);
      expect(up.target.profile).to.equal('2g.10gb');
      expect(up.reason).to.match(/above SLO/);
      await waitFor('the rollout of the scale-up', () => t.stack.broker.events().find((e) => e.event.type === 'ssis.rollout.completed' && (e.event.data as { decisionId: string }).decisionId === up.decisionId), 60_000);
      const rolledOutAt = t.stack.broker.events().length;
      // Under the same load on the larger slice the time per output token is back under slo×up.
      const recovered = await waitFor('a recovered time-per-output-token sample', () => {
        const later = t.stack.broker.events().slice(rolledOutAt).filter((e) => e.event.type === 'ssis.metrics.sampled').map((e) => e.event.data as MetricsSampled);
        return later.find((s) => s.profile !== '1g.5gb' && !s.rolloutInProgress && (s.metrics.find((m) => m.name === 'time_per_output_token_seconds')?.value ?? 1) < 0.012 * 1.3333);
      }, 30_000);
      expect(recovered.profile).to.not.equal('1g.5gb');
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    expect(results.length).to.be.greaterThan(50);
    expect(results.filter((s) => s !== 200), 'every accepted request answered 200 across the switch').to.deep.equal([]);
    const slices = t.stack.broker.events().filter((e) => e.event.type === 'ssis.slice.reconfigured').map((e) => e.event.data as { profile: string });
    expect(slices.map((s) => s.profile)).to.include('2g.10gb');
  });

  it('scales back down when the load stops', async () => {
    const down = await waitFor('a scale-down decision', () => decisions().find((d) => d.action === 'down'), 60_000);
    expect(down.reason).to.match(/idle|below SLO/);
    await waitFor('the scale-down rollout', () => t.stack.broker.events().find((e) => e.event.type === 'ssis.rollout.completed' && (e.event.data as { decisionId: string }).decisionId === down.decisionId), 30_000);
    const svc = t.stack.cluster.getService('gpt2')!;
    expect(svc.revisions).to.have.length(1);
    expect(svc.revisions[0]!.profile).to.equal(down.target.profile);
    // Make-before-break removed the old revision: its slice is free again.
    const owned = t.stack.cluster.gpus().flatMap((g) => g.instances.filter((i) => i.owner !== null));
    expect(owned).to.have.length(1);
  });

  it('never lets the HF token reach events, logs or any /metrics page', async () => {
    const pages = [
      `${t.stack.ingressUrl}/metrics`,
      ...Object.values(t.stack.functionUrls).map((u) => `${u}/metrics`),
      t.stack.brokerUrl.replace(/\/ssis\/default$/, '/metrics'),
      ...t.stack.cluster.scrapeTargets().map((s) => s.url),
    ];
    for (const page of pages) {
      const text = await (await fetch(page)).text();
      expect(text, page).to.not.contain(SECRET);
      expect(text.length, page).to.be.greaterThan(0);
    }
    expect(readFileSync(t.stack.eventLogPath, 'utf8')).to.not.contain(SECRET);
    expect(t.logLines.join('\n')).to.not.contain(SECRET);
    const received = t.stack.broker.events().find((e) => e.event.type === 'ssis.request.received')!.event.data as { envKeys: string[] };
    expect(received.envKeys).to.include('HF_TOKEN');
  });

  it('answers malformed bodies with a 4xx that names the field, and keeps serving', async () => {
    const url = t.stack.ingressUrl;
    const badJson = await postJson(url, null, '{"token": "x", ');
    expect(badJson.status).to.equal(400);
    expect(JSON.stringify(badJson.body)).to.contain('body');
    const noModel = await postJson(url, { token: 'x', par: {}, env: {} });
    expect(noModel.status).to.equal(400);
    expect(JSON.stringify(noModel.body)).to.contain('env.MODEL_ID');
    const several = await postJson(url, { token: 7, par: { max_new_tokens: -1 }, env: { MODEL_ID: 'openai-community/gpt2', HF_TOKEN: 5 }, extra: 1 });
    expect(several.status).to.equal(400);
    const fields = (several.body['issues'] as { field: string }[]).map((i) => i.field);
    expect(fields).to.include.members(['token', 'par.max_new_tokens', 'env.HF_TOKEN', 'extra']);
    const unknown = await postJson(url, gpt2('x', 5, {}) && { token: 'x', env: { MODEL_ID: 'acme/unknown-model' } });
    expect(unknown.status).to.equal(404);
    expect(JSON.stringify(unknown.body)).to.contain('env.MODEL_ID');
    const tooLong = await postJson(url, gpt2('x', 100_000));
    expect(tooLong.status).to.equal(400);
    expect(JSON.stringify(tooLong.body)).to.contain('max_new_tokens');
    expect((await postJson(url, gpt2('still alive?', 3))).status).to.equal(200);
  });

  it('answers malformed CloudEvents with a 4xx that names the problem', async () => {
    const evaluate = t.stack.functionUrls['evaluate']!;
    const auth = eventSenderHeaders(t.stack);
    // Without the stack's secret nothing is even read.
    const anonymous = await fetch(evaluate, { method: 'POST', headers: { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-type': 'ssis.metrics.sampled', 'ce-source': '/x', 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).to.equal(401);
    const missingId = await fetch(evaluate, { method: 'POST', headers: { ...auth, 'ce-specversion': '1.0', 'ce-type': 'ssis.metrics.sampled', 'ce-source': '/x', 'content-type': 'application/json' }, body: '{}' });
    expect(missingId.status).to.equal(400);
    expect(await missingId.text()).to.contain('id');
    const badData = await fetch(evaluate, {
      method: 'POST',
      headers: { ...auth, 'ce-specversion': '1.0', 'ce-id': '1', 'ce-type': 'ssis.metrics.sampled', 'ce-source': '/x', 'ce-time': '2026-11-23T00:00:00Z', 'ce-partitionkey': 'gpt2', 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'gpt2', replicas: -1 }),
    });
    expect(badData.status).to.equal(400);
    const text = await badData.text();
    expect(text).to.contain('data.replicas');
    expect(text).to.contain('data.modelId');
    const wrongType = await fetch(t.stack.functionUrls['rollout']!, { method: 'POST', headers: { ...auth, 'ce-specversion': '1.0', 'ce-id': '2', 'ce-type': 'com.example.other', 'ce-source': '/x', 'content-type': 'application/json' }, body: '{}' });
    expect(wrongType.status).to.equal(400);
    expect(await wrongType.text()).to.contain('SSIS_UNSUPPORTED_EVENT_TYPE');
    const health = await fetch(`${evaluate}/health/readiness`);
    expect(health.status).to.equal(200);
  });

  it('serves the OpenAI completions and chat APIs from the same services', async () => {
    const completion = await postJson(`${t.stack.ingressUrl}/v1/completions`, { model: 'openai-community/gpt2', prompt: 'Once upon a time', max_tokens: 8 });
    expect(completion.status, JSON.stringify(completion.body)).to.equal(200);
    expect(completion.body['object']).to.equal('text_completion');
    expect((completion.body['usage'] as { completion_tokens: number }).completion_tokens).to.equal(8);
    const chat = await postJson(`${t.stack.ingressUrl}/v1/chat/completions`, { model: 'openai-community/gpt2', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 });
    expect(chat.status).to.equal(200);
    expect(((chat.body['choices'] as { message: { content: string } }[])[0]!.message.content)).to.be.a('string');
    const bad = await postJson(`${t.stack.ingressUrl}/v1/chat/completions`, { model: 'openai-community/gpt2', messages: [] });
    expect(bad.status).to.equal(400);
    expect(JSON.stringify(bad.body)).to.contain('messages');
  });
});
