/**
 * Binary operators between scalars and instant vectors, with Prometheus' vector matching:
 * one-to-one on all labels but `__name__` by default, `on (...)`/`ignoring (...)` to choose the
 * matching labels, group_left/group_right for many-to-one, and the set operators and/or/unless.
 * Arithmetic drops the metric name; comparisons filter (or return 0/1 with `bool`).
 */
import { METRIC_NAME_LABEL, dropLabels, formatLabels, keepLabels, labelsKey, withoutMetricName, type Labels } from '../labels';
import { COMPARISON_OPERATORS, type BinaryOperator, type SetOperator, type VectorMatching } from './ast';
import { promqlExecutionError } from './errors';
import { goMod, goPow } from './float-math';
import type { VectorSample } from './values';

interface ElementResult {
  readonly value: number;
  /** For comparisons: whether the comparison holds. Always true for arithmetic. */
  readonly keep: boolean;
}

function applyOperator(op: BinaryOperator, lhs: number, rhs: number): ElementResult {
  switch (op) {
    case '+':
      return { value: lhs + rhs, keep: true };
    case '-':
      return { value: lhs - rhs, keep: true };
    case '*':
      return { value: lhs * rhs, keep: true };
    case '/':
      // IEEE division, as Go: x/0 is ±Inf, 0/0 is NaN.
      return { value: lhs / rhs, keep: true };
    case '%':
      return { value: goMod(lhs, rhs), keep: true };
    case '^':
      return { value: goPow(lhs, rhs), keep: true };
    case 'atan2':
      return { value: Math.atan2(lhs, rhs), keep: true };
    case '==':
      return { value: lhs, keep: lhs === rhs };
    case '!=':
      return { value: lhs, keep: lhs !== rhs };
    case '>':
      return { value: lhs, keep: lhs > rhs };
    case '<':
      return { value: lhs, keep: lhs < rhs };
    case '>=':
      return { value: lhs, keep: lhs >= rhs };
    case '<=':
      return { value: lhs, keep: lhs <= rhs };
    case 'and':
    case 'or':
    case 'unless':
      throw promqlExecutionError(`set operator "${op}" applied to single values`);
  }
}

function isComparison(op: BinaryOperator): boolean {
  return COMPARISON_OPERATORS.has(op);
}

/** scalar op scalar; comparisons (which the parser only allows with `bool`) give 1 or 0. */
export function scalarBinary(op: BinaryOperator, lhs: number, rhs: number): number {
  const { value, keep } = applyOperator(op, lhs, rhs);
  if (isComparison(op)) return keep ? 1 : 0;
  return value;
}

