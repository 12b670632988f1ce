/**
 * The parts of PromQL that are not expressions: vector selectors with their label matchers,
 * label lists (by, without, on, ignoring, group_x), durations and the @ modifier.
 */
import { METRIC_NAME_LABEL, type LabelMatcher, type MatchOperator } from '../labels';
import type { AtModifier, VectorSelector } from './ast';
import { createLabelMatcher } from './matchers';
import { expectPunctuation, fail, isPunctuation, isWord, next, peek, unexpected, type Cursor } from './token-cursor';

const MATCH_OPERATORS = new Set(['=', '!=', '=~', '!~']);
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A duration literal, or a plain number of seconds (accepted by Prometheus 3). */
export function parseDurationValue(cursor: Cursor, what: string): number {
  const token = next(cursor);
  if (token.kind === 'duration') return token.ms;
  if (token.kind === 'number') return Math.round(token.value * 1000);
  throw fail(cursor, `expected a duration for the ${what}, got ${token.kind === 'end' ? 'end of input' : JSON.stringify(token.text)}`, token.pos);
}

export function parseSignedDuration(cursor: Cursor): number {
  const sign = peek(cursor);
  if (isPunctuation(sign, '-') || isPunctuation(sign, '+')) {
    next(cursor);
    const ms = parseDurationValue(cursor, 'offset');
    return sign.text === '-' ? -ms : ms;
  }
  return parseDurationValue(cursor, 'offset');
}

export function parseAtModifier(cursor: Cursor): AtModifier {
  const token = peek(cursor);
  if ((isWord(token, 'start') || isWord(token, 'end')) && isPunctuation(peek(cursor, 1), '(')) {
    next(cursor);
    next(cursor);
    expectPunctuation(cursor, ')');
    return { kind: isWord(token, 'start') ? 'start' : 'end' };
  }
  let sign = 1;
  if (isPunctuation(token, '-') || isPunctuation(token, '+')) {
    next(cursor);
    sign = token.text === '-' ? -1 : 1;
  }
  const value = next(cursor);
  if (value.kind !== 'number' || !Number.isFinite(value.value)) {
    throw fail(cursor, '@ modifier expects a timestamp in seconds, start() or end()', value.pos);
  }
  return { kind: 'timestamp', ms: Math.round(sign * value.value * 1000) };
}

export function parseVectorSelector(cursor: Cursor, metricName: string | undefined, pos: number): VectorSelector {
  let name = metricName;
  const matchers: LabelMatcher[] = [];
  if (isPunctuation(peek(cursor), '{')) {
    next(cursor);
    for (;;) {
      const token = peek(cursor);
      if (isPunctuation(token, '}')) {
        next(cursor);
        break;
      }
      const following = peek(cursor, 1);
      if (token.kind === 'string' && (isPunctuation(following, ',') || isPunctuation(following, '}'))) {
        // Prometheus 3 form for names that need quoting: {"metric.name", label="x"}.
        if (name !== undefined) throw fail(cursor, `metric name must not be set twice: ${JSON.stringify(name)} or ${JSON.stringify(token.value)}`, token.pos);
        name = token.value;
        next(cursor);
      } else {
        matchers.push(parseMatcher(cursor));
      }
      const separator = peek(cursor);
      if (isPunctuation(separator, ',')) next(cursor);
      else if (!isPunctuation(separator, '}')) throw unexpected(cursor, separator);
    }
  }
  if (name !== undefined) {
    const nameMatcher = matchers.find((m) => m.name === METRIC_NAME_LABEL);
    if (nameMatcher) throw fail(cursor, `metric name must not be set twice: ${JSON.stringify(name)} or ${JSON.stringify(nameMatcher.value)}`, pos);
    matchers.unshift(createLabelMatcher(METRIC_NAME_LABEL, '=', name));
  }
  if (!matchers.some((m) => !m.matches(''))) throw fail(cursor, 'vector selector must contain at least one non-empty matcher', pos);
  return { kind: 'vectorSelector', matchers, offsetMs: 0, pos };
}

function parseMatcher(cursor: Cursor): LabelMatcher {
  const label = parseLabelName(cursor);
  const opToken = next(cursor);
  if (opToken.kind !== 'punctuation' || !MATCH_OPERATORS.has(opToken.text)) throw unexpected(cursor, opToken);
  const valueToken = next(cursor);
  if (valueToken.kind !== 'string') throw unexpected(cursor, valueToken);
  try {
    return createLabelMatcher(label, opToken.text as MatchOperator, valueToken.value);
  } catch (err) {
    throw fail(cursor, err instanceof Error ? err.message : String(err), valueToken.pos);
  }
}

function parseLabelName(cursor: Cursor): string {
  const token = next(cursor);
  if (token.kind === 'string') return token.value;
  if (token.kind === 'identifier' && LABEL_NAME.test(token.text)) return token.text;
  throw unexpected(cursor, token);
}

/** `( a, b, )`: the label list of by/without/on/ignoring/group_x. */
export function parseLabelList(cursor: Cursor): string[] {
  expectPunctuation(cursor, '(');
  const labels: string[] = [];
  for (;;) {
    if (isPunctuation(peek(cursor), ')')) {
      next(cursor);
      return labels;
    }
    labels.push(parseLabelName(cursor));
    const separator = peek(cursor);
    if (isPunctuation(separator, ',')) next(cursor);
    else if (!isPunctuation(separator, ')')) throw unexpected(cursor, separator);
  }
}
