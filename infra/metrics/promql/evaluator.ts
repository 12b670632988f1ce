/**
 * Instant-query evaluation of a parsed PromQL expression at one time over a SeriesSource, with
 * Prometheus' semantics: an instant selector takes each series' latest sample within the lookback
 * window unless the series went stale; range functions see the samples inside their window;
 * functions and arithmetic drop `__name__`.
 */
import { labelsKey, withoutMetricName } from '../labels';
import { sampleAtOrBefore, samplesInWindow, type Point } from '../sample-buffer';
import type { SeriesSource } from '../series-store';
import type { Aggregate, Binary, Call, Expr, MatrixSelector, SetOperator, Unary, VectorSelector } from './ast';
import { SET_OPERATORS } from './ast';
import { aggregate } from './aggregation';
import { scalarBinary, setOperation, vectorBinary, vectorScalarBinary } from './binary';
import { promqlExecutionError } from './errors';
import { histogramQuantile } from './histogram-quantile';
import { ELEMENT_FUNCTIONS, clampVector, mapValues, roundTo, scalarOfVector } from './instant-functions';
import { NAME_PRESERVING_RANGE_FUNCTIONS, RANGE_FUNCTIONS } from './range-functions';
import type { EvaluationSettings, Value, VectorSample } from './values';

interface Context {
  readonly atMs: number;
  readonly source: SeriesSource;
  readonly settings: EvaluationSettings;
}

/** Evaluates an expression at atMs. Throws SsisError('SSIS_INVALID_CONFIG') on an execution error. */
export function evaluateInstant(expr: Expr, atMs: number, source: SeriesSource, settings: EvaluationSettings): Value {
  return evaluate(expr, { atMs, source, settings });
}

function evaluate(expr: Expr, ctx: Context): Value {
  switch (expr.kind) {
    case 'number':
      return { type: 'scalar', value: expr.value };
    case 'string':
      return { type: 'string', value: expr.value };
    case 'paren':
      return evaluate(expr.expr, ctx);
    case 'vectorSelector':
      return { type: 'vector', samples: selectInstant(expr, ctx) };
    case 'matrixSelector':
      throw promqlExecutionError('a range vector can only be the argument of a function');
    case 'unary':
      return evaluateUnary(expr, ctx);
    case 'call':
      return evaluateCall(expr, ctx);
    case 'aggregate':
      return evaluateAggregate(expr, ctx);
    case 'binary':
      return evaluateBinary(expr, ctx);
  }
}

function evaluateVector(expr: Expr, ctx: Context): readonly VectorSample[] {
  const value = evaluate(expr, ctx);
  if (value.type !== 'vector') throw promqlExecutionError(`expected an instant vector, got ${value.type}`);
  return value.samples;
}

function evaluateScalar(expr: Expr, ctx: Context): number {
  const value = evaluate(expr, ctx);
  if (value.type !== 'scalar') throw promqlExecutionError(`expected a scalar, got ${value.type}`);
  return value.value;
}

/** Prometheus refuses results in which two elements have the same labels (typically after dropping names). */
function assertDistinctLabelSets(samples: readonly VectorSample[]): readonly VectorSample[] {
  const seen = new Set<string>();
  for (const sample of samples) {
    const key = labelsKey(sample.labels);
    if (seen.has(key)) throw promqlExecutionError('vector cannot contain metrics with the same labelset');
    seen.add(key);
  }
  return samples;
}

// ---- selectors ----

/** The time a selector reads at: `@` (start()/end() are the query time for an instant query), minus `offset`. */
function selectorTime(selector: VectorSelector, ctx: Context): number {
  const at = selector.at;
  const base = at?.kind === 'timestamp' ? at.ms : ctx.atMs;
  return base - selector.offsetMs;
}

function selectInstant(selector: VectorSelector, ctx: Context): VectorSample[] {
  const refMs = selectorTime(selector, ctx);
  const oldestMs = refMs - ctx.settings.lookbackDeltaMs;
  const leftOpen = ctx.settings.compatibility === 'prometheus-3';
  const out: VectorSample[] = [];
  for (const series of ctx.source.select(selector.matchers)) {
    const sample = sampleAtOrBefore(series.samples, refMs);
    if (!sample || sample.stale) continue;
    if (leftOpen ? sample.t <= oldestMs : sample.t < oldestMs) continue;
    out.push({ labels: series.labels, value: sample.v });
  }
  return out;
}

interface RangeSeries {
  readonly labels: VectorSample['labels'];
  readonly points: readonly Point[];
}

function selectRange(matrix: MatrixSelector, ctx: Context): { series: RangeSeries[]; startMs: number; endMs: number } {
  const endMs = selectorTime(matrix.selector, ctx);
  const startMs = endMs - matrix.rangeMs;
  const includeStart = ctx.settings.compatibility === 'prometheus-2';
  const series: RangeSeries[] = [];
  for (const stored of ctx.source.select(matrix.selector.matchers)) {
    const points = samplesInWindow(stored.samples, startMs, endMs, includeStart);
    if (points.length > 0) series.push({ labels: stored.labels, points });
  }
  return { series, startMs, endMs };
}

// ---- operators ----

function evaluateUnary(expr: Unary, ctx: Context): Value {
  const operand = evaluate(expr.expr, ctx);
  if (expr.op === '+') return operand;
  if (operand.type === 'scalar') return { type: 'scalar', value: -operand.value };
  if (operand.type !== 'vector') throw promqlExecutionError('unary minus needs a scalar or an instant vector');
  return { type: 'vector', samples: assertDistinctLabelSets(mapValues(operand.samples, (value) => -value)) };
}

