/** A position in the token list, and the helpers the parsers use to read and complain. */
import { promqlSyntaxError } from './errors';
import type { Token } from './lexer';

export interface Cursor {
  readonly query: string;
  readonly tokens: readonly Token[];
  index: number;
}

/** The token `ahead` places on; past the end, the end token. */
export function peek(cursor: Cursor, ahead = 0): Token {
  const tokens = cursor.tokens;
  return tokens[Math.min(cursor.index + ahead, tokens.length - 1)] ?? { kind: 'end', text: '', pos: cursor.query.length };
}

/** Consumes and returns the current token (the end token is never consumed). */
export function next(cursor: Cursor): Token {
  const token = peek(cursor);
  if (cursor.index < cursor.tokens.length - 1) cursor.index++;
  return token;
}

export function isPunctuation(token: Token, text: string): boolean {
  return token.kind === 'punctuation' && token.text === text;
}

/** Keywords are case-insensitive in PromQL (SUM, By, AND ...). */
export function isWord(token: Token, word: string): boolean {
  return token.kind === 'identifier' && token.text.toLowerCase() === word;
}

export function expectPunctuation(cursor: Cursor, text: string): Token {
  const token = peek(cursor);
  if (!isPunctuation(token, text)) throw unexpected(cursor, token);
  return next(cursor);
}

/** The generic error: `unexpected token ")" at position 17` or `unexpected end of input at position 9`. */
export function unexpected(cursor: Cursor, token: Token): Error {
  const what = token.kind === 'end' ? 'unexpected end of input' : `unexpected token ${JSON.stringify(token.text)}`;
  return promqlSyntaxError(cursor.query, what, token.pos);
}

export function fail(cursor: Cursor, message: string, position: number): Error {
  return promqlSyntaxError(cursor.query, message, position);
}
