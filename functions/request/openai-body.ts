/**
 * The OpenAI API subset the ingress serves (non-streaming): `POST /v1/completions` with
 * {model, prompt, max_tokens, …} and `POST /v1/chat/completions` with {model, messages, max_tokens |
 * max_completion_tokens, …}. `model` is the model id (e.g. `openai-community/gpt2`). The call is
 * translated to the TGI `{inputs, parameters}` the inference services speak, and back.
 */
import { FieldReader } from '../../core/common/fields';
import { validationError } from '../../core/errors';
import { serviceNameFor } from '../../core/naming';
import type { InferenceCall } from './ssis-body';

export type OpenAiApi = 'openai-completions' | 'openai-chat';

const SAMPLING = ['temperature', 'top_p', 'seed', 'stop'] as const;

export function parseOpenAiBody(api: OpenAiApi, body: unknown): InferenceCall {
  const r = new FieldReader();
  const o = r.object(body, 'body');
  if (!o) throw validationError('SSIS_INVALID_REQUEST', 'invalid request', r.issues);
  const modelId = r.string(o, 'model') ?? '';
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
  const key = o['max_completion_tokens'] !== undefined ? 'max_completion_tokens' : 'max_tokens';
  const maxNewTokens = r.number(o, key, { optional: true, min: 1, integer: true }) ?? null;
  const parameters: Record<string, unknown> = {};
  if (maxNewTokens !== null) parameters['max_new_tokens'] = maxNewTokens;
  for (const k of SAMPLING) if (o[k] !== undefined) parameters[k === 'seed' ? 'seed' : k === 'stop' ? 'stop' : k] = o[k];
  if (modelId && serviceNameFor(modelId) === '') r.fail('model', `"${modelId}" gives an empty model key`);
  if (r.issues.length > 0) throw validationError('SSIS_INVALID_REQUEST', 'invalid request', r.issues);
  return { modelId, service: serviceNameFor(modelId), prompt, parameters, maxNewTokens, envKeys: [], labels: {}, sloMs: null, payload: null, subroute: null };
}

export function openAiResponse(api: OpenAiApi, call: InferenceCall, requestId: string, text: string, usage: { promptTokens: number; completionTokens: number }, createdSec: number): unknown {
  const common = {
    id: `${api === 'openai-chat' ? 'chatcmpl' : 'cmpl'}-${requestId}`,
    created: createdSec,
    model: call.modelId,
    usage: { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.promptTokens + usage.completionTokens },
  };
  if (api === 'openai-chat') {
    return { ...common, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: text.trimStart() }, finish_reason: 'length' }] };
  }
  return { ...common, object: 'text_completion', choices: [{ index: 0, text, logprobs: null, finish_reason: 'length' }] };
}
