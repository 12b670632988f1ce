/**
 * The SSIS request format (notes/ssis.md §1.2): `{token, par, env{MODEL_ID, …}, label?, payload?,
 * subroute?}`. `env` carries TGI launcher variables and usually HF_TOKEN: its values are secrets
 * and stay inside this module's result, never in events, logs or metrics.
 *
 * What does leave this module (into ssis.request.received: `envKeys`, the service class from
 * `label.class`) is held to closed sets, so that a secret pasted into the wrong place cannot ride
 * along: env names only from LAUNCHER_ENV_NAMES, the class only among the configured ones. Error
 * messages name the field but never repeat an env name or label value the client sent.
 */
import { DEFAULT_MAX_JSON_DEPTH, tooDeepMessage, valueExceedsDepth } from '../../core/common/bounded-json';
import { describe as describeValue, FieldReader } from '../../core/common/fields';
import { modelIdProblem } from '../../core/common/model-id';
import { validationError } from '../../core/errors';
import { serviceNameFor } from '../../core/naming';

export interface InferenceCall {
  readonly modelId: string;
  readonly service: string;
  readonly prompt: string;
  /** TGI `parameters`, passed through unchanged. */
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly maxNewTokens: number | null;
  /** Names only, and only those of LAUNCHER_ENV_NAMES; the values are never copied out of the request. */
  readonly envKeys: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly sloMs: number | null;
  /** Custom body forwarded verbatim instead of {inputs, parameters} (newest reference Dispatcher). */
  readonly payload: Readonly<Record<string, unknown>> | null;
  readonly subroute: string | null;
}

export interface SsisBodyOptions {
  /** The configured service classes' names (config.serviceClasses); `label.class` must be one of them. */
  readonly serviceClasses: readonly string[];
}

/**
 * Without options only the class every configuration has by default (ssis-config's
 * `ingress.defaultServiceClass`, "default") is taken: a caller that does not pass the configured
 * names gets other classes refused, never an open set.
 */
export const DEFAULT_SSIS_BODY_OPTIONS: SsisBodyOptions = { serviceClasses: ['default'] };

/**
 * The env names an inference container is known to read: the TGI launcher's variables (its
 * `--help`, one per flag), Hugging Face Hub's, and those of the reference's sample inference server
 * (notes/ssis.md §2). Only these names are reported in `envKeys`; others are dropped from it.
 */
export const LAUNCHER_ENV_NAMES: ReadonlySet<string> = new Set([
  // TGI launcher
  'MODEL_ID', 'REVISION', 'VALIDATION_WORKERS', 'SHARDED', 'NUM_SHARD', 'QUANTIZE', 'SPECULATE', 'DTYPE', 'KV_CACHE_DTYPE',
  'TRUST_REMOTE_CODE', 'MAX_CONCURRENT_REQUESTS', 'MAX_BEST_OF', 'MAX_STOP_SEQUENCES', 'MAX_TOP_N_TOKENS', 'MAX_INPUT_TOKENS',
  'MAX_INPUT_LENGTH', 'MAX_TOTAL_TOKENS', 'WAITING_SERVED_RATIO', 'MAX_BATCH_PREFILL_TOKENS', 'MAX_BATCH_TOTAL_TOKENS',
  'MAX_WAITING_TOKENS', 'MAX_BATCH_SIZE', 'CUDA_GRAPHS', 'PORT', 'HUGGINGFACE_HUB_CACHE', 'WEIGHTS_CACHE_OVERRIDE',
  'DISABLE_CUSTOM_KERNELS', 'CUDA_MEMORY_FRACTION', 'ROPE_SCALING', 'ROPE_FACTOR', 'JSON_OUTPUT', 'OTLP_ENDPOINT',
  'OTLP_SERVICE_NAME', 'CORS_ALLOW_ORIGIN', 'WATERMARK_GAMMA', 'WATERMARK_DELTA', 'TOKENIZER_CONFIG_PATH',
  'DISABLE_GRAMMAR_SUPPORT', 'MAX_CLIENT_BATCH_SIZE', 'LORA_ADAPTERS', 'USAGE_STATS', 'PAYLOAD_LIMIT', 'PREFIX_CACHING',
  'ATTENTION', 'ENABLE_PREFILL_LOGPROBS',
  // Hugging Face Hub
  'HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'HF_HOME', 'HF_ENDPOINT', 'HF_HUB_OFFLINE', 'HF_HUB_ENABLE_HF_TRANSFER',
  // the reference's sample inference server (Inference/server.py)
  'BATCH_TIME', 'TIMEOUT',
]);

