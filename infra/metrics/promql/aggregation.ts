/**
 * Aggregation operators (sum, avg, min, max, count, group, stddev, stdvar, quantile, topk,
 * bottomk) with `by`/`without` grouping, reproducing Prometheus' arithmetic (Kahan-compensated
 * sums, its NaN rules for min/max) so results match to the last bit.
 */
import { METRIC_NAME_LABEL, dropLabels, keepLabels, labelsKey, type Labels } from '../labels';
import type { AggregateOperator } from './ast';
import { kahanSumInc, quantileOf } from './float-math';
import type { PrometheusCompatibility, VectorSample } from './values';

export interface AggregationSpec {
  readonly op: AggregateOperator;
  readonly grouping: readonly string[];
  readonly without: boolean;
  /** k of topk/bottomk, φ of quantile. */
  readonly param?: number;
  /** Prometheus 2 summed plainly and averaged incrementally; 3 uses Kahan-compensated sums. */
  readonly compatibility: PrometheusCompatibility;
}

interface Group {
  readonly labels: Labels;
  readonly members: VectorSample[];
}

/** Output groups appear in the order their first member appears in the input, as in Prometheus. */
export function aggregate(spec: AggregationSpec, samples: readonly VectorSample[]): VectorSample[] {
  const groups = groupSamples(spec, samples);
  if (spec.op === 'topk' || spec.op === 'bottomk') return selectK(spec, groups, samples.length);
  return groups.map((group) => ({ labels: group.labels, value: aggregateValues(spec, group.members.map((m) => m.value)) }));
}

function groupSamples(spec: AggregationSpec, samples: readonly VectorSample[]): Group[] {
  const groups = new Map<string, Group>();
  for (const sample of samples) {
    const labels = spec.without ? dropLabels(sample.labels, [...spec.grouping, METRIC_NAME_LABEL]) : keepLabels(sample.labels, spec.grouping);
    const key = labelsKey(labels);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { labels, members: [] }));
    group.members.push(sample);
  }
  return [...groups.values()];
}

function aggregateValues(spec: AggregationSpec, values: readonly number[]): number {
  switch (spec.op) {
    case 'sum':
      return spec.compatibility === 'prometheus-2' ? plainSum(values) : sum(values);
    case 'avg':
      return spec.compatibility === 'prometheus-2' ? incrementalAverage(values) : average(values);
    case 'min':
      return extreme(values, (candidate, best) => best > candidate);
    case 'max':
      return extreme(values, (candidate, best) => best < candidate);
    case 'count':
      return values.length;
    case 'group':
      return 1;
    case 'stddev':
      return Math.sqrt(variance(values));
    case 'stdvar':
      return variance(values);
    case 'quantile':
      return quantileOf(spec.param ?? NaN, values);
    case 'topk':
    case 'bottomk':
      return NaN;
  }
}

function sum(values: readonly number[]): number {
  let total = values[0] ?? 0;
  let compensation = 0;
  for (let i = 1; i < values.length; i++) [total, compensation] = kahanSumInc(values[i] ?? NaN, total, compensation);
  return total + compensation;
}

function plainSum(values: readonly number[]): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

/** Prometheus 2's avg: a running mean, kept from turning an infinite mean into NaN. */
function incrementalAverage(values: readonly number[]): number {
  let mean = values[0] ?? NaN;
  for (let i = 1; i < values.length; i++) {
    const value = values[i] ?? NaN;
    const count = i + 1;
    if (isInfinite(mean) && ((isInfinite(value) && mean > 0 === value > 0) || (!isInfinite(value) && !Number.isNaN(value)))) continue;
    mean += value / count - mean / count;
  }
  return mean;
}

function isInfinite(value: number): boolean {
  return value === Infinity || value === -Infinity;
}

/** Direct Kahan mean, switching to an incremental mean once the running sum would overflow (Prometheus 3). */
function average(values: readonly number[]): number {
  let total = values[0] ?? NaN;
  let mean = total;
  let compensation = 0;
  let incremental = false;
  let count = 1;
  for (let i = 1; i < values.length; i++) {
    const value = values[i] ?? NaN;
    count++;
    if (!incremental) {
      const [newTotal, newCompensation] = kahanSumInc(value, total, compensation);
      if (Number.isFinite(newTotal) || Number.isNaN(newTotal)) {
        total = newTotal;
        compensation = newCompensation;
        continue;
      }
      incremental = true;
      mean = total / (count - 1);
      compensation /= count - 1;
    }
    const q = (count - 1) / count;
    [mean, compensation] = kahanSumInc(value / count, q * mean, q * compensation);
  }
  if (incremental) return mean + compensation;
  return total / count + compensation / count;
}

/** min/max: a NaN is replaced by any later value, so NaN only results when all are NaN. */
function extreme(values: readonly number[], replaces: (candidate: number, best: number) => boolean): number {
  let best = values[0] ?? NaN;
  for (let i = 1; i < values.length; i++) {
    const value = values[i] ?? NaN;
    if (replaces(value, best) || Number.isNaN(best)) best = value;
  }
  return best;
}

/** Population variance, Welford's method as in Prometheus' stddev/stdvar aggregation. */
function variance(values: readonly number[]): number {
  const first = values[0] ?? NaN;
  let mean = first;
  let squares = Number.isFinite(first) ? 0 : NaN;
  let count = 1;
  for (let i = 1; i < values.length; i++) {
    const value = values[i] ?? NaN;
    count++;
    const delta = value - mean;
    mean += delta / count;
    squares += delta * (value - mean);
  }
  return squares / count;
}

/** topk/bottomk keep whole samples (labels included); k is truncated to an integer, < 1 selects nothing. */
function selectK(spec: AggregationSpec, groups: readonly Group[], inputSize: number): VectorSample[] {
  const k = Math.min(Math.trunc(spec.param ?? NaN), inputSize);
  if (!(k >= 1)) return [];
  const descending = spec.op === 'topk';
  // NaN ranks below every number for both directions, as in Prometheus.
  const order = (a: VectorSample, b: VectorSample): number => {
    if (Number.isNaN(a.value)) return Number.isNaN(b.value) ? 0 : 1;
    if (Number.isNaN(b.value)) return -1;
    return descending ? b.value - a.value : a.value - b.value;
  };
  return groups.flatMap((group) => [...group.members].sort(order).slice(0, k));
}
