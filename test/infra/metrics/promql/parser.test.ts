import { expect } from 'chai';
import { SsisError } from '../../../../core/errors';
import type { Binary, Expr, MatrixSelector, VectorSelector } from '../../../../infra/metrics/promql/ast';
import { tokenize } from '../../../../infra/metrics/promql/lexer';
import { parsePromql, typeOf } from '../../../../infra/metrics/promql/parser';

/** A compact rendering of the tree, to check grouping and precedence. */
function shape(expr: Expr): string {
  switch (expr.kind) {
    case 'number':
      return String(expr.value);
    case 'string':
      return JSON.stringify(expr.value);
    case 'vectorSelector':
      return selectorText(expr);
    case 'matrixSelector':
      return `${selectorText(expr.selector)}[${expr.rangeMs}ms]`;
    case 'call':
      return `${expr.func}(${expr.args.map(shape).join(', ')})`;
    case 'aggregate':
      return `${expr.op}${expr.grouping.length > 0 || expr.without ? ` ${expr.without ? 'without' : 'by'}(${expr.grouping.join(',')})` : ''}(${expr.param ? `${shape(expr.param)}, ` : ''}${shape(expr.expr)})`;
    case 'binary':
      return `(${shape(expr.lhs)} ${expr.op}${expr.returnBool ? ' bool' : ''} ${shape(expr.rhs)})`;
    case 'unary':
      return `(${expr.op}${shape(expr.expr)})`;
    case 'paren':
      return shape(expr.expr);
  }
}

function selectorText(selector: VectorSelector): string {
  const matchers = selector.matchers.map((m) => `${m.name}${m.op}${JSON.stringify(m.value)}`).join(',');
  const offset = selector.offsetMs === 0 ? '' : ` offset ${selector.offsetMs}ms`;
  const at = selector.at ? ` @ ${selector.at.kind === 'timestamp' ? `${selector.at.ms}ms` : `${selector.at.kind}()`}` : '';
  return `{${matchers}}${offset}${at}`;
}

function syntaxError(query: string): SsisError {
  try {
    parsePromql(query);
  } catch (err) {
    if (err instanceof SsisError) return err;
    throw err;
  }
  throw new Error(`expected ${query} not to parse`);
}

describe('PromQL lexer', () => {
  it('reads numbers, durations, strings and words with their positions', () => {
    const tokens = tokenize('rate(vllm:x{a="b\\n"}[1m30s]) * 0x1F + 1e3 - .5 - 010 # comment');
    expect(tokens.map((t) => [t.kind, t.text, t.pos])).to.deep.equal([
      ['identifier', 'rate', 0],
      ['punctuation', '(', 4],
      ['identifier', 'vllm:x', 5],
      ['punctuation', '{', 11],
      ['identifier', 'a', 12],
      ['punctuation', '=', 13],
      ['string', '"b\\n"', 14],
      ['punctuation', '}', 19],
      ['punctuation', '[', 20],
      ['duration', '1m30s', 21],
      ['punctuation', ']', 26],
      ['punctuation', ')', 27],
      ['punctuation', '*', 29],
      ['number', '0x1F', 31],
      ['punctuation', '+', 36],
      ['number', '1e3', 38],
      ['punctuation', '-', 42],
      ['number', '.5', 44],
      ['punctuation', '-', 47],
      ['number', '010', 49],
      ['end', '', 62],
    ]);
    const values: (string | number)[] = tokens.flatMap((t): (string | number)[] => (t.kind === 'number' ? [t.value] : t.kind === 'duration' ? [t.ms] : t.kind === 'string' ? [t.value] : []));
    // 010 is octal, as Go's ParseInt(s, 0, 64) reads it.
    expect(values).to.deep.equal(['b\n', 90_000, 31, 1000, 0.5, 8]);
  });

  it('reads every duration unit and refuses units out of order', () => {
    const ms = (text: string): number | undefined => {
      const [token] = tokenize(text);
      return token?.kind === 'duration' ? token.ms : undefined;
    };
    expect([ms('250ms'), ms('20s'), ms('5m'), ms('2h'), ms('1d'), ms('1w'), ms('1y'), ms('1h30m15s')]).to.deep.equal([
      250, 20_000, 300_000, 7_200_000, 86_400_000, 604_800_000, 31_536_000_000, 5_415_000,
    ]);
    expect(() => tokenize('30m1h')).to.throw(SsisError, /units must go from largest to smallest/);
    expect(() => tokenize('1.5m')).to.throw(SsisError, /bad number or duration syntax at position 0/);
  });
});

