/** The PromQL syntax tree the parser builds and the evaluator walks. */
import type { LabelMatcher } from '../labels';

export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

export type AggregateOperator = 'sum' | 'avg' | 'min' | 'max' | 'count' | 'group' | 'stddev' | 'stdvar' | 'topk' | 'bottomk' | 'quantile';

export type ArithmeticOperator = '+' | '-' | '*' | '/' | '%' | '^' | 'atan2';
export type ComparisonOperator = '==' | '!=' | '>' | '<' | '>=' | '<=';
export type SetOperator = 'and' | 'or' | 'unless';
export type BinaryOperator = ArithmeticOperator | ComparisonOperator | SetOperator;

/** When a selector is evaluated: `@` pins an absolute time, `offset` shifts back. */
export type AtModifier = { readonly kind: 'timestamp'; readonly ms: number } | { readonly kind: 'start' } | { readonly kind: 'end' };

export interface NumberLiteral {
  readonly kind: 'number';
  readonly value: number;
  readonly pos: number;
}

export interface StringLiteral {
  readonly kind: 'string';
  readonly value: string;
  readonly pos: number;
}

export interface VectorSelector {
  readonly kind: 'vectorSelector';
  /** All matchers, the metric name as a `__name__` equality matcher first when given. */
  readonly matchers: readonly LabelMatcher[];
  readonly offsetMs: number;
  readonly at?: AtModifier;
  readonly pos: number;
}

export interface MatrixSelector {
  readonly kind: 'matrixSelector';
  readonly selector: VectorSelector;
  readonly rangeMs: number;
  readonly pos: number;
}

export interface Call {
  readonly kind: 'call';
  readonly func: string;
  readonly args: readonly Expr[];
  readonly pos: number;
}

export interface Aggregate {
  readonly kind: 'aggregate';
  readonly op: AggregateOperator;
  readonly expr: Expr;
  /** k of topk/bottomk, φ of quantile. */
  readonly param?: Expr;
  readonly grouping: readonly string[];
  /** `without (...)` rather than `by (...)`. */
  readonly without: boolean;
  readonly pos: number;
}

export type MatchCardinality = 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';

export interface VectorMatching {
  readonly card: MatchCardinality;
  /** `on (...)` when true, `ignoring (...)` (or nothing) when false. */
  readonly on: boolean;
  readonly labels: readonly string[];
  /** Labels copied from the "one" side by group_left/group_right. */
  readonly include: readonly string[];
}

export interface Binary {
  readonly kind: 'binary';
  readonly op: BinaryOperator;
  readonly lhs: Expr;
  readonly rhs: Expr;
  /** The `bool` modifier of a comparison. */
  readonly returnBool: boolean;
  /** Present when both sides are instant vectors. */
  readonly matching?: VectorMatching;
  readonly pos: number;
}

export interface Unary {
  readonly kind: 'unary';
  readonly op: '-' | '+';
  readonly expr: Expr;
  readonly pos: number;
}

export interface Paren {
  readonly kind: 'paren';
  readonly expr: Expr;
  readonly pos: number;
}

export type Expr = NumberLiteral | StringLiteral | VectorSelector | MatrixSelector | Call | Aggregate | Binary | Unary | Paren;

export const COMPARISON_OPERATORS: ReadonlySet<string> = new Set<ComparisonOperator>(['==', '!=', '>', '<', '>=', '<=']);
export const SET_OPERATORS: ReadonlySet<string> = new Set<SetOperator>(['and', 'or', 'unless']);
