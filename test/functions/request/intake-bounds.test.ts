import { expect } from 'chai';
import { checkJsonDepth, DEFAULT_MAX_JSON_DEPTH, jsonTextExceedsDepth, parseJsonBounded, valueExceedsDepth } from '../../../core/common/bounded-json';
import { FieldReader } from '../../../core/common/fields';
import { SsisError } from '../../../core/errors';
import { parseOpenAiBody } from '../../../functions/request/openai-body';
import { LAUNCHER_ENV_NAMES, parseSsisBody } from '../../../functions/request/ssis-body';
import { refusal } from '../../support/rejection';


const fields = (fn: () => unknown): string[] => refusal(fn).issues.map((i) => i.field);
const nested = (depth: number, leaf = '1'): string => `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`;
const GPT2 = 'openai-community/gpt2';
const CLASSES = { serviceClasses: ['default', 'premium'] };

describe('functions/request intake bounds: JSON nesting (core/common/bounded-json.ts)', () => {
  const deepBodies = {
    par: `{"token":"x","par":{"max_new_tokens":20,"grammar":${nested(5000)}},"env":{"MODEL_ID":"${GPT2}"}}`,
    stop: `{"model":"${GPT2}","prompt":"x","stop":${nested(5000, '"END"')}}`,
    temperature: `{"model":"${GPT2}","prompt":"x","temperature":${nested(5000)}}`,
  };
  for (const [field, text] of Object.entries(deepBodies)) {
    it(`refuses ${field} nested 5,000 deep (a 10 KB body) with a 400 naming body and the limit, not a retriable RangeError`, () => {
      expect(text.length).to.be.below(11_000);
      const err = refusal(() => parseJsonBounded(text));
      expect(err.code).to.equal('SSIS_INVALID_REQUEST');
      expect(err.httpStatus).to.equal(400);
      expect(err.retriable).to.equal(false);
      expect(err.issues).to.have.length(1);
      expect(err.issues[0]!.field).to.equal('body');
      expect(err.issues[0]!.message).to.contain(String(DEFAULT_MAX_JSON_DEPTH));
      expect(err.message).to.equal(`invalid request: body: ${err.issues[0]!.message}`);
    });
  }

  it('takes nesting up to the bound (32 by default) and refuses one level more', () => {
    expect(parseJsonBounded(nested(DEFAULT_MAX_JSON_DEPTH))).to.be.an('array');
    expect(fields(() => parseJsonBounded(nested(DEFAULT_MAX_JSON_DEPTH + 1)))).to.deep.equal(['body']);
    expect(parseJsonBounded('{"a":{"b":[1]}}', { maxDepth: 3 })).to.deep.equal({ a: { b: [1] } });
    expect(() => parseJsonBounded('{"a":{"b":[1]}}', { maxDepth: 2 })).to.throw(SsisError);
    expect(parseJsonBounded('7', { maxDepth: 0 })).to.equal(7);
  });

  it('does not count brackets inside strings, escaped quotes and backslashes included', () => {
    expect(parseJsonBounded(`{"a":"${'[{'.repeat(500)}"}`, { maxDepth: 1 })).to.have.property('a');
    expect(parseJsonBounded(String.raw`{"a":"\"[[[[[\"","b":[]}`, { maxDepth: 2 })).to.have.property('b');
    // An escaped backslash does not escape the quote after it: the string ends there and `[[[` counts.
    expect(jsonTextExceedsDepth(String.raw`{"a":"\\","b":[[[]]]}`, 3)).to.equal(true);
    expect(jsonTextExceedsDepth(String.raw`{"a":"\\","b":[[[]]]}`, 4)).to.equal(false);
  });

  it('reports text that is not JSON as the ingress always has: body: is not valid JSON (...)', () => {
    const err = refusal(() => parseJsonBounded('{"token": "x", '));
    expect(err.code).to.equal('SSIS_INVALID_REQUEST');
    expect(err.issues[0]!.field).to.equal('body');
    expect(err.message).to.match(/^invalid request: body: is not valid JSON \(.+\)$/);
  });

  it('uses the code and field it is given (SSIS_INVALID_EVENT for a CloudEvent)', () => {
    const err = refusal(() => parseJsonBounded(nested(40), { code: 'SSIS_INVALID_EVENT', field: 'data', maxDepth: 8 }));
    expect(err.code).to.equal('SSIS_INVALID_EVENT');
    expect(err.message).to.match(/^invalid CloudEvent: data: .*8 levels/);
  });

  it('bounds a value parsed elsewhere without overflowing the stack, even 100,000 deep or cyclic', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = { next: [deep] };
    expect(valueExceedsDepth(deep, DEFAULT_MAX_JSON_DEPTH)).to.equal(true);
    expect(fields(() => checkJsonDepth(deep))).to.deep.equal(['body']);
    expect(fields(() => checkJsonDepth(deep, { field: 'par' }))).to.deep.equal(['par']);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(valueExceedsDepth(cyclic, 10)).to.equal(true);
    expect(() => checkJsonDepth({ a: [1, { b: null }], c: 'x' }, { maxDepth: 3 })).to.not.throw();
    expect(valueExceedsDepth('[[[[[', 0)).to.equal(false);
  });

  it('refuses par or payload too deep to forward even when the body was parsed without the bound', () => {
    const deepPar = JSON.parse(deepBodies.par) as unknown;
    expect(fields(() => parseSsisBody(deepPar))).to.deep.equal(['par']);
    const deepPayload = { env: { MODEL_ID: GPT2 }, payload: { inputs: JSON.parse(nested(5000)) as unknown } };
    expect(fields(() => parseSsisBody(deepPayload))).to.deep.equal(['payload']);
  });

  it('refuses stop and temperature that are not what the OpenAI API allows, at any depth', () => {
    const parsed = (text: string): unknown => JSON.parse(text) as unknown;
    expect(fields(() => parseOpenAiBody('openai-completions', parsed(deepBodies.stop)))).to.deep.equal(['stop']);
    expect(fields(() => parseOpenAiBody('openai-completions', parsed(deepBodies.temperature)))).to.deep.equal(['temperature']);
  });
});

