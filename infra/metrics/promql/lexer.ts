/**
 * PromQL tokenizer. Keywords (and, by, offset, sum, ...) come out as identifiers: whether a word
 * is a keyword, a metric name or a label name depends on where it stands, which the parser knows.
 * Every token keeps its 0-based position for error messages.
 */
import { promqlSyntaxError } from './errors';

export type Token =
  | { readonly kind: 'identifier'; readonly text: string; readonly pos: number }
  | { readonly kind: 'number'; readonly text: string; readonly pos: number; readonly value: number }
  | { readonly kind: 'duration'; readonly text: string; readonly pos: number; readonly ms: number }
  | { readonly kind: 'string'; readonly text: string; readonly pos: number; readonly value: string }
  | { readonly kind: 'punctuation'; readonly text: string; readonly pos: number }
  | { readonly kind: 'end'; readonly text: ''; readonly pos: number };

// Longest first, so that "==" is not read as "=" "=".
const PUNCTUATION = ['==', '!=', '>=', '<=', '=~', '!~', '+', '-', '*', '/', '%', '^', '>', '<', '=', '(', ')', '{', '}', '[', ']', ',', ':', '@'];
const IDENTIFIER = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const HEX_NUMBER = /0[xX][0-9a-fA-F]+/y;
const DECIMAL_NUMBER = /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;
const DURATION = /(?:\d+(?:ms|s|m|h|d|w|y))+/y;
const DURATION_PART = /(\d+)(ms|s|m|h|d|w|y)/g;
const IDENTIFIER_CHAR = /[a-zA-Z0-9_.]/;

/** Milliseconds per unit, largest first: units of a compound duration must appear in this order. */
const DURATION_UNITS: readonly (readonly [string, number])[] = [
  ['y', 365 * 24 * 3_600_000],
  ['w', 7 * 24 * 3_600_000],
  ['d', 24 * 3_600_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
];

export function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const ch = query[i] ?? '';
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      i++;
      continue;
    }
    if (ch === '#') {
      while (i < query.length && query[i] !== '\n') i++;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') {
      const { value, end } = readString(query, i);
      tokens.push({ kind: 'string', text: query.slice(i, end), pos: i, value });
      i = end;
      continue;
    }
    if (/\d/.test(ch) || (ch === '.' && /\d/.test(query[i + 1] ?? ''))) {
      const token = readNumberOrDuration(query, i);
      tokens.push(token);
      i += token.text.length;
      continue;
    }
    IDENTIFIER.lastIndex = i;
    const identifier = IDENTIFIER.exec(query);
    if (identifier) {
      tokens.push({ kind: 'identifier', text: identifier[0], pos: i });
      i += identifier[0].length;
      continue;
    }
    const punctuation = PUNCTUATION.find((p) => query.startsWith(p, i));
    if (punctuation === undefined) throw promqlSyntaxError(query, `unexpected character ${JSON.stringify(ch)}`, i);
    tokens.push({ kind: 'punctuation', text: punctuation, pos: i });
    i += punctuation.length;
  }
  tokens.push({ kind: 'end', text: '', pos: query.length });
  return tokens;
}

/** Parses a duration such as 5m or 1h30m into ms; undefined when the text is not one. */
export function parseDuration(text: string): number | undefined {
  DURATION.lastIndex = 0;
  const whole = DURATION.exec(text);
  if (!whole || whole[0].length !== text.length) return undefined;
  let ms = 0;
  let previousRank = -1;
  for (const [, amount, unit] of text.matchAll(DURATION_PART)) {
    const rank = DURATION_UNITS.findIndex(([name]) => name === unit);
    if (rank <= previousRank) return undefined;
    previousRank = rank;
    ms += Number(amount) * (DURATION_UNITS[rank]?.[1] ?? 0);
  }
  return ms;
}

function readNumberOrDuration(query: string, start: number): Token {
  const badSyntax = (): never => {
    throw promqlSyntaxError(query, 'bad number or duration syntax', start);
  };
  const followedByIdentifierChar = (end: number): boolean => IDENTIFIER_CHAR.test(query[end] ?? '');

  HEX_NUMBER.lastIndex = start;
  const hex = HEX_NUMBER.exec(query);
  if (hex) {
    if (followedByIdentifierChar(start + hex[0].length)) badSyntax();
    return { kind: 'number', text: hex[0], pos: start, value: parseInt(hex[0].slice(2), 16) };
  }
  DURATION.lastIndex = start;
  const duration = DURATION.exec(query);
  if (duration && !followedByIdentifierChar(start + duration[0].length)) {
    const ms = parseDuration(duration[0]);
    if (ms === undefined) throw promqlSyntaxError(query, `invalid duration ${JSON.stringify(duration[0])} (units must go from largest to smallest)`, start);
    return { kind: 'duration', text: duration[0], pos: start, ms };
  }
  DECIMAL_NUMBER.lastIndex = start;
  const decimal = DECIMAL_NUMBER.exec(query);
  if (!decimal || followedByIdentifierChar(start + decimal[0].length)) return badSyntax();
  return { kind: 'number', text: decimal[0], pos: start, value: decimalValue(decimal[0]) };
}

/** Prometheus reads integer literals with Go's base-0 rules first, so a leading 0 means octal. */
function decimalValue(text: string): number {
  if (/^0[0-7]+$/.test(text)) return parseInt(text, 8);
  return Number(text);
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
  "'": "'",
};

/** Reads a quoted string (Go escape rules; backquoted strings are raw). */
function readString(query: string, start: number): { value: string; end: number } {
  const quote = query[start];
  let value = '';
  let i = start + 1;
  while (i < query.length) {
    const ch = query[i] ?? '';
    if (ch === quote) return { value, end: i + 1 };
    if (quote === '`') {
      value += ch;
      i++;
      continue;
    }
    if (ch === '\n') break;
    if (ch !== '\\') {
      value += ch;
      i++;
      continue;
    }
    const escape = query[i + 1] ?? '';
    const simple = SIMPLE_ESCAPES[escape];
    if (simple !== undefined) {
      value += simple;
      i += 2;
      continue;
    }
    const numeric = readNumericEscape(query, i);
    if (numeric === undefined) throw promqlSyntaxError(query, `invalid escape sequence "\\${escape}" in string`, i);
    value += numeric.text;
    i = numeric.end;
  }
  throw promqlSyntaxError(query, 'unterminated quoted string', start);
}

/** \xHH, \uHHHH, \UHHHHHHHH and \OOO (octal). */
function readNumericEscape(query: string, at: number): { text: string; end: number } | undefined {
  const kind = query[at + 1] ?? '';
  const forms: Readonly<Record<string, readonly [number, number, RegExp]>> = {
    x: [2, 16, /^[0-9a-fA-F]{2}$/],
    u: [4, 16, /^[0-9a-fA-F]{4}$/],
    U: [8, 16, /^[0-9a-fA-F]{8}$/],
  };
  const form = forms[kind];
  if (form) {
    const digits = query.slice(at + 2, at + 2 + form[0]);
    if (!form[2].test(digits)) return undefined;
    const code = parseInt(digits, form[1]);
    if (code > 0x10ffff) return undefined;
    return { text: String.fromCodePoint(code), end: at + 2 + form[0] };
  }
  const octal = query.slice(at + 1, at + 4);
  if (!/^[0-7]{3}$/.test(octal)) return undefined;
  return { text: String.fromCharCode(parseInt(octal, 8)), end: at + 4 };
}
