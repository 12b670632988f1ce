/** Builds label matchers with Prometheus semantics (regexes fully anchored, missing label = ""). */
import type { LabelMatcher, MatchOperator } from '../labels';
import { compileAnchoredRegex, type AnchoredRegex } from './regex';

/**
 * Throws Error naming the matcher and RE2's reason when a regex does not compile; the parser turns
 * it into a syntax error on the query.
 */
export function createLabelMatcher(name: string, op: MatchOperator, value: string): LabelMatcher {
  switch (op) {
    case '=':
      return { name, op, value, matches: (labelValue) => labelValue === value };
    case '!=':
      return { name, op, value, matches: (labelValue) => labelValue !== value };
    case '=~': {
      const regex = matcherRegex(name, op, value);
      return { name, op, value, matches: (labelValue) => regex.matches(labelValue) };
    }
    case '!~': {
      const regex = matcherRegex(name, op, value);
      return { name, op, value, matches: (labelValue) => !regex.matches(labelValue) };
    }
  }
}

function matcherRegex(name: string, op: MatchOperator, value: string): AnchoredRegex {
  try {
    return compileAnchoredRegex(value);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`invalid regular expression in matcher ${name}${op}${JSON.stringify(value)}: ${reason}`, { cause: err });
  }
}