describe('functions/request intake bounds: numbers are JSON numbers', () => {
  const ssis = (maxNewTokens: unknown): unknown => ({ token: 'x', par: { max_new_tokens: maxNewTokens }, env: { MODEL_ID: GPT2 } });

  it('reads max_new_tokens "20" (the reference test payload) and 20, but not "0x10" as 16', () => {
    expect(parseSsisBody(ssis('20')).maxNewTokens).to.equal(20);
    expect(parseSsisBody(ssis(20)).maxNewTokens).to.equal(20);
    expect(parseSsisBody(ssis('999999999')).maxNewTokens).to.equal(999_999_999);
    expect(fields(() => parseSsisBody(ssis('0x10')))).to.deep.equal(['par.max_new_tokens']);
  });

  for (const bad of ['0x10', '1e1', ' 20', '20 ', '\t20', '+20', '-1', '2.5', '20.0', '', '0b11', '0o17', '1_000', 'Infinity', '１２', '1234567890', '0', 0, -1, 2.5, 1e10, true, [20], { n: 20 }]) {
    it(`refuses max_new_tokens ${JSON.stringify(bad)} with a 400 naming par.max_new_tokens`, () => {
      const err = refusal(() => parseSsisBody(ssis(bad)));
      expect(err.httpStatus).to.equal(400);
      expect(err.issues.map((i) => i.field)).to.deep.equal(['par.max_new_tokens']);
    });
  }

  it('reads label slo in plain decimal seconds only', () => {
    const withSlo = (slo: string): unknown => ({ token: 'x', env: { MODEL_ID: GPT2 }, label: { slo } });
    expect(parseSsisBody(withSlo('0.25')).sloMs).to.equal(250);
    expect(parseSsisBody(withSlo('2')).sloMs).to.equal(2000);
    for (const bad of ['0x10', '1e-1', '-1', '0', '0.0', '.5', 'Infinity']) expect(fields(() => parseSsisBody(withSlo(bad))), bad).to.deep.equal(['label.slo']);
  });

  it('takes max_tokens, max_completion_tokens, temperature, top_p and seed as JSON numbers only, in the API ranges', () => {
    const openai = (extra: Record<string, unknown>): unknown => ({ model: GPT2, prompt: 'x', ...extra });
    const call = parseOpenAiBody('openai-completions', openai({ max_tokens: 16, temperature: 0, top_p: 1, seed: 7, stop: 'END' }));
    expect(call.parameters).to.deep.equal({ max_new_tokens: 16, temperature: 0, top_p: 1, seed: 7, stop: ['END'] });
    expect(parseOpenAiBody('openai-completions', openai({ max_tokens: null, temperature: null, stop: null })).parameters).to.deep.equal({});
    const cases: [Record<string, unknown>, string][] = [
      [{ max_tokens: '0x10' }, 'max_tokens'],
      [{ max_tokens: '16' }, 'max_tokens'],
      [{ max_tokens: 1e10 }, 'max_tokens'],
      [{ max_completion_tokens: '0x10' }, 'max_completion_tokens'],
      [{ temperature: '0x1' }, 'temperature'],
      [{ temperature: 2.5 }, 'temperature'],
      [{ top_p: ' 1' }, 'top_p'],
      [{ top_p: 1.5 }, 'top_p'],
      [{ seed: -1 }, 'seed'],
      [{ seed: 1.5 }, 'seed'],
      [{ seed: '0x10' }, 'seed'],
      [{ stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
      [{ stop: [1] }, 'stop'],
      [{ stop: { s: 'x' } }, 'stop'],
    ];
    for (const [extra, field] of cases) expect(fields(() => parseOpenAiBody('openai-completions', openai(extra))), JSON.stringify(extra)).to.deep.equal([field]);
  });

  it('FieldReader.number reads strings in JSON number syntax only, and none when told not to', () => {
    const read = (raw: unknown, opts: { fromString?: boolean } = {}): { value: number | undefined; issues: number } => {
      const r = new FieldReader();
      return { value: r.number({ n: raw }, 'n', opts), issues: r.issues.length };
    };
    for (const [raw, value] of [['5', 5], ['-2.5', -2.5], ['1e3', 1000], ['0', 0], [12, 12]] as const) expect(read(raw).value, String(raw)).to.equal(value);
    for (const raw of ['0x10', ' 5 ', '5 ', '', 'Infinity', '0b11', '0o7', '1_0', '+5', '05', '.5', '1e400']) expect(read(raw), JSON.stringify(raw)).to.deep.equal({ value: undefined, issues: 1 });
    expect(read('5', { fromString: false })).to.deep.equal({ value: undefined, issues: 1 });
    expect(read(5, { fromString: false })).to.deep.equal({ value: 5, issues: 0 });
  });
});

describe('functions/request intake bounds: secrets in the wrong place', () => {
  const SECRET = 'hf_SeCrEtToKeN1234567890';
  const call = (over: Record<string, unknown>): Record<string, unknown> => ({ token: 'x', env: { MODEL_ID: GPT2 }, ...over });
  const leaks = (fn: () => unknown, secret = SECRET): void => {
    const err = refusal(fn);
    expect(JSON.stringify(err.toJSON())).to.not.contain(secret);
    expect(err.message).to.not.contain(secret);
  };

  it('takes label.class only when it names a configured service class, and never repeats a wrong one', () => {
    expect(parseSsisBody(call({ label: { class: 'premium' } }), CLASSES).labels['class']).to.equal('premium');
    expect(fields(() => parseSsisBody(call({ label: { class: SECRET } }), CLASSES))).to.deep.equal(['label.class']);
    leaks(() => parseSsisBody(call({ label: { class: SECRET } }), CLASSES));
    expect(fields(() => parseSsisBody(call({ label: { class: 7 } }), CLASSES))).to.deep.equal(['label.class']);
  });

  it('without options takes only the class every configuration has, "default"', () => {
    expect(parseSsisBody(call({ label: { class: 'default' } })).labels['class']).to.equal('default');
    expect(fields(() => parseSsisBody(call({ label: { class: 'premium' } })))).to.deep.equal(['label.class']);
  });

  it('reports in envKeys only names the TGI launcher or Hugging Face read, and drops the others', () => {
    const env = { MODEL_ID: GPT2, HF_TOKEN: 'hf_x', NUM_SHARD: '1', MAX_TOTAL_TOKENS: '2048', [SECRET.toUpperCase()]: 'x', MY_APP_SETTING: 'y' };
    const parsed = parseSsisBody(call({ env }));
    expect(parsed.envKeys).to.deep.equal(['MODEL_ID', 'HF_TOKEN', 'NUM_SHARD', 'MAX_TOTAL_TOKENS']);
    expect(JSON.stringify(parsed.envKeys)).to.not.contain(SECRET.toUpperCase());
    for (const name of ['MODEL_ID', 'HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'QUANTIZE', 'NUM_SHARD', 'MAX_INPUT_LENGTH', 'MAX_TOTAL_TOKENS', 'MAX_BATCH_PREFILL_TOKENS', 'MAX_BATCH_TOTAL_TOKENS', 'DTYPE', 'REVISION', 'TRUST_REMOTE_CODE']) {
      expect(LAUNCHER_ENV_NAMES.has(name), name).to.equal(true);
    }
  });

  it('refuses env keys that are not variable names with a 400 naming env, never repeating the key', () => {
    for (const key of [SECRET, 'hf token', 'lower_case', '1ABC', `A${'B'.repeat(64)}`, '']) {
      expect(fields(() => parseSsisBody(call({ env: { MODEL_ID: GPT2, [key]: 'v' } }))), key).to.deep.equal(['env']);
      if (key.length > 3) leaks(() => parseSsisBody(call({ env: { MODEL_ID: GPT2, [key]: 'v' } })), key);
    }
  });

  it('names a bad value by its key only when the key is a known name', () => {
    expect(fields(() => parseSsisBody(call({ env: { MODEL_ID: GPT2, HF_TOKEN: 5 } })))).to.deep.equal(['env.HF_TOKEN']);
    expect(fields(() => parseSsisBody(call({ env: { MODEL_ID: GPT2, ABC_SECRET_NAME: 5 } })))).to.deep.equal(['env']);
    leaks(() => parseSsisBody(call({ env: { MODEL_ID: GPT2, ABC_SECRET_NAME: 5 } })), 'ABC_SECRET_NAME');
  });

  it('bounds the number of env and label entries, label keys and values, and env values', () => {
    const many = (n: number, key: (i: number) => string): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [key(i), 'v']));
    expect(fields(() => parseSsisBody(call({ env: { MODEL_ID: GPT2, ...many(64, (i) => `X_${i}`) } })))).to.deep.equal(['env']);
    expect(parseSsisBody(call({ env: { MODEL_ID: GPT2, ...many(63, (i) => `X_${i}`) } })).envKeys).to.deep.equal(['MODEL_ID']);
    expect(fields(() => parseSsisBody(call({ label: many(17, (i) => `k${i}`) })))).to.deep.equal(['label']);
    expect(Object.keys(parseSsisBody(call({ label: many(16, (i) => `k${i}`) })).labels)).to.have.length(16);
    expect(fields(() => parseSsisBody(call({ env: { MODEL_ID: GPT2, HF_TOKEN: 'x'.repeat(4097) } })))).to.deep.equal(['env.HF_TOKEN']);
    expect(fields(() => parseSsisBody(call({ label: { team: 'a'.repeat(64) } })))).to.deep.equal(['label.team']);
    expect(fields(() => parseSsisBody(call({ label: { team: `${SECRET} with spaces` } })))).to.deep.equal(['label.team']);
    leaks(() => parseSsisBody(call({ label: { team: `${SECRET} with spaces` } })));
    expect(fields(() => parseSsisBody(call({ label: { [`${SECRET} key`]: 'v' } })))).to.deep.equal(['label']);
    leaks(() => parseSsisBody(call({ label: { [`${SECRET} key`]: 'v' } })));
    expect(parseSsisBody(call({ label: { 'example.com/team': 'search', slo: '0.5' } })).labels).to.deep.equal({ 'example.com/team': 'search', slo: '0.5' });
  });

  it('refuses a model id that cannot be one without repeating it; a plausible unknown one is left to the caller', () => {
    const pasted = `Bearer ${SECRET}`;
    expect(fields(() => parseOpenAiBody('openai-completions', { model: pasted, prompt: 'x' }))).to.deep.equal(['model']);
    leaks(() => parseOpenAiBody('openai-completions', { model: pasted, prompt: 'x' }));
    expect(fields(() => parseOpenAiBody('openai-completions', { model: `a/${'b'.repeat(200)}`, prompt: 'x' }))).to.deep.equal(['model']);
    for (const bad of ['a/b/c', '/abs/path', 'org/', '-x', 'a b', 'a\nb', '../etc']) expect(fields(() => parseOpenAiBody('openai-completions', { model: bad, prompt: 'x' })), bad).to.deep.equal(['model']);
    expect(fields(() => parseSsisBody({ token: 'x', env: { MODEL_ID: pasted } }))).to.deep.equal(['env.MODEL_ID']);
    leaks(() => parseSsisBody({ token: 'x', env: { MODEL_ID: pasted } }));
    for (const good of ['acme/unknown-model', 'meta-llama/Llama-3.2-1B-Instruct', 'gpt2', 'llama3:8b']) {
      expect(parseOpenAiBody('openai-completions', { model: good, prompt: 'x' }).modelId).to.equal(good);
    }
  });
});