function evaluateBinary(expr: Binary, ctx: Context): Value {
  const lhs = evaluate(expr.lhs, ctx);
  const rhs = evaluate(expr.rhs, ctx);
  if (lhs.type === 'scalar' && rhs.type === 'scalar') return { type: 'scalar', value: scalarBinary(expr.op, lhs.value, rhs.value) };
  if (lhs.type === 'vector' && rhs.type === 'vector') {
    const matching = expr.matching ?? { card: 'one-to-one', on: false, labels: [], include: [] };
    if (SET_OPERATORS.has(expr.op)) return { type: 'vector', samples: setOperation(expr.op as SetOperator, lhs.samples, rhs.samples, matching) };
    return { type: 'vector', samples: assertDistinctLabelSets(vectorBinary(expr.op, lhs.samples, rhs.samples, matching, expr.returnBool)) };
  }
  if (lhs.type === 'vector' && rhs.type === 'scalar') {
    return { type: 'vector', samples: assertDistinctLabelSets(vectorScalarBinary(expr.op, lhs.samples, rhs.value, false, expr.returnBool)) };
  }
  if (lhs.type === 'scalar' && rhs.type === 'vector') {
    return { type: 'vector', samples: assertDistinctLabelSets(vectorScalarBinary(expr.op, rhs.samples, lhs.value, true, expr.returnBool)) };
  }
  throw promqlExecutionError(`operator "${expr.op}" needs scalar or instant vector operands`);
}

function evaluateAggregate(expr: Aggregate, ctx: Context): Value {
  const param = expr.param === undefined ? undefined : evaluateScalar(expr.param, ctx);
  const samples = evaluateVector(expr.expr, ctx);
  const spec = { op: expr.op, grouping: expr.grouping, without: expr.without, compatibility: ctx.settings.compatibility, ...(param === undefined ? {} : { param }) };
  return { type: 'vector', samples: aggregate(spec, samples) };
}

// ---- functions ----

function unwrapMatrix(expr: Expr): MatrixSelector | undefined {
  if (expr.kind === 'matrixSelector') return expr;
  if (expr.kind === 'paren') return unwrapMatrix(expr.expr);
  return undefined;
}

function evaluateRangeFunction(call: Call, ctx: Context): Value {
  const fn = RANGE_FUNCTIONS[call.func];
  const matrixArg = call.args.map(unwrapMatrix).find((m) => m !== undefined);
  if (!fn || !matrixArg) throw promqlExecutionError(`function "${call.func}" needs a range vector selector argument`);
  const scalarArgs = call.args.filter((arg) => unwrapMatrix(arg) === undefined).map((arg) => evaluateScalar(arg, ctx));
  const { series, startMs, endMs } = selectRange(matrixArg, ctx);
  const window = { startMs, endMs, rangeMs: matrixArg.rangeMs };
  const keepName = NAME_PRESERVING_RANGE_FUNCTIONS.has(call.func);
  const out: VectorSample[] = [];
  for (const { labels, points } of series) {
    const value = fn({ points, window, compatibility: ctx.settings.compatibility, scalarArgs });
    if (value !== undefined) out.push({ labels: keepName ? labels : withoutMetricName(labels), value });
  }
  return { type: 'vector', samples: assertDistinctLabelSets(out) };
}

function argument(call: Call, index: number): Expr {
  const arg = call.args[index];
  if (!arg) throw promqlExecutionError(`missing argument ${index + 1} of "${call.func}"`);
  return arg;
}

function evaluateCall(call: Call, ctx: Context): Value {
  if (RANGE_FUNCTIONS[call.func]) return evaluateRangeFunction(call, ctx);
  const element = ELEMENT_FUNCTIONS[call.func];
  if (element) return { type: 'vector', samples: assertDistinctLabelSets(mapValues(evaluateVector(argument(call, 0), ctx), element)) };
  switch (call.func) {
    case 'time':
      return { type: 'scalar', value: ctx.atMs / 1000 };
    case 'vector':
      return { type: 'vector', samples: [{ labels: {}, value: evaluateScalar(argument(call, 0), ctx) }] };
    case 'scalar':
      return { type: 'scalar', value: scalarOfVector(evaluateVector(argument(call, 0), ctx)) };
    case 'histogram_quantile': {
      const q = evaluateScalar(argument(call, 0), ctx);
      return { type: 'vector', samples: histogramQuantile(q, evaluateVector(argument(call, 1), ctx), ctx.settings.compatibility) };
    }
    case 'round': {
      const vector = evaluateVector(argument(call, 0), ctx);
      const toNearest = call.args.length > 1 ? evaluateScalar(argument(call, 1), ctx) : 1;
      return { type: 'vector', samples: assertDistinctLabelSets(mapValues(vector, roundTo(toNearest))) };
    }
    case 'clamp': {
      const vector = evaluateVector(argument(call, 0), ctx);
      const min = evaluateScalar(argument(call, 1), ctx);
      const max = evaluateScalar(argument(call, 2), ctx);
      return { type: 'vector', samples: assertDistinctLabelSets(clampVector(vector, min, max)) };
    }
    case 'clamp_min':
      return { type: 'vector', samples: assertDistinctLabelSets(clampVector(evaluateVector(argument(call, 0), ctx), evaluateScalar(argument(call, 1), ctx), Infinity)) };
    case 'clamp_max':
      return { type: 'vector', samples: assertDistinctLabelSets(clampVector(evaluateVector(argument(call, 0), ctx), -Infinity, evaluateScalar(argument(call, 1), ctx))) };
    default:
      throw promqlExecutionError(`function "${call.func}" is not supported`);
  }
}
