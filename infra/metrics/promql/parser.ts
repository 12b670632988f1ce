/**
 * Recursive-descent PromQL parser with Prometheus' operator precedence and parse-time type
 * checks. Errors are SsisError('SSIS_INVALID_CONFIG') naming the 0-based position, e.g.
 * `unexpected token ")" at position 17`.
 *
 * Precedence, loosest first: or; and unless; == != <= < >= >; + -; * / % atan2; ^ (right
 * associative). Unary minus binds like * (so -a^b is -(a^b) and -a*b is (-a)*b), as in Prometheus.
 */
import {
  COMPARISON_OPERATORS,
  SET_OPERATORS,
  type AggregateOperator,
  type BinaryOperator,
  type Expr,
  type MatchCardinality,
  type MatrixSelector,
  type ValueType,
  type VectorMatching,
  type VectorSelector,
} from './ast';
import { FUNCTION_SIGNATURES } from './function-signatures';
import { tokenize, type Token } from './lexer';
import { parseAtModifier, parseDurationValue, parseLabelList, parseSignedDuration, parseVectorSelector } from './selector-parser';
import { expectPunctuation, fail, isPunctuation, isWord, next, peek, unexpected, type Cursor } from './token-cursor';

const BINARY_PRECEDENCE: Readonly<Record<BinaryOperator, number>> = {
  or: 1,
  and: 2,
  unless: 2,
  '==': 3,
  '!=': 3,
  '<=': 3,
  '<': 3,
  '>=': 3,
  '>': 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
  '%': 5,
  atan2: 5,
  '^': 6,
};
const LOWEST_PRECEDENCE = 1;
const POWER_PRECEDENCE = 6;

const SYMBOL_OPERATORS = new Set(['+', '-', '*', '/', '%', '^', '==', '!=', '>', '<', '>=', '<=']);
const WORD_OPERATORS = new Set(['and', 'or', 'unless', 'atan2']);

/** Aggregators, and the type of the parameter of those that take one. */
const AGGREGATORS: Readonly<Record<AggregateOperator, ValueType | null>> = {
  sum: null,
  avg: null,
  min: null,
  max: null,
  count: null,
  group: null,
  stddev: null,
  stdvar: null,
  topk: 'scalar',
  bottomk: 'scalar',
  quantile: 'scalar',
};

