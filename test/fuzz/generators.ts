/**
 * Seeded generators of hostile input: random JSON (deep, wide, odd numbers and strings, prototype
 * keys), mutations of valid bodies and events (a field dropped, retyped, made huge or nested), and
 * raw HTTP requests (methods, paths, content types, broken bodies, credentials). The same seed
 * gives the same inputs, so a failure found once is found again.
 */
export type Rand = () => number;

export const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
export const int = (rand: Rand, lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));

const STRINGS = ['', ' ', 'a', '0x10', '1e400', '-1', '20', 'NaN', 'null', 'true', '__proto__', 'constructor', '\u0000', '\ud800', '😀'.repeat(50), '<script>', '../../etc/passwd', 'hf_' + 'x'.repeat(34), '%s%s%s', 'a'.repeat(5000)];
const NUMBERS = [0, -0, 1, -1, 0.5, 1e308, -1e308, 2 ** 53 + 1, 4294967297, 1e-320, 123456789012];
const KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'MODEL_ID', 'HF_TOKEN', 'token', 'par', 'env', 'model', 'messages', 'prompt', '', 'x'.repeat(300)];

export function randomJson(rand: Rand, depth = 0): unknown {
  const r = rand();
  if (depth > 4 || r < 0.3) {
    const k = rand();
    if (k < 0.3) return pick(rand, STRINGS);
    if (k < 0.6) return pick(rand, NUMBERS);
    if (k < 0.8) return pick(rand, [true, false, null]);
    return String.fromCharCode(...Array.from({ length: int(rand, 0, 40) }, () => int(rand, 0, 0xffff)));
  }
  if (r < 0.6) return Array.from({ length: int(rand, 0, 6) }, () => randomJson(rand, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = int(rand, 0, 6); i > 0; i--) o[rand() < 0.3 ? pick(rand, KEYS) : `k${int(rand, 0, 99)}`] = randomJson(rand, depth + 1);
  return o;
}

/** Text that nests `depth` deep: arrays or objects around a value. */
export function deepJson(rand: Rand, depth: number): string {
  const open = rand() < 0.5 ? '['.repeat(depth) : '{"a":'.repeat(depth);
  const close = open.startsWith('[') ? ']'.repeat(depth) : '}'.repeat(depth);
  return `${open}1${close}`;
}

/** A copy of `value` with one random change somewhere in it. */
export function mutate(rand: Rand, value: unknown): unknown {
  if (value === null || typeof value !== 'object') return rand() < 0.5 ? randomJson(rand) : value;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...(value as unknown[])] : { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  const op = rand();
  if (keys.length === 0 || op < 0.1) {
    (copy as Record<string, unknown>)[pick(rand, KEYS)] = randomJson(rand);
    return copy;
  }
  const key = pick(rand, keys);
  const target = copy as Record<string, unknown>;
  if (op < 0.25) delete target[key];
  else if (op < 0.5) target[key] = randomJson(rand);
  else if (op < 0.6) target[key] = JSON.parse(deepJson(rand, int(rand, 30, 3000))) as unknown;
  else if (op < 0.7) target[key] = 'z'.repeat(int(rand, 1000, 100_000));
  else if (op < 0.8) target[key] = pick(rand, NUMBERS);
  else target[key] = mutate(rand, target[key]);
  return copy;
}

export interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Buffer;
}

const PATHS = ['/', '/v1/completions', '/v1/chat/completions', '/v1/models', '/v1/models/x', '/v1/nothing', '/metrics', '/health/readiness', '/%', '/..%2f..%2f', '/' + 'p'.repeat(3000), '/?a=' + 'b'.repeat(500)];
const API_PATHS = ['/', '/v1/completions', '/v1/chat/completions'];
const TYPES = ['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/cloudevents+json', 'application/cloudevents-batch+json', 'multipart/form-data; boundary=x', '', 'application/json; charset=latin1'];

/** A request that need not make sense: any method, path, content type, body or credential. */
export function rawRequest(rand: Rand, bodies: readonly unknown[]): RawRequest {
  const headers: Record<string, string> = {};
  // Mostly what a real client sends, so most inputs get past routing into the parsers.
  const type = rand() < 0.7 ? 'application/json' : pick(rand, TYPES);
  if (type) headers['content-type'] = type;
  if (rand() < 0.3) headers['authorization'] = pick(rand, ['Bearer', 'Bearer x', 'Basic dXNlcjpwYXNz', `Bearer ${'a'.repeat(5000)}`, 'bearer ssis-nope']);
  if (rand() < 0.2) Object.assign(headers, { 'ce-specversion': pick(rand, ['1.0', '0.3', '']), 'ce-id': 'x', 'ce-type': pick(rand, ['ssis.scale.decided', 'ssis.request.received', 'evil']), 'ce-source': '/x' });
  const r = rand();
  const body = r < 0.3 ? JSON.stringify(mutate(rand, pick(rand, bodies)))
    : r < 0.45 ? JSON.stringify(randomJson(rand))
      : r < 0.55 ? deepJson(rand, int(rand, 50, 6000))
        : r < 0.65 ? Buffer.from(Array.from({ length: int(rand, 0, 2000) }, () => int(rand, 0, 255)))
          : r < 0.75 ? '{"token": "a", "env": {"MODEL_ID": '
            : r < 0.8 ? 'x'.repeat(int(rand, 1 << 20, (1 << 20) + 5000))
              : JSON.stringify(pick(rand, bodies));
  const method = rand() < 0.85 ? 'POST' : pick(rand, ['GET', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);
  const path = rand() < 0.8 ? pick(rand, API_PATHS) : pick(rand, PATHS);
  return { method, path, headers, body };
}