describe('PromQL parser', () => {
  const cases: readonly (readonly [string, string])[] = [
    ['1 + 2 * 3', '(1 + (2 * 3))'],
    ['2 ^ 3 ^ 2', '(2 ^ (3 ^ 2))'],
    ['-2 ^ 2', '(-(2 ^ 2))'],
    ['-a * b', '((-{__name__="a"}) * {__name__="b"})'],
    ['a - b - c', '(({__name__="a"} - {__name__="b"}) - {__name__="c"})'],
    ['a or b and c unless d', '({__name__="a"} or (({__name__="b"} and {__name__="c"}) unless {__name__="d"}))'],
    ['a > bool 1 + 2', '({__name__="a"} > bool (1 + 2))'],
    ['a % b atan2 c', '(({__name__="a"} % {__name__="b"}) atan2 {__name__="c"})'],
    ['(1 + 2) * 3', '((1 + 2) * 3)'],
    ['NaN + Inf', '(NaN + Infinity)'],
    ['vllm:num_requests_running', '{__name__="vllm:num_requests_running"}'],
    ['{__name__=~"vllm:.*", pod!="x",}', '{__name__=~"vllm:.*",pod!="x"}'],
    ['{"metric.with.dots", a="1"}', '{__name__="metric.with.dots",a="1"}'],
    ['foo[1m30s] offset 5m', '{__name__="foo"} offset 300000ms[90000ms]'],
    ['foo offset -1h @ 1700000000', '{__name__="foo"} offset -3600000ms @ 1700000000000ms'],
    ['foo @ end()', '{__name__="foo"} @ end()'],
    ['rate(foo[5m])', 'rate({__name__="foo"}[300000ms])'],
    ['rate(foo[90])', 'rate({__name__="foo"}[90000ms])'],
    ['sum by (le) (rate(x_bucket[30s]))', 'sum by(le)(rate({__name__="x_bucket"}[30000ms]))'],
    ['SUM(rate(x[1m])) WITHOUT (pod, instance,)', 'sum without(pod,instance)(rate({__name__="x"}[60000ms]))'],
    ['topk(3, foo)', 'topk(3, {__name__="foo"})'],
    ['histogram_quantile(0.9, sum by (le) (rate(x[1m])))', 'histogram_quantile(0.9, sum by(le)(rate({__name__="x"}[60000ms])))'],
    ['round(foo)', 'round({__name__="foo"})'],
  ];
  for (const [query, expected] of cases) {
    it(`parses ${query}`, () => {
      expect(shape(parsePromql(query))).to.equal(expected);
    });
  }

  it('records vector matching modifiers', () => {
    const onGroup = parsePromql('a / on (pod) group_left (node) b') as Binary;
    expect(onGroup.matching).to.deep.equal({ card: 'many-to-one', on: true, labels: ['pod'], include: ['node'] });
    const ignoring = parsePromql('a * ignoring (code) group_right b') as Binary;
    expect(ignoring.matching).to.deep.equal({ card: 'one-to-many', on: false, labels: ['code'], include: [] });
    const plain = parsePromql('a / b') as Binary;
    expect(plain.matching).to.deep.equal({ card: 'one-to-one', on: false, labels: [], include: [] });
    const set = parsePromql('a and on (pod) b') as Binary;
    expect(set.matching).to.deep.equal({ card: 'many-to-many', on: true, labels: ['pod'], include: [] });
    expect((parsePromql('a / 2') as Binary).matching).to.equal(undefined);
  });

  it('compiles regex matchers fully anchored, with RE2 semantics', () => {
    const matcher = (query: string): ((value: string) => boolean) => {
      const selector = parsePromql(query) as VectorSelector;
      const found = selector.matchers.find((m) => m.name === 'pod');
      if (!found) throw new Error('no pod matcher');
      return found.matches;
    };
    expect(['gpt2-a', 'gpt2', 'xgpt2-a'].map(matcher('foo{pod=~"gpt2-.*"}'))).to.deep.equal([true, false, false]);
    expect(['GPT2', 'gpt2', 'gpt3'].map(matcher('foo{pod=~"(?i)gpt2"}'))).to.deep.equal([true, true, false]);
    expect(['a', 'b', ''].map(matcher('foo{pod!~"a|"}'))).to.deep.equal([false, true, false]);
    expect(['a1', 'ab'].map(matcher('foo{pod=~"a[[:digit:]]"}'))).to.deep.equal([true, false]);
    expect(['x\ny'].map(matcher('foo{pod=~"x.y"}'))).to.deep.equal([true]);
  });

  it('types expressions as Prometheus does', () => {
    expect(typeOf(parsePromql('1 + 2'))).to.equal('scalar');
    expect(typeOf(parsePromql('foo + 2'))).to.equal('vector');
    expect(typeOf(parsePromql('foo[5m]'))).to.equal('matrix');
    expect(typeOf(parsePromql('scalar(foo)'))).to.equal('scalar');
    expect(typeOf(parsePromql('"text"'))).to.equal('string');
    expect((parsePromql('foo[5m]') as MatrixSelector).rangeMs).to.equal(300_000);
  });

  const errors: readonly (readonly [string, string])[] = [
    ['increase(foo[1m]))', 'unexpected token ")" at position 17'],
    ['sum(rate(foo[5m])', 'unexpected end of input at position 17'],
    ['rate(foo)', 'expected type range vector in call to function "rate", got instant vector at position 5'],
    ['rate(foo[5m], 1)', 'expected 1 argument(s) in call to "rate", got 2 at position 0'],
    ['round()', 'expected at least 1 argument(s) in call to "round", got 0 at position 0'],
    ['rates(foo[5m])', 'unknown function with name "rates" at position 0'],
    ['foo{pod="a"', 'unexpected end of input at position 11'],
    ['foo{pod~"a"}', 'unexpected character "~" at position 7'],
    ['foo{pod=a}', 'unexpected token "a" at position 8'],
    ['{pod=""}', 'vector selector must contain at least one non-empty matcher at position 0'],
    ['{pod=~".*"}', 'vector selector must contain at least one non-empty matcher at position 0'],
    ['foo{__name__="bar"}', 'metric name must not be set twice: "foo" or "bar" at position 0'],
    ['foo{pod=~"a("}', 'at position 9'],
    ['foo{pod=~"(?=a)"}', 'lookaround assertions are not supported by RE2 at position 9'],
    ['1 > 2', 'comparisons between scalars must use BOOL modifier at position 2'],
    ['foo + bool 1', 'bool modifier can only be used on comparison operators at position 6'],
    ['1 and foo', 'set operator "and" not allowed in binary scalar expression at position 2'],
    ['foo / on(pod) 2', 'vector matching only allowed between instant vectors at position 4'],
    ['a and on(pod) group_left b', 'no grouping allowed for "and" operation at position 14'],
    ['a / on(pod) group_left(pod) b', 'label "pod" must not occur in ON and GROUP clause at once at position 12'],
    ['foo[5m] + 1', 'binary expression must contain only scalar and instant vector types at position 8'],
    ['-foo[5m]', 'unary expression only allowed on expressions of type scalar or instant vector at position 0'],
    ['sum(foo) offset 5m', 'offset modifier must be preceded by an instant vector selector or range vector selector at position 9'],
    ['foo offset 1m offset 2m', 'offset may not be set multiple times at position 14'],
    ['sum(foo)[5m]', 'ranges only allowed for vector selectors (subqueries are not supported) at position 8'],
    ['foo[5m:1m]', 'subqueries are not supported at position 6'],
    ['foo[0s]', 'range must be greater than 0 at position 4'],
    ['topk(foo)', 'wrong number of arguments for aggregate expression provided, expected 2, got 1 at position 0'],
    ['sum(1)', 'expected type instant vector in aggregation expression, got scalar at position 4'],
    ['5m', 'unexpected token "5m" at position 0'],
    ['sum(by)', 'unexpected token "by" at position 4'],
    ['foo and', 'unexpected end of input at position 7'],
    ['"unterminated', 'unterminated quoted string at position 0'],
  ];
  for (const [query, message] of errors) {
    it(`rejects ${query}: ${message}`, () => {
      const err = syntaxError(query);
      expect(err.code).to.equal('SSIS_INVALID_CONFIG');
      expect(err.issues).to.have.length(1);
      expect(err.issues[0]?.field).to.equal('query');
      expect(err.issues[0]?.message).to.include(message);
      expect(err.message).to.include(message);
    });
  }
});
