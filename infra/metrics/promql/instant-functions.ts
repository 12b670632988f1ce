/** Functions over instant vectors and scalars: element-wise math, clamping, rounding, conversions. */
import { withoutMetricName } from '../labels';
import { goLog10, goLog2 } from './float-math';
import type { VectorSample } from './values';

/** Element-wise functions; like Prometheus, their results lose the metric name. */
export const ELEMENT_FUNCTIONS: Readonly<Record<string, (value: number) => number>> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: goLog2,
  log10: goLog10,
  sgn: (value) => (value < 0 ? -1 : value > 0 ? 1 : value),
};

export function mapValues(vector: readonly VectorSample[], fn: (value: number) => number): VectorSample[] {
  return vector.map((sample) => ({ labels: withoutMetricName(sample.labels), value: fn(sample.value) }));
}

/** round(v, to_nearest): ties round up, computed through the inverse as Prometheus does. */
export function roundTo(toNearest: number): (value: number) => number {
  const inverse = 1 / toNearest;
  return (value) => Math.floor(value * inverse + 0.5) / inverse;
}

/** clamp(v, min, max): nothing at all when max < min. */
export function clampVector(vector: readonly VectorSample[], min: number, max: number): VectorSample[] {
  if (max < min) return [];
  return mapValues(vector, (value) => Math.max(min, Math.min(max, value)));
}

/** scalar(v): the value of a one-element vector, NaN otherwise. */
export function scalarOfVector(vector: readonly VectorSample[]): number {
  return vector.length === 1 ? (vector[0]?.value ?? NaN) : NaN;
}
