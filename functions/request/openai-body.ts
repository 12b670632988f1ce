/**
 * The OpenAI API subset the ingress serves (non-streaming): `POST /v1/completions` with
 * {model, prompt, max_tokens, …} and `POST /v1/chat/completions` with {model, messages, max_tokens |
 * max_completion_tokens, …}. `model` is the model id (e.g. `openai-community/gpt2`). The call is
 * translated to the TGI `{inputs, parameters}` the inference services speak, and back.
 */
import { FieldReader } from '../../core/common/fields';
import { modelIdProblem } from '../../core/common/model-id';
import { validationError } from '../../core/errors';
import { serviceNameFor } from '../../core/naming';
import { MAX_NEW_TOKENS_LIMIT, type InferenceCall } from './ssis-body';

export type OpenAiApi = 'openai-completions' | 'openai-chat';

/** Names the serving configuration, as OpenAI's `system_fingerprint` does: here the SSIS ingress. */
export const SYSTEM_FINGERPRINT = 'ssis-ingress';

/** OpenAI takes at most four stop sequences. */
const MAX_STOP_SEQUENCES = 4;

export function parseOpenAiBody(api: OpenAiApi, body: unknown): InferenceCall {
  const r = new FieldReader();
  const o = r.object(body, 'body');
  if (!o) throw validationError('SSIS_INVALID_REQUEST', 'invalid request', r.issues);
  const modelId = r.string(o, 'model') ?? '';
  // Implausible ids are refused here without repeating them; a plausible unknown one is the caller's 404.
  const modelProblem = modelId ? modelIdProblem(modelId) : undefined;
  if (modelProblem) r.fail('model', modelProblem);
  if (o['stream'] === true) r.fail('stream', 'streaming is not supported yet; send "stream": false');
  let prompt = '';
  if (api === 'openai-completions') {
    const p = o['prompt'];
    if (typeof p === 'string' && p.length > 0) prompt = p;
    else r.fail('prompt', p === undefined ? 'is required' : 'must be a non-empty string');
  } else {
    const messages = r.array(o['messages'], 'messages') ?? [];
    if (Array.isArray(o['messages']) && messages.length === 0) r.fail('messages', 'must not be empty');
    const lines: string[] = [];
    messages.forEach((m, i) => {
      const f = r.child('messages').child(i);
      const mo = f.object(m, '');
      if (!mo) return;
      const role = f.string(mo, 'role');
      const content = f.string(mo, 'content', { nonEmpty: false });
      if (role !== undefined && !['system', 'user', 'assistant', 'tool', 'developer'].includes(role)) f.fail('role', `unknown role "${role}"`);
      if (role !== undefined && content !== undefined) lines.push(`${role}: ${content}`);
    });
    // A plain-text chat template; the emulated and TGI back ends take one prompt string.
    prompt = `${lines.join('\n')}\nassistant:`;
  }
  const key = o['max_completion_tokens'] !== undefined && o['max_completion_tokens'] !== null ? 'max_completion_tokens' : 'max_tokens';
  // JSON numbers only: the API has no numeric strings (Number() would read "0x10" as 16); null
  // is "not given", as the API documents.
  const optionalNumber = (name: string, bounds: { min: number; max: number; integer?: boolean }): number | undefined =>
    o[name] === null ? undefined : r.number(o, name, { ...bounds, optional: true, fromString: false });
  const maxNewTokens = optionalNumber(key, { min: 1, max: MAX_NEW_TOKENS_LIMIT, integer: true }) ?? null;
  const parameters: Record<string, unknown> = {};
  if (maxNewTokens !== null) parameters['max_new_tokens'] = maxNewTokens;
  // The sampling parameters go on to the model server as TGI `parameters`: checked here (OpenAI's
  // ranges) rather than passed through as whatever the client sent.
  const sampling = {
    temperature: optionalNumber('temperature', { min: 0, max: 2 }),
    top_p: optionalNumber('top_p', { min: 0, max: 1 }),
    seed: optionalNumber('seed', { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }),
  };
  for (const [name, value] of Object.entries(sampling)) if (value !== undefined) parameters[name] = value;
  refuseUnimplemented(o, r);
  const stop = readStop(o['stop'], r);
  if (stop !== undefined) parameters['stop'] = stop;
  if (r.issues.length > 0) throw validationError('SSIS_INVALID_REQUEST', 'invalid request', r.issues);
  return { modelId, service: serviceNameFor(modelId), prompt, parameters, maxNewTokens, envKeys: [], labels: {}, sloMs: null, payload: null, subroute: null };
}

/**
 * Options the engines behind the ingress do not give yet: refused by name, never silently ignored
 * (a client asking for log probabilities must not get an answer without them). Their "off" values
 * are accepted, as the official clients send some of them by default.
 */
function refuseUnimplemented(o: Record<string, unknown>, r: FieldReader): void {
  const off: Readonly<Record<string, (v: unknown) => boolean>> = {
    n: (v) => v === 1,
    best_of: (v) => v === 1,
    logprobs: (v) => v === false || v === 0,
    top_logprobs: (v) => v === 0,
    echo: (v) => v === false,
    suffix: (v) => v === '',
    logit_bias: (v) => typeof v === 'object' && v !== null && Object.keys(v).length === 0,
    response_format: (v) => typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'text',
    tools: (v) => Array.isArray(v) && v.length === 0,
  };
  for (const [name, isOff] of Object.entries(off)) {
    const v = o[name];
    if (v !== undefined && v !== null && !isOff(v)) r.fail(name, 'is not supported by this server yet; leave it out');
  }
}

/** `stop`: one string or a list of up to four; TGI takes a list, so a single string becomes one. */
function readStop(raw: unknown, r: FieldReader): string[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') return [raw];
  const list = Array.isArray(raw) ? (raw as unknown[]) : undefined;
  if (!list || list.length > MAX_STOP_SEQUENCES || !list.every((s) => typeof s === 'string')) {
    r.fail('stop', `must be a string or a list of at most ${MAX_STOP_SEQUENCES} strings`);
    return undefined;
  }
  return list;
}

export function openAiResponse(api: OpenAiApi, call: InferenceCall, requestId: string, text: string, usage: { promptTokens: number; completionTokens: number }, createdSec: number): unknown {
  const common = {
    id: `${api === 'openai-chat' ? 'chatcmpl' : 'cmpl'}-${requestId}`,
    created: createdSec,
    model: call.modelId,
    system_fingerprint: SYSTEM_FINGERPRINT,
    usage: { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.promptTokens + usage.completionTokens },
  };
  if (api === 'openai-chat') {
    return { ...common, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: text.trimStart() }, logprobs: null, finish_reason: 'length' }] };
  }
  return { ...common, object: 'text_completion', choices: [{ index: 0, text, logprobs: null, finish_reason: 'length' }] };
}
