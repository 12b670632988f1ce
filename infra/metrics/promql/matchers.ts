/** Builds label matchers with Prometheus semantics (regexes fully anchored, missing label = ""). */
import type { LabelMatcher, MatchOperator } from '../labels';
import { compileAnchoredRegex } from './regex';

/** Throws Error with the reason when a regex does not compile; the parser turns it into a syntax error. */
export function createLabelMatcher(name: string, op: MatchOperator, value: string): LabelMatcher {
  switch (op) {
    case '=':
      return { name, op, value, matches: (labelValue) => labelValue === value };
    case '!=':
      return { name, op, value, matches: (labelValue) => labelValue !== value };
    case '=~': {
      const regex = compileAnchoredRegex(value);
      return { name, op, value, matches: (labelValue) => regex.test(labelValue) };
    }
    case '!~': {
      const regex = compileAnchoredRegex(value);
      return { name, op, value, matches: (labelValue) => !regex.test(labelValue) };
    }
  }
}
