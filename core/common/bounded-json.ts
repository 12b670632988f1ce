/**
 * JSON from untrusted senders with its nesting bounded (ARCHITECTURE.md "every intake is bounded").
 * JSON.parse itself copes with deep nesting, but what comes after it does not: JSON.stringify,
 * schema validation and every recursive walk throw RangeError (call stack exceeded) a few thousand
 * levels down, and a 10 KB body reaches that depth. Such a failure would surface as an internal,
 * retriable error long after the intake; refusing the text at the boundary makes it a 400 naming
 * the field, and keeps everything past the intake free of depth checks.
 *
 * Depth counts containers: a scalar is 0 deep, `{}` and `[]` 1, `{"a":[1]}` 2.
 */
import { validationError, type ErrorCode, type FieldIssue } from '../errors';

/** Far above any request or event this system exchanges (their schemas nest fewer than 8 levels). */
export const DEFAULT_MAX_JSON_DEPTH = 32;

/** The intakes that parse JSON: inference requests and CloudEvents. */
export type JsonIntakeCode = Extract<ErrorCode, 'SSIS_INVALID_REQUEST' | 'SSIS_INVALID_EVENT'>;

export interface JsonBounds {
  /** Deepest nesting taken (default DEFAULT_MAX_JSON_DEPTH). */
  readonly maxDepth?: number;
  /** The field named in the issue (default `body`). */
  readonly field?: string;
  /** The code of the error thrown (default SSIS_INVALID_REQUEST). */
  readonly code?: JsonIntakeCode;
}

export type BoundedJsonParse = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly issue: FieldIssue };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * True when `text` opens more than `maxDepth` objects or arrays inside one another. One pass, no
 * recursion, stopping at the first level too many; brackets inside strings (escaped quotes
 * included) do not count. The text need not be valid JSON: JSON.parse judges that afterwards.
 */
export function jsonTextExceedsDepth(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++; // the escaped character can neither end the string nor open a container
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/**
 * True when an already parsed value (from a parser this module did not guard, e.g. a framework's
 * body parser or an SDK) nests more than `maxDepth` containers. Walks with an explicit stack, so a
 * deep value cannot overflow the call stack, and stops at the first level too many (which also
 * ends the walk of a value that refers to itself).
 */
export function valueExceedsDepth(value: unknown, maxDepth: number): boolean {
  const pending: { readonly value: unknown; readonly depth: number }[] = [{ value, depth: 0 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (next.value === null || typeof next.value !== 'object') continue;
    const depth = next.depth + 1;
    if (depth > maxDepth) return true;
    const children = Array.isArray(next.value) ? (next.value as unknown[]) : Object.values(next.value);
    for (const child of children) pending.push({ value: child, depth });
  }
  return false;
}

/** JSON.parse behind the depth bound, reporting a problem as an issue rather than throwing. */
export function tryParseJsonBounded(text: string, bounds: Pick<JsonBounds, 'maxDepth' | 'field'> = {}): BoundedJsonParse {
  const maxDepth = bounds.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
  const field = bounds.field ?? 'body';
  if (jsonTextExceedsDepth(text, maxDepth)) return { ok: false, issue: tooDeep(field, maxDepth) };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    const reason = err instanceof SyntaxError ? err.message : String(err);
    return { ok: false, issue: { field, message: `is not valid JSON (${reason})` } };
  }
}

/**
 * JSON.parse behind the depth bound.
 * @throws {SsisError} `bounds.code` (default SSIS_INVALID_REQUEST, 400) naming `bounds.field`
 *   (default `body`) when the text nests deeper than the bound (the message states the bound) or
 *   is not JSON
 */
export function parseJsonBounded(text: string, bounds: JsonBounds = {}): unknown {
  const parsed = tryParseJsonBounded(text, bounds);
  if (!parsed.ok) throw intakeError(parsed.issue, bounds.code);
  return parsed.value;
}

/**
 * The depth bound for a value parsed elsewhere.
 * @throws {SsisError} `bounds.code` (default SSIS_INVALID_REQUEST, 400) naming `bounds.field` (default `body`)
 */
export function checkJsonDepth(value: unknown, bounds: JsonBounds = {}): void {
  const maxDepth = bounds.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
  if (valueExceedsDepth(value, maxDepth)) throw intakeError(tooDeep(bounds.field ?? 'body', maxDepth), bounds.code);
}

/** The issue's message when a value nests deeper than `maxDepth`, for callers that collect issues. */
export function tooDeepMessage(maxDepth: number): string {
  return `nests objects and arrays deeper than the limit of ${maxDepth} levels`;
}

function tooDeep(field: string, maxDepth: number): FieldIssue {
  return { field, message: tooDeepMessage(maxDepth) };
}

function intakeError(issue: FieldIssue, code: JsonIntakeCode = 'SSIS_INVALID_REQUEST'): Error {
  // The same wording as every other validation failure of that intake.
  return validationError(code, code === 'SSIS_INVALID_EVENT' ? 'invalid CloudEvent' : 'invalid request', [issue]);
}