/** vector op scalar, or scalar op vector when scalarOnLeft. */
export function vectorScalarBinary(op: BinaryOperator, vector: readonly VectorSample[], scalar: number, scalarOnLeft: boolean, returnBool: boolean): VectorSample[] {
  const out: VectorSample[] = [];
  for (const sample of vector) {
    const [lhs, rhs] = scalarOnLeft ? [scalar, sample.value] : [sample.value, scalar];
    let { value, keep } = applyOperator(op, lhs, rhs);
    // A comparison always yields the vector's value, whichever side the vector is on.
    if (isComparison(op)) value = sample.value;
    if (returnBool) {
      value = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    const dropName = !isComparison(op) || returnBool;
    out.push({ labels: dropName ? withoutMetricName(sample.labels) : sample.labels, value });
  }
  return out;
}

/** The labels two samples are matched on. */
export function matchingSignature(labels: Labels, matching: VectorMatching): string {
  if (matching.on) return labelsKey(keepLabels(labels, matching.labels));
  const rest: Record<string, string> = {};
  for (const [name, value] of Object.entries(labels)) {
    if (name !== METRIC_NAME_LABEL && !matching.labels.includes(name)) rest[name] = value;
  }
  return labelsKey(rest);
}

/** vector op vector for arithmetic and comparison operators. */
export function vectorBinary(op: BinaryOperator, lhs: readonly VectorSample[], rhs: readonly VectorSample[], matching: VectorMatching, returnBool: boolean): VectorSample[] {
  if (lhs.length === 0 || rhs.length === 0) return [];
  // One-to-many is many-to-one with the sides swapped; values are swapped back below.
  const swapped = matching.card === 'one-to-many';
  const [manySide, oneSide] = swapped ? [rhs, lhs] : [lhs, rhs];

  const oneBySignature = new Map<string, VectorSample>();
  for (const sample of oneSide) {
    const signature = matchingSignature(sample.labels, matching);
    const duplicate = oneBySignature.get(signature);
    if (duplicate) {
      const group = matching.on ? keepLabels(sample.labels, matching.labels) : dropLabels(sample.labels, [METRIC_NAME_LABEL, ...matching.labels]);
      throw promqlExecutionError(
        `found duplicate series for the match group ${formatLabels(group)} on the ${swapped ? 'left' : 'right'} hand-side of the operation: ` +
          `[${formatLabels(sample.labels)}, ${formatLabels(duplicate.labels)}];many-to-many matching not allowed: matching labels must be unique on one side`,
      );
    }
    oneBySignature.set(signature, sample);
  }

  const matched = new Map<string, Set<string> | null>();
  const out: VectorSample[] = [];
  for (const sample of manySide) {
    const signature = matchingSignature(sample.labels, matching);
    const partner = oneBySignature.get(signature);
    if (!partner) continue;
    const [left, right] = swapped ? [partner.value, sample.value] : [sample.value, partner.value];
    const { value, keep } = applyOperator(op, left, right);
    let labels = resultLabels(sample.labels, partner.labels, op, matching);
    if (returnBool) labels = withoutMetricName(labels);

    if (matching.card === 'one-to-one') {
      if (matched.has(signature)) throw promqlExecutionError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
      matched.set(signature, null);
    } else {
      let inserted = matched.get(signature);
      if (!inserted) matched.set(signature, (inserted = new Set()));
      const resultKey = labelsKey(labels);
      if (inserted.has(resultKey)) throw promqlExecutionError('multiple matches for labels: grouping labels must ensure unique matches');
      inserted.add(resultKey);
    }

    if (returnBool) out.push({ labels, value: keep ? 1 : 0 });
    else if (keep) out.push({ labels, value });
  }
  return out;
}

/** Prometheus' resultMetric: the "many" side's labels, trimmed by the matching and completed by group_x labels. */
function resultLabels(many: Labels, one: Labels, op: BinaryOperator, matching: VectorMatching): Labels {
  let labels: Record<string, string> = { ...many };
  if (!isComparison(op)) delete labels[METRIC_NAME_LABEL];
  if (matching.card === 'one-to-one') {
    if (matching.on) labels = { ...keepLabels(labels, matching.labels) };
    else for (const name of matching.labels) delete labels[name];
  }
  for (const name of matching.include) {
    const value = one[name];
    if (value !== undefined && value !== '') labels[name] = value;
    else delete labels[name];
  }
  return labels;
}

/** and / or / unless: label sets are kept as they are. */
export function setOperation(op: SetOperator, lhs: readonly VectorSample[], rhs: readonly VectorSample[], matching: VectorMatching): VectorSample[] {
  const signatures = (samples: readonly VectorSample[]): Set<string> => new Set(samples.map((s) => matchingSignature(s.labels, matching)));
  switch (op) {
    case 'and': {
      if (lhs.length === 0 || rhs.length === 0) return [];
      const right = signatures(rhs);
      return lhs.filter((s) => right.has(matchingSignature(s.labels, matching)));
    }
    case 'or': {
      if (lhs.length === 0) return [...rhs];
      if (rhs.length === 0) return [...lhs];
      const left = signatures(lhs);
      return [...lhs, ...rhs.filter((s) => !left.has(matchingSignature(s.labels, matching)))];
    }
    case 'unless': {
      if (lhs.length === 0 || rhs.length === 0) return [...lhs];
      const right = signatures(rhs);
      return lhs.filter((s) => !right.has(matchingSignature(s.labels, matching)));
    }
  }
}