/** A POSIX-style environment variable name, as Kubernetes and the TGI launcher spell them. */
const ENV_NAME = /^[A-Z_][A-Z0-9_]{0,63}$/;
export const MAX_ENV_ENTRIES = 64;
/** Room for any token or model path; the body size bounds the whole anyway. */
export const MAX_ENV_VALUE_LENGTH = 4096;

/**
 * Labels are pod labels in the reference (notes/ssis.md §1.2), so they follow Kubernetes label
 * syntax: key `[prefix/]name`, name and value at most 63 characters.
 */
const LABEL_KEY = /^(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
export const MAX_LABEL_ENTRIES = 16;

/** `max_new_tokens` as a string: decimal digits only (the reference's test payload sends "20"). */
const DECIMAL_DIGITS = /^[0-9]{1,9}$/;
export const MAX_NEW_TOKENS_LIMIT = 999_999_999;

/** `label.slo` in seconds, in plain decimal notation ("0.25"). */
const DECIMAL_SECONDS = /^[0-9]{1,6}(?:\.[0-9]{1,9})?$/;

const KNOWN = ['token', 'par', 'env', 'label', 'payload', 'subroute'] as const;

export function parseSsisBody(body: unknown, options: SsisBodyOptions = DEFAULT_SSIS_BODY_OPTIONS): InferenceCall {
  const r = new FieldReader();
  const o = r.object(body, 'body');
  if (!o) throw validationError('SSIS_INVALID_REQUEST', 'invalid request', r.issues);
  r.unknownKeys(o, KNOWN);
  const payload = o['payload'] === undefined ? null : (r.object(o['payload'], 'payload') ?? null);
  const prompt = payload ? (typeof o['token'] === 'string' ? o['token'] : '') : (r.string(o, 'token') ?? '');
  const par = o['par'] === undefined || o['par'] === null ? {} : (r.object(o['par'], 'par') ?? {});
  // Both go on to the model server as JSON: refused here, a value too deep to serialize would only
  // fail later, as a retriable upstream error, whoever parsed the body.
  for (const [field, value] of [['par', par], ['payload', payload]] as const) {
    if (valueExceedsDepth(value, DEFAULT_MAX_JSON_DEPTH)) r.fail(field, tooDeepMessage(DEFAULT_MAX_JSON_DEPTH));
  }
  const env = r.object(o['env'], 'env');
  const envKeys = env ? readEnvNames(env, r.child('env')) : [];
  let modelId = '';
  if (env) {
    modelId = r.child('env').string(env, 'MODEL_ID') ?? '';
    // A plausible id ends in a letter or digit, so its model key (serviceNameFor) is never empty.
    const problem = modelId ? modelIdProblem(modelId) : undefined;
    if (problem) r.child('env').fail('MODEL_ID', problem);
  }
  const labels = o['label'] === undefined ? {} : readLabels(o['label'], r, options);
  let sloMs: number | null = null;
  if (labels['slo'] !== undefined) {
    // The reference's load generator puts the SLO in seconds into label `slo`.
    const seconds = DECIMAL_SECONDS.test(labels['slo']) ? Number(labels['slo']) : Number.NaN;
    if (!(seconds > 0)) r.child('label').fail('slo', 'must be a positive number of seconds in decimal notation (e.g. "0.25")');
    else sloMs = seconds * 1000;
  }
  const subroute = r.string(o, 'subroute', { optional: true }) ?? null;
  if (subroute !== null && !subroute.startsWith('/')) r.fail('subroute', 'must start with "/"');
  const maxNewTokens = readMaxNewTokens(par, r.child('par'));
  if (r.issues.length > 0) throw validationError('SSIS_INVALID_REQUEST', 'invalid request', r.issues);
  return { modelId, service: serviceNameFor(modelId), prompt, parameters: par, maxNewTokens, envKeys, labels, sloMs, payload, subroute };
}

/**
 * Checks every env entry and returns the names worth reporting (those of LAUNCHER_ENV_NAMES). An
 * issue names `env.<NAME>` only for a known name: any other name may be a secret in the wrong place.
 */
function readEnvNames(env: Record<string, unknown>, r: FieldReader): string[] {
  const entries = Object.entries(env);
  if (entries.length > MAX_ENV_ENTRIES) {
    r.fail('', `has ${entries.length} entries; at most ${MAX_ENV_ENTRIES} are taken`);
    return [];
  }
  const names: string[] = [];
  let badNames = 0;
  for (const [name, value] of entries) {
    if (!ENV_NAME.test(name)) {
      badNames++;
      continue;
    }
    const known = LAUNCHER_ENV_NAMES.has(name);
    if (typeof value !== 'string') r.fail(known ? name : '', known ? 'must be a string' : 'every value must be a string');
    else if (value.length > MAX_ENV_VALUE_LENGTH) r.fail(known ? name : '', `values must be at most ${MAX_ENV_VALUE_LENGTH} characters`);
    if (known) names.push(name);
  }
  if (badNames > 0) r.fail('', `${badNames === 1 ? 'a key is' : `${badNames} keys are`} not an environment variable name (${ENV_NAME.source})`);
  return names;
}

/** Label keys, values and count checked; `class` must name a configured service class. */
function readLabels(raw: unknown, r: FieldReader, options: SsisBodyOptions): Record<string, string> {
  const labels: Record<string, string> = {};
  const l = r.object(raw, 'label');
  if (!l) return labels;
  const f = r.child('label');
  const entries = Object.entries(l);
  if (entries.length > MAX_LABEL_ENTRIES) {
    f.fail('', `has ${entries.length} entries; at most ${MAX_LABEL_ENTRIES} are taken`);
    return labels;
  }
  let badKeys = 0;
  for (const [key, value] of entries) {
    if (!LABEL_KEY.test(key)) badKeys++;
    else if (typeof value !== 'string') f.fail(key, 'must be a string');
    else if (key === 'class' && !options.serviceClasses.includes(value)) {
      f.fail(key, `is not a configured service class (known: ${options.serviceClasses.join(', ')})`);
    } else if (!LABEL_VALUE.test(value)) {
      f.fail(key, 'must be a Kubernetes label value: at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit');
    } else labels[key] = value;
  }
  if (badKeys > 0) f.fail('', `${badKeys === 1 ? 'a key is' : `${badKeys} keys are`} not a Kubernetes label key ([prefix/]name, name at most 63 characters)`);
  return labels;
}

/**
 * `max_new_tokens` is a JSON integer, or a string of decimal digits: the reference's test payload
 * sends "20". Nothing else is read as a number (no hex, exponent, sign, fraction or whitespace):
 * what the client meant is then a guess, and the model server would read it differently.
 */
export function readMaxNewTokens(par: Record<string, unknown>, r: FieldReader): number | null {
  const raw = par['max_new_tokens'];
  if (raw === undefined || raw === null) return null;
  const n = typeof raw === 'string' ? (DECIMAL_DIGITS.test(raw) ? Number(raw) : Number.NaN) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_NEW_TOKENS_LIMIT) {
    r.fail('max_new_tokens', `must be a positive integer up to ${MAX_NEW_TOKENS_LIMIT} (a JSON number, or a string of decimal digits), got ${describeValue(raw)}`);
    return null;
  }
  return n;
}
