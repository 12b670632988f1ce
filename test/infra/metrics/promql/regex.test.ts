import { expect } from 'chai';
import { SsisError } from '../../../../core/errors';
import type { VectorSelector } from '../../../../infra/metrics/promql/ast';
import { createLabelMatcher } from '../../../../infra/metrics/promql/matchers';
import { parsePromql } from '../../../../infra/metrics/promql/parser';
import { compileAnchoredRegex } from '../../../../infra/metrics/promql/regex';

/** The pod matcher of a selector; backquoted PromQL strings are raw, so the pattern arrives as written. */
function podMatcher(pattern: string): (value: string) => boolean {
  const selector = parsePromql(`foo{pod=~\`${pattern}\`}`) as VectorSelector;
  const found = selector.matchers.find((m) => m.name === 'pod');
  if (!found) throw new Error('no pod matcher');
  return found.matches;
}

function queryError(query: string): SsisError {
  try {
    parsePromql(query);
  } catch (err) {
    if (err instanceof SsisError) return err;
    throw err;
  }
  throw new Error(`expected ${query} not to parse`);
}

describe('PromQL label-matcher regexes (RE2 syntax, fully anchored)', () => {
  it('reads \\x{41} as the character A, not as x repeated 41 times', () => {
    expect(['A', 'x'.repeat(41), 'a'].map(podMatcher('\\x{41}'))).to.deep.equal([true, false, false]);
  });

  it('knows Unicode classes such as \\pL and \\p{Greek}', () => {
    expect(['a', 'é', 'Ж', '1', '-', ''].map(podMatcher('\\pL'))).to.deep.equal([true, true, true, false, false, false]);
    expect(['λ', 'l'].map(podMatcher('\\p{Greek}'))).to.deep.equal([true, false]);
    expect(['1', 'a'].map(podMatcher('\\PL'))).to.deep.equal([true, false]);
  });

  it('accepts the flags RE2 accepts: (?U) ungreedy, (?m) multi-line, (?i), (?s), also mid-pattern', () => {
    expect(['aaa', ''].map(podMatcher('(?U)a+'))).to.deep.equal([true, false]);
    expect(['a\nb', 'ab'].map(podMatcher('(?m)a$\\n^b'))).to.deep.equal([true, false]);
    expect(['gpt2-A', 'GPT2-a'].map(podMatcher('gpt2-(?i)a'))).to.deep.equal([true, false]);
    expect(['x-y', 'x\ny'].map(podMatcher('(?-s)x.y'))).to.deep.equal([true, false]);
  });

  it('keeps the anchoring whole: an alternation matches only complete values', () => {
    expect(['a', 'b', 'ab', ''].map(podMatcher('a|b'))).to.deep.equal([true, true, false, false]);
    expect(['x', 'xx'].map(podMatcher('\\Ax\\z'))).to.deep.equal([true, false]);
  });

  it('refuses what RE2 refuses, naming the matcher in an SsisError on the query field', () => {
    for (const [pattern, reason] of [
      ['x{1001}', 'invalid repeat count'],
      ['a)(b', 'unexpected )'],
      ['(a', 'missing closing )'],
      ['\\1', 'invalid escape sequence'],
      ['(?<=a)b', 'lookaround assertions are not supported by RE2'],
      ['[[:foo:]]', 'invalid character class range'],
    ] as const) {
      const err = queryError(`foo{pod=~\`${pattern}\`}`);
      expect(err.code, pattern).to.equal('SSIS_INVALID_CONFIG');
      expect(err.issues.map((i) => i.field), pattern).to.deep.equal(['query']);
      expect(err.issues[0]?.message, pattern).to.include(`invalid regular expression in matcher pod=~${JSON.stringify(pattern)}: error parsing regexp: `);
      expect(err.issues[0]?.message, pattern).to.include(reason);
    }
  });

  it('accepts repeat counts up to RE2’s limit of 1000', () => {
    expect(podMatcher('x{1000}')('x'.repeat(1000))).to.equal(true);
  });

  it('applies to negative matchers too', () => {
    const notLetter = createLabelMatcher('pod', '!~', '\\pL+');
    expect(['abc', '123'].map(notLetter.matches)).to.deep.equal([false, true]);
    expect(() => createLabelMatcher('pod', '!~', 'x{1001}')).to.throw('invalid regular expression in matcher pod!~"x{1001}"');
  });

  it('hands out one compiled program per pattern', () => {
    expect(compileAnchoredRegex('gpt2-.*')).to.equal(compileAnchoredRegex('gpt2-.*'));
  });
});
