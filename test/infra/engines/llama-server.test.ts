/**
 * A real model on this machine: llama.cpp's llama-server (built from source by
 * infra/engines/llama-cpp/build.sh) serving Gemma 3 270M from a PyPI package, started by the
 * project's own code on a free loopback port. It checks what SSIS relies on from an engine: the
 * OpenAI-compatible answers with usage, token-by-token streaming, that a client that leaves stops
 * the generation, the Prometheus metrics the sample function will read, and that no server is
 * ever left running.
 *
 * Generation runs at about 10 tokens/s on two cores, so every request asks for a few tokens. When
 * the binary or the model is not cached yet, `before` builds them (about 10 min cold).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { expect } from 'chai';
import { buildLlamaCpp, type LlamaCppArtifacts } from '../../../infra/engines/llama-cpp-binaries';
import { reapStaleLlamaServers, startLlamaServer, type LlamaServer } from '../../../infra/engines/llama-server';
import { isAlive, runFolderPids } from '../../../infra/local-process/run-folders';
import { PROJECT_ROOT } from '../../../infra/project-root';
import { getJson, postJson, postSse, scrapeMetrics } from './openai-http';
import { waitFor } from '../../e2e/helpers';

const PROMPT = 'The three primary colours are';

interface Slot {
  readonly id: number;
  readonly is_processing: boolean;
}

async function busySlots(url: string): Promise<number> {
  const slots = (await getJson(`${url}/slots`)) as Slot[];
  return slots.filter((s) => s.is_processing).length;
}

describe('llama-server: a real model (llama.cpp, Gemma 3 270M)', function () {
  this.timeout(60_000);
  let artifacts: LlamaCppArtifacts;
  let server: LlamaServer;

  before(async function () {
    // A cold build compiles llama.cpp (about 10 min on two cores); a cached one returns at once.
    this.timeout(40 * 60_000);
    artifacts = buildLlamaCpp();
    server = await startLlamaServer({ modelPath: artifacts.model, alias: artifacts.modelId, parallel: 2 });
  });

  after(async () => {
    await server?.stop();
  });

  it('lists the model under its alias on /v1/models', async () => {
    const models = (await getJson(`${server.url}/v1/models`)) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).to.include(artifacts.modelId);
  });

  it('answers POST /v1/completions with text and usage', async () => {
    const { status, json } = await postJson(`${server.url}/v1/completions`, { model: artifacts.modelId, prompt: PROMPT, max_tokens: 8, temperature: 0 });
    expect(status).to.equal(200);
    const choices = json['choices'] as { text: string; finish_reason: string }[];
    expect(choices).to.have.length(1);
    expect(choices[0]?.text.trim()).to.not.equal('');
    const usage = json['usage'] as { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    expect(usage.prompt_tokens).to.be.greaterThan(0);
    expect(usage.completion_tokens).to.be.within(1, 8);
    expect(usage.total_tokens).to.equal(usage.prompt_tokens + usage.completion_tokens);
    expect(json['model']).to.equal(artifacts.modelId);
  });

  it('answers POST /v1/chat/completions with an assistant message and usage', async () => {
    const { status, json } = await postJson(`${server.url}/v1/chat/completions`, {
      model: artifacts.modelId,
      messages: [{ role: 'user', content: 'Name one colour.' }],
      max_tokens: 8,
      temperature: 0,
    });
    expect(status).to.equal(200);
    const choices = json['choices'] as { message: { role: string; content: string } }[];
    expect(choices[0]?.message.role).to.equal('assistant');
    expect(choices[0]?.message.content.trim()).to.not.equal('');
    const usage = json['usage'] as { prompt_tokens: number; completion_tokens: number };
    expect(usage.prompt_tokens).to.be.greaterThan(0);
    expect(usage.completion_tokens).to.be.within(1, 8);
  });

  it('streams a completion as SSE data: chunks, token by token, ending with data: [DONE]', async () => {
    const stream = await postSse(`${server.url}/v1/completions`, { model: artifacts.modelId, prompt: PROMPT, max_tokens: 6, temperature: 0, stream: true });
    expect(stream.status).to.equal(200);
    expect(stream.contentType).to.match(/^text\/event-stream/);
    const events: string[] = [];
    for (let data = await stream.next(); data !== undefined; data = await stream.next()) events.push(data);
    expect(events.at(-1)).to.equal('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { choices: { text: string; finish_reason: string | null }[] });
    const texts = chunks.map((c) => c.choices[0]?.text ?? '').filter((t) => t !== '');
    // One chunk a token: six tokens asked for, so more than one chunk carries text.
    expect(texts.length).to.be.within(2, 6);
    expect(texts.join('').trim()).to.not.equal('');
    expect(chunks.map((c) => c.choices[0]?.finish_reason).filter((r) => r)).to.deep.equal(['length']);
  });

  it('streams a chat completion as SSE deltas ending with data: [DONE]', async () => {
    const stream = await postSse(`${server.url}/v1/chat/completions`, {
      model: artifacts.modelId,
      messages: [{ role: 'user', content: 'Name one colour.' }],
      max_tokens: 4,
      temperature: 0,
      stream: true,
    });
    const events: string[] = [];
    for (let data = await stream.next(); data !== undefined; data = await stream.next()) events.push(data);
    expect(events.at(-1)).to.equal('[DONE]');
    const deltas = events.slice(0, -1).map((e) => (JSON.parse(e) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? '');
    expect(deltas.join('').trim()).to.not.equal('');
  });

  it('closes the connection after a streamed answer, although it offered keep-alive', async () => {
    // What a proxy in front of it must know: a pooled connection that carried a stream is gone,
    // and reusing it fails the next request with "other side closed".
    const sock = connect(Number(new URL(server.url).port), '127.0.0.1');
    let received = '';
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => (received += chunk));
    const closed = new Promise<void>((done) => sock.once('end', () => done()));
    const body = JSON.stringify({ model: artifacts.modelId, prompt: PROMPT, max_tokens: 2, stream: true });
    sock.write(`POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await waitFor('the end of the stream', () => (received.includes('data: [DONE]') ? true : undefined), 30_000);
    expect(received).to.match(/^HTTP\/1\.1 200 /).and.match(/\r\nKeep-Alive: timeout=\d+/i);
    await Promise.race([closed, new Promise((_, fail) => setTimeout(() => fail(new Error('the connection stayed open')), 5_000))]);
    sock.destroy();
  });

  it('stops generating soon after a streaming client disconnects', async () => {
    const before = await scrapeMetrics(server.url);
    // ignore_eos: the model could otherwise end by itself and prove nothing; 200 tokens is ~20 s.
    const stream = await postSse(`${server.url}/v1/completions`, { model: artifacts.modelId, prompt: PROMPT, max_tokens: 200, ignore_eos: true, temperature: 0, stream: true });
    for (let tokens = 0; tokens < 3; tokens++) expect(await stream.next()).to.be.a('string');
    expect(await busySlots(server.url)).to.equal(1);
    const abortedAt = Date.now();
    stream.abort();

    // The server notices when its next chunk finds the connection gone: within a token or two.
    await waitFor('no busy slot', async () => ((await busySlots(server.url)) === 0 ? true : undefined), 5_000);
    const stoppedAfterMs = Date.now() - abortedAt;
    const settled = await scrapeMetrics(server.url);
    await new Promise((r) => setTimeout(r, 1_000));
    const later = await scrapeMetrics(server.url);
    expect(later.value('llamacpp:n_decode_total'), 'decode calls after the slot was released').to.equal(settled.value('llamacpp:n_decode_total'));
    expect(later.value('llamacpp:requests_processing')).to.equal(0);
    const predicted = later.value('llamacpp:tokens_predicted_total') - before.value('llamacpp:tokens_predicted_total');
    expect(predicted, 'tokens generated for the aborted request').to.be.below(50);
    expect(stoppedAfterMs).to.be.below(5_000);
  });

  it('exposes llamacpp:* counters and gauges on /metrics in the Prometheus text format', async () => {
    const page = await scrapeMetrics(server.url);
    expect(page.samples.length).to.be.greaterThan(0);
    expect(page.samples.filter((s) => !s.name.startsWith('llamacpp:')).map((s) => s.name)).to.deep.equal([]);
    const want: Record<string, string> = {
      'llamacpp:prompt_tokens_total': 'counter',
      'llamacpp:prompt_tokens_cached_total': 'counter',
      'llamacpp:prompt_seconds_total': 'counter',
      'llamacpp:tokens_predicted_total': 'counter',
      'llamacpp:tokens_predicted_seconds_total': 'counter',
      'llamacpp:n_decode_total': 'counter',
      'llamacpp:n_tokens_max': 'counter',
      'llamacpp:prompt_tokens_seconds': 'gauge',
      'llamacpp:predicted_tokens_seconds': 'gauge',
      'llamacpp:requests_processing': 'gauge',
      'llamacpp:requests_deferred': 'gauge',
      'llamacpp:n_busy_slots_per_decode': 'gauge',
    };
    for (const [name, type] of Object.entries(want)) expect(page.types.get(name), name).to.equal(type);
    // The earlier tests generated tokens, so the counters have moved.
    expect(page.value('llamacpp:tokens_predicted_total')).to.be.greaterThan(0);
    expect(page.value('llamacpp:prompt_tokens_total')).to.be.greaterThan(0);
  });

  it('stop() ends the process and deletes its run folder', async () => {
    const other = await startLlamaServer({ modelPath: artifacts.model, alias: 'second' });
    const pids = [...runFolderPids(other.runDir).values()];
    expect(pids).to.have.length(1);
    await other.stop();
    expect(pids.filter(isAlive)).to.deep.equal([]);
    expect(existsSync(other.runDir)).to.equal(false);
  });

  it('reaps the server of a run that was SIGKILLed', async () => {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', join(__dirname, 'orphan-llama-server.ts')], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const runDir = await waitFor('the child server', () => {
      if (child.exitCode !== null) throw new Error(`the child exited: ${err}`);
      return out.includes('\n') ? out.trim() : undefined;
    }, 45_000);
    const pids = [...runFolderPids(runDir).values()];
    expect(pids).to.have.length(1);

    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGKILL');
    await exited;
    expect(pids.filter(isAlive), 'the server outlives its killed owner').to.have.length(1);

    expect(reapStaleLlamaServers()).to.be.at.least(1);
    await waitFor('the orphaned server gone', () => (pids.some(isAlive) ? undefined : true), 10_000);
    expect(existsSync(runDir)).to.equal(false);
  });
});
