/**
 * The SSIS request format (notes/ssis.md §1.2): `{token, par, env{MODEL_ID, …}, label?, payload?,
 * subroute?}`. `env` carries TGI launcher variables and usually HF_TOKEN: its values are secrets
 * and stay inside this module's result, never in events, logs or metrics.
 */
import { FieldReader } from '../../core/common/fields';
import { validationError } from '../../core/errors';
import { serviceNameFor } from '../../core/naming';

export interface InferenceCall {
  readonly modelId: string;
  readonly service: string;
  readonly prompt: string;
  /** TGI `parameters`, passed through unchanged. */
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly maxNewTokens: number | null;
  /** Names only; the values are never copied out of the request. */
  readonly envKeys: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly sloMs: number | null;
  /** Custom body forwarded verbatim instead of {inputs, parameters} (newest reference Dispatcher). */
  readonly payload: Readonly<Record<string, unknown>> | null;
  readonly subroute: string | null;
}

const KNOWN = ['token', 'par', 'env', 'label', 'payload', 'subroute'] as const;

export function parseSsisBody(body: unknown): InferenceCall {
  const r = new FieldReader();
  const o = r.object(body, 'body');
  if (!o) throw validationError('SSIS_INVALID_REQUEST', 'invalid request', r.issues);
  r.unknownKeys(o, KNOWN);
  const payload = o['payload'] === undefined ? null : (r.object(o['payload'], 'payload') ?? null);
  const prompt = payload ? (typeof o['token'] === 'string' ? o['token'] : '') : (r.string(o, 'token') ?? '');
  const par = o['par'] === undefined || o['par'] === null ? {} : (r.object(o['par'], 'par') ?? {});
  const env = r.object(o['env'], 'env');
  const envKeys: string[] = [];
  let modelId = '';
  if (env) {
    for (const [k, v] of Object.entries(env)) {
      envKeys.push(k);
      if (typeof v !== 'string') r.child('env').fail(k, 'must be a string');
    }
    modelId = r.child('env').string(env, 'MODEL_ID') ?? '';
    if (modelId && serviceNameFor(modelId) === '') r.child('env').fail('MODEL_ID', `"${modelId}" gives an empty model key (no [a-z0-9] after the last "/")`);
  }
  const labels: Record<string, string> = {};
  if (o['label'] !== undefined) {
    const l = r.object(o['label'], 'label') ?? {};
    for (const [k, v] of Object.entries(l)) {
      if (typeof v === 'string') labels[k] = v;
      else r.child('label').fail(k, 'must be a string');
    }
  }
  let sloMs: number | null = null;
  if (labels['slo'] !== undefined) {
    // The reference's load generator puts the SLO in seconds into label `slo`.
    const seconds = Number(labels['slo']);
    if (!Number.isFinite(seconds) || seconds <= 0) r.child('label').fail('slo', 'must be a positive number of seconds');
    else sloMs = seconds * 1000;
  }
  const subroute = r.string(o, 'subroute', { optional: true }) ?? null;
  if (subroute !== null && !subroute.startsWith('/')) r.fail('subroute', 'must start with "/"');
  const maxNewTokens = readMaxNewTokens(par, r.child('par'));
  if (r.issues.length > 0) throw validationError('SSIS_INVALID_REQUEST', 'invalid request', r.issues);
  return { modelId, service: serviceNameFor(modelId), prompt, parameters: par, maxNewTokens, envKeys, labels, sloMs, payload, subroute };
}

/** `max_new_tokens` may be a number or a numeric string (the reference's test payload sends "20"). */
export function readMaxNewTokens(par: Record<string, unknown>, r: FieldReader): number | null {
  const raw = par['max_new_tokens'];
  if (raw === undefined || raw === null) return null;
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    r.fail('max_new_tokens', `must be a positive integer, got ${JSON.stringify(raw)}`);
    return null;
  }
  return n;
}