/** Words that cannot start an operand: operators and modifiers. */
const RESERVED_WORDS = new Set(['and', 'or', 'unless', 'atan2', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset']);

interface BinaryModifiers {
  readonly returnBool: boolean;
  readonly matchingGiven: boolean;
  readonly on: boolean;
  readonly labels: readonly string[];
  readonly card?: MatchCardinality;
  readonly include: readonly string[];
}

/** Parses a PromQL expression; throws SsisError('SSIS_INVALID_CONFIG') on any syntax or type error. */
export function parsePromql(query: string): Expr {
  const cursor: Cursor = { query, tokens: tokenize(query), index: 0 };
  const expr = parseBinary(cursor, LOWEST_PRECEDENCE);
  const rest = peek(cursor);
  if (rest.kind !== 'end') throw unexpected(cursor, rest);
  return expr;
}

/** The type an expression evaluates to. */
export function typeOf(expr: Expr): ValueType {
  switch (expr.kind) {
    case 'number':
      return 'scalar';
    case 'string':
      return 'string';
    case 'vectorSelector':
    case 'aggregate':
      return 'vector';
    case 'matrixSelector':
      return 'matrix';
    case 'call':
      return FUNCTION_SIGNATURES[expr.func]?.returnType ?? 'vector';
    case 'binary':
      return typeOf(expr.lhs) === 'scalar' && typeOf(expr.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'unary':
    case 'paren':
      return typeOf(expr.expr);
  }
}

/** Prometheus' wording for types in error messages. */
export function describeType(type: ValueType): string {
  switch (type) {
    case 'scalar':
      return 'scalar';
    case 'vector':
      return 'instant vector';
    case 'matrix':
      return 'range vector';
    case 'string':
      return 'string';
  }
}

// ---- expressions ----

function binaryOperatorOf(token: Token): BinaryOperator | undefined {
  if (token.kind === 'punctuation' && SYMBOL_OPERATORS.has(token.text)) return token.text as BinaryOperator;
  if (token.kind === 'identifier' && WORD_OPERATORS.has(token.text.toLowerCase())) return token.text.toLowerCase() as BinaryOperator;
  return undefined;
}

/** Precedence climbing: parses operands joined by operators that bind at least as tight as minPrecedence. */
function parseBinary(cursor: Cursor, minPrecedence: number): Expr {
  let lhs = parseUnary(cursor);
  for (;;) {
    const token = peek(cursor);
    const op = binaryOperatorOf(token);
    if (op === undefined) return lhs;
    const precedence = BINARY_PRECEDENCE[op];
    if (precedence < minPrecedence) return lhs;
    next(cursor);
    const modifiers = parseBinaryModifiers(cursor, op);
    // ^ is right-associative: its right operand may contain another ^.
    const rhs = parseBinary(cursor, op === '^' ? precedence : precedence + 1);
    lhs = buildBinary(cursor, op, lhs, rhs, modifiers, token.pos);
  }
}

function parseUnary(cursor: Cursor): Expr {
  const token = peek(cursor);
  if (!isPunctuation(token, '-') && !isPunctuation(token, '+')) return parsePostfix(cursor);
  next(cursor);
  const operand = parseBinary(cursor, POWER_PRECEDENCE);
  const type = typeOf(operand);
  if (type !== 'scalar' && type !== 'vector') {
    throw fail(cursor, 'unary expression only allowed on expressions of type scalar or instant vector', token.pos);
  }
  if (operand.kind === 'number') return { kind: 'number', value: token.text === '-' ? -operand.value : operand.value, pos: token.pos };
  return { kind: 'unary', op: token.text === '-' ? '-' : '+', expr: operand, pos: token.pos };
}

function parseBinaryModifiers(cursor: Cursor, op: BinaryOperator): BinaryModifiers {
  let returnBool = false;
  const boolToken = peek(cursor);
  if (isWord(boolToken, 'bool')) {
    if (!COMPARISON_OPERATORS.has(op)) throw fail(cursor, 'bool modifier can only be used on comparison operators', boolToken.pos);
    next(cursor);
    returnBool = true;
  }
  const matchToken = peek(cursor);
  if (!isWord(matchToken, 'on') && !isWord(matchToken, 'ignoring')) {
    return { returnBool, matchingGiven: false, on: false, labels: [], include: [] };
  }
  next(cursor);
  const on = isWord(matchToken, 'on');
  const labels = parseLabelList(cursor);
  const groupToken = peek(cursor);
  if (!isWord(groupToken, 'group_left') && !isWord(groupToken, 'group_right')) {
    return { returnBool, matchingGiven: true, on, labels, include: [] };
  }
  if (SET_OPERATORS.has(op)) throw fail(cursor, `no grouping allowed for "${op}" operation`, groupToken.pos);
  next(cursor);
  const card: MatchCardinality = isWord(groupToken, 'group_left') ? 'many-to-one' : 'one-to-many';
  const include = isPunctuation(peek(cursor), '(') ? parseLabelList(cursor) : [];
  if (on) {
    const both = include.find((label) => labels.includes(label));
    if (both !== undefined) throw fail(cursor, `label ${JSON.stringify(both)} must not occur in ON and GROUP clause at once`, groupToken.pos);
  }
  return { returnBool, matchingGiven: true, on, labels, card, include };
}

function buildBinary(cursor: Cursor, op: BinaryOperator, lhs: Expr, rhs: Expr, modifiers: BinaryModifiers, pos: number): Expr {
  const lhsType = typeOf(lhs);
  const rhsType = typeOf(rhs);
  const operandOk = (type: ValueType): boolean => type === 'scalar' || type === 'vector';
  if (!operandOk(lhsType) || !operandOk(rhsType)) {
    throw fail(cursor, 'binary expression must contain only scalar and instant vector types', pos);
  }
  const isSet = SET_OPERATORS.has(op);
  const bothVectors = lhsType === 'vector' && rhsType === 'vector';
  if (isSet && !bothVectors) throw fail(cursor, `set operator "${op}" not allowed in binary scalar expression`, pos);
  if (COMPARISON_OPERATORS.has(op) && lhsType === 'scalar' && rhsType === 'scalar' && !modifiers.returnBool) {
    throw fail(cursor, 'comparisons between scalars must use BOOL modifier', pos);
  }
  if (modifiers.matchingGiven && !bothVectors) throw fail(cursor, 'vector matching only allowed between instant vectors', pos);
  const matching: VectorMatching | undefined = bothVectors
    ? {
        card: isSet ? 'many-to-many' : (modifiers.card ?? 'one-to-one'),
        on: modifiers.on,
        labels: modifiers.labels,
        include: modifiers.include,
      }
    : undefined;
  return { kind: 'binary', op, lhs, rhs, returnBool: modifiers.returnBool, ...(matching ? { matching } : {}), pos };
}

/** A primary expression followed by an optional range and offset/@ modifiers. */
function parsePostfix(cursor: Cursor): Expr {
  let expr = parsePrimary(cursor);
  const open = peek(cursor);
  if (isPunctuation(open, '[')) {
    if (expr.kind !== 'vectorSelector') throw fail(cursor, 'ranges only allowed for vector selectors (subqueries are not supported)', open.pos);
    next(cursor);
    const rangeMs = parseDurationValue(cursor, 'range');
    if (rangeMs <= 0) throw fail(cursor, 'range must be greater than 0', open.pos + 1);
    const close = peek(cursor);
    if (isPunctuation(close, ':') || (close.kind === 'identifier' && close.text.startsWith(':'))) {
      throw fail(cursor, 'subqueries are not supported', close.pos);
    }
    expectPunctuation(cursor, ']');
    expr = { kind: 'matrixSelector', selector: expr, rangeMs, pos: expr.pos } satisfies MatrixSelector;
  }
  for (;;) {
    const token = peek(cursor);
    if (isWord(token, 'offset')) {
      next(cursor);
      expr = withSelectorModifier(cursor, expr, token, (selector) => {
        if (selector.offsetMs !== 0) throw fail(cursor, 'offset may not be set multiple times', token.pos);
        return { ...selector, offsetMs: parseSignedDuration(cursor) };
      });
    } else if (isPunctuation(token, '@')) {
      next(cursor);
      expr = withSelectorModifier(cursor, expr, token, (selector) => {
        if (selector.at) throw fail(cursor, '@ <timestamp> may not be set multiple times', token.pos);
        return { ...selector, at: parseAtModifier(cursor) };
      });
    } else {
      return expr;
    }
  }
}

function withSelectorModifier(cursor: Cursor, expr: Expr, token: Token, apply: (selector: VectorSelector) => VectorSelector): Expr {
  if (expr.kind === 'vectorSelector') return apply(expr);
  if (expr.kind === 'matrixSelector') return { ...expr, selector: apply(expr.selector) };
  const what = token.text === '@' ? '@ modifier' : 'offset modifier';
  throw fail(cursor, `${what} must be preceded by an instant vector selector or range vector selector`, token.pos);
}

function parsePrimary(cursor: Cursor): Expr {
  const token = peek(cursor);
  switch (token.kind) {
    case 'number':
      next(cursor);
      return { kind: 'number', value: token.value, pos: token.pos };
    case 'string':
      next(cursor);
      return { kind: 'string', value: token.value, pos: token.pos };
    case 'punctuation':
      if (token.text === '(') {
        next(cursor);
        const inner = parseBinary(cursor, LOWEST_PRECEDENCE);
        expectPunctuation(cursor, ')');
        return { kind: 'paren', expr: inner, pos: token.pos };
      }
      if (token.text === '{') return parseVectorSelector(cursor, undefined, token.pos);
      throw unexpected(cursor, token);
    case 'identifier':
      return parseIdentifierExpression(cursor, token);
    case 'duration':
    case 'end':
      throw unexpected(cursor, token);
  }
}

function parseIdentifierExpression(cursor: Cursor, token: Token): Expr {
  const word = token.text.toLowerCase();
  const following = peek(cursor, 1);
  if (word in AGGREGATORS && (isPunctuation(following, '(') || isWord(following, 'by') || isWord(following, 'without'))) {
    return parseAggregate(cursor, word as AggregateOperator);
  }
  if (isPunctuation(following, '(')) return parseCall(cursor);
  if (word === 'inf' || word === 'nan') {
    next(cursor);
    return { kind: 'number', value: word === 'inf' ? Infinity : NaN, pos: token.pos };
  }
  if (RESERVED_WORDS.has(word)) throw unexpected(cursor, token);
  next(cursor);
  return parseVectorSelector(cursor, token.text, token.pos);
}

/** Comma-separated expressions up to `)`; the opening `(` is already consumed. */
function parseArguments(cursor: Cursor): Expr[] {
  const args: Expr[] = [];
  for (;;) {
    if (isPunctuation(peek(cursor), ')')) {
      next(cursor);
      return args;
    }
    args.push(parseBinary(cursor, LOWEST_PRECEDENCE));
    const separator = peek(cursor);
    if (isPunctuation(separator, ',')) next(cursor);
    else if (!isPunctuation(separator, ')')) throw unexpected(cursor, separator);
  }
}

function parseAggregate(cursor: Cursor, op: AggregateOperator): Expr {
  const opToken = next(cursor);
  let grouping: string[] = [];
  let without = false;
  let groupingGiven = false;
  const readGrouping = (): void => {
    const keyword = next(cursor);
    without = isWord(keyword, 'without');
    grouping = parseLabelList(cursor);
    groupingGiven = true;
  };
  if (isWord(peek(cursor), 'by') || isWord(peek(cursor), 'without')) readGrouping();
  expectPunctuation(cursor, '(');
  const args = parseArguments(cursor);
  if (!groupingGiven && (isWord(peek(cursor), 'by') || isWord(peek(cursor), 'without'))) readGrouping();

  const paramType = AGGREGATORS[op];
  const expected = paramType === null ? 1 : 2;
  if (args.length !== expected) {
    throw fail(cursor, `wrong number of arguments for aggregate expression provided, expected ${expected}, got ${args.length}`, opToken.pos);
  }
  const expr = args[args.length - 1] as Expr;
  if (typeOf(expr) !== 'vector') {
    throw fail(cursor, `expected type instant vector in aggregation expression, got ${describeType(typeOf(expr))}`, expr.pos);
  }
  const param = paramType === null ? undefined : args[0];
  if (param !== undefined && paramType !== null && typeOf(param) !== paramType) {
    throw fail(cursor, `expected type ${describeType(paramType)} in aggregation parameter, got ${describeType(typeOf(param))}`, param.pos);
  }
  return { kind: 'aggregate', op, expr, ...(param ? { param } : {}), grouping, without, pos: opToken.pos };
}

function parseCall(cursor: Cursor): Expr {
  const nameToken = next(cursor);
  next(cursor); // (
  const name = nameToken.text;
  const signature = FUNCTION_SIGNATURES[name];
  if (!signature) throw fail(cursor, `unknown function with name ${JSON.stringify(name)}`, nameToken.pos);
  const args = parseArguments(cursor);
  const max = signature.argTypes.length;
  const min = max - signature.optionalArgs;
  if (args.length < min || args.length > max) {
    const bound = signature.optionalArgs === 0 ? `${max}` : args.length < min ? `at least ${min}` : `at most ${max}`;
    throw fail(cursor, `expected ${bound} argument(s) in call to ${JSON.stringify(name)}, got ${args.length}`, nameToken.pos);
  }
  args.forEach((arg, index) => {
    const expected = signature.argTypes[index];
    const actual = typeOf(arg);
    if (expected !== undefined && actual !== expected) {
      throw fail(cursor, `expected type ${describeType(expected)} in call to function ${JSON.stringify(name)}, got ${describeType(actual)}`, arg.pos);
    }
  });
  return { kind: 'call', func: name, args, pos: nameToken.pos };
}
