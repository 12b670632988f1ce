import { expect } from 'chai';
import { SsisError } from '../../../core/errors';
import { parseOpenAiBody, openAiResponse } from '../../../functions/request/openai-body';
import { parseSsisBody } from '../../../functions/request/ssis-body';

function fieldsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    return (err as SsisError).issues.map((i) => i.field);
  }
  throw new Error('expected an error');
}

describe('functions/request SSIS body (notes/ssis.md §1.2)', () => {
  it('reads the README request; env values stay out of the result except MODEL_ID', () => {
    const call = parseSsisBody({ token: 'What is Deep Learning?', par: { max_new_tokens: 20 }, env: { MODEL_ID: 'openai-community/gpt2', HF_TOKEN: 'hf_secret_123' } });
    expect(call).to.include({ service: 'gpt2', modelId: 'openai-community/gpt2', prompt: 'What is Deep Learning?', maxNewTokens: 20 });
    expect(call.envKeys).to.deep.equal(['MODEL_ID', 'HF_TOKEN']);
    expect(JSON.stringify(call)).to.not.contain('hf_secret_123');
  });

  it('accepts the reference test payload (max_new_tokens as a string, empty HF_TOKEN)', () => {
    const call = parseSsisBody({ token: 'What is Deep Learning?', par: { max_new_tokens: '20' }, env: { MODEL_ID: 'openai-community/gpt2', HF_TOKEN: '' } });
    expect(call.maxNewTokens).to.equal(20);
  });

  it('reads label slo (seconds) and class, payload and subroute', () => {
    const call = parseSsisBody({ env: { MODEL_ID: 'a/b' }, label: { slo: '0.25', class: 'premium' }, payload: { inputs: 'x' }, subroute: '/generate' }, { serviceClasses: ['default', 'premium'] });
    expect(call.sloMs).to.equal(250);
    expect(call.labels['class']).to.equal('premium');
    expect(call.payload).to.deep.equal({ inputs: 'x' });
    expect(call.subroute).to.equal('/generate');
  });

  it('names every bad field at once', () => {
    expect(fieldsOf(() => parseSsisBody({ token: 1, par: [], env: { MODEL_ID: '---', X: 2 }, label: { slo: 'soon' }, subroute: 'x', what: true }))).to.include.members([
      'token', 'par', 'env', 'env.MODEL_ID', 'label.slo', 'subroute', 'what',
    ]);
    expect(fieldsOf(() => parseSsisBody({ token: 'x' }))).to.deep.equal(['env']);
    expect(fieldsOf(() => parseSsisBody([]))).to.deep.equal(['body']);
    expect(fieldsOf(() => parseSsisBody({ token: 'x', env: {}, par: { max_new_tokens: 0 } }))).to.include.members(['env.MODEL_ID', 'par.max_new_tokens']);
  });

  it('refuses with SSIS_INVALID_REQUEST (400)', () => {
    try {
      parseSsisBody({});
    } catch (err) {
      expect((err as SsisError).code).to.equal('SSIS_INVALID_REQUEST');
      expect((err as SsisError).httpStatus).to.equal(400);
    }
  });
});

describe('functions/request OpenAI bodies', () => {
  it('maps /v1/completions to a TGI call', () => {
    const call = parseOpenAiBody('openai-completions', { model: 'openai-community/gpt2', prompt: 'Hi', max_tokens: 5, temperature: 0.2 });
    expect(call).to.include({ service: 'gpt2', prompt: 'Hi', maxNewTokens: 5 });
    expect(call.parameters).to.deep.equal({ max_new_tokens: 5, temperature: 0.2 });
  });

  it('renders chat messages into one prompt, honouring max_completion_tokens', () => {
    const call = parseOpenAiBody('openai-chat', { model: 'a/b', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }], max_completion_tokens: 3 });
    expect(call.prompt).to.equal('system: Be brief.\nuser: Hi\nassistant:');
    expect(call.maxNewTokens).to.equal(3);
  });

  it('names bad fields, and refuses streaming for now', () => {
    expect(fieldsOf(() => parseOpenAiBody('openai-chat', { messages: [{ role: 'robot' }], stream: true }))).to.include.members(['model', 'stream', 'messages[0].role', 'messages[0].content']);
    expect(fieldsOf(() => parseOpenAiBody('openai-completions', { model: 'a/b', max_tokens: 0 }))).to.include.members(['prompt', 'max_tokens']);
  });

  it('answers in the OpenAI shape', () => {
    const call = parseOpenAiBody('openai-chat', { model: 'a/b', messages: [{ role: 'user', content: 'Hi' }] });
    const r = openAiResponse('openai-chat', call, 'r1', ' hello', { promptTokens: 2, completionTokens: 1 }, 100) as Record<string, unknown>;
    expect(r).to.deep.include({ id: 'chatcmpl-r1', object: 'chat.completion', created: 100, model: 'a/b', system_fingerprint: 'ssis-ingress', usage: { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 } });
    expect((r['choices'] as Record<string, unknown>[])[0]).to.have.property('logprobs', null);
  });

  it('refuses options it cannot honour by name (never silently ignored), and takes their "off" values the clients send', () => {
    const base = { model: 'a/b', prompt: 'Hi' };
    for (const [name, value] of [['n', 2], ['best_of', 3], ['logprobs', 2], ['echo', true], ['suffix', 'x'], ['logit_bias', { '50256': -100 }], ['top_logprobs', 3], ['response_format', { type: 'json_object' }], ['tools', [{ type: 'function' }]]] as const) {
      expect(fieldsOf(() => parseOpenAiBody('openai-completions', { ...base, [name]: value })), name).to.deep.equal([name]);
    }
    expect(() => parseOpenAiBody('openai-completions', { ...base, n: 1, logprobs: null, echo: false, response_format: { type: 'text' }, tools: [] })).to.not.throw();
  });
});
