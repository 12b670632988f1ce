/**
 * Functions over a range vector (`rate(x[1m])` and friends), evaluated per series on the
 * samples in its window. Each returns undefined when Prometheus returns no sample for the series.
 */
import type { Point } from '../sample-buffer';
import { kahanSumInc, quantileOf } from './float-math';
import type { PrometheusCompatibility } from './values';

export interface RangeWindow {
  /** Window start (exclusive in Prometheus 3, inclusive in 2) and end (inclusive), in ms. */
  readonly startMs: number;
  readonly endMs: number;
  readonly rangeMs: number;
}

export interface RangeFunctionInput {
  /** Non-empty, oldest first. */
  readonly points: readonly Point[];
  readonly window: RangeWindow;
  readonly compatibility: PrometheusCompatibility;
  /** Values of the scalar arguments before the range vector (the φ of quantile_over_time). */
  readonly scalarArgs: readonly number[];
}

export type RangeFunction = (input: RangeFunctionInput) => number | undefined;

/** Range functions whose result keeps the metric name (they return a sample as it was stored). */
export const NAME_PRESERVING_RANGE_FUNCTIONS: ReadonlySet<string> = new Set(['last_over_time']);

export const RANGE_FUNCTIONS: Readonly<Record<string, RangeFunction>> = {
  rate: (input) => extrapolatedRate(input, true, true),
  increase: (input) => extrapolatedRate(input, true, false),
  delta: (input) => extrapolatedRate(input, false, false),
  irate: (input) => instantValue(input.points, true),
  idelta: (input) => instantValue(input.points, false),
  changes: ({ points }) => countTransitions(points, (previous, current) => previous !== current && !(Number.isNaN(previous) && Number.isNaN(current))),
  resets: ({ points }) => countTransitions(points, (previous, current) => current < previous),
  avg_over_time: ({ points, compatibility }) => (compatibility === 'prometheus-2' ? incrementalAverage(points) : average(points)),
  min_over_time: ({ points }) => pickExtreme(points, (candidate, best) => candidate < best),
  max_over_time: ({ points }) => pickExtreme(points, (candidate, best) => candidate > best),
  sum_over_time: ({ points }) => kahanSum(points),
  count_over_time: ({ points }) => points.length,
  last_over_time: ({ points }) => points[points.length - 1]?.v,
  present_over_time: () => 1,
  stddev_over_time: ({ points }) => Math.sqrt(variance(points)),
  stdvar_over_time: ({ points }) => variance(points),
  quantile_over_time: ({ points, scalarArgs }) => quantileOf(scalarArgs[0] ?? NaN, points.map((p) => p.v)),
};

/**
 * Prometheus' extrapolatedRate for rate, increase and delta: the change between the first and
 * last sample in the window (counter resets added back for counters), extrapolated towards the
 * window edges. An edge is extrapolated to fully when the nearest sample is within 1.1 average
 * sample intervals of it, else by half an interval only; a counter is never extrapolated below
 * zero. Needs at least two samples.
 */
function extrapolatedRate(input: RangeFunctionInput, isCounter: boolean, isRate: boolean): number | undefined {
  const { points, window, compatibility } = input;
  const first = points[0];
  const last = points[points.length - 1];
  if (points.length < 2 || !first || !last) return undefined;

  let result = last.v - first.v;
  if (isCounter) {
    for (let i = 1; i < points.length; i++) {
      const previous = points[i - 1]?.v ?? NaN;
      if ((points[i]?.v ?? NaN) < previous) result += previous;
    }
  }

  let durationToStart = (first.t - window.startMs) / 1000;
  let durationToEnd = (window.endMs - last.t) / 1000;
  const sampledInterval = (last.t - first.t) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (points.length - 1);
  const extrapolationThreshold = averageDurationBetweenSamples * 1.1;
  const rangeSeconds = window.rangeMs / 1000;

  if (compatibility === 'prometheus-2') {
    // Prometheus <= 2.4x: the zero point limits the start first, then the threshold applies.
    if (isCounter && result > 0 && first.v >= 0) {
      const durationToZero = sampledInterval * (first.v / result);
      if (durationToZero < durationToStart) durationToStart = durationToZero;
    }
    let extrapolateToInterval = sampledInterval;
    extrapolateToInterval += durationToStart < extrapolationThreshold ? durationToStart : averageDurationBetweenSamples / 2;
    extrapolateToInterval += durationToEnd < extrapolationThreshold ? durationToEnd : averageDurationBetweenSamples / 2;
    let factor = extrapolateToInterval / sampledInterval;
    if (isRate) factor /= rangeSeconds;
    return result * factor;
  }

  if (durationToStart >= extrapolationThreshold) durationToStart = averageDurationBetweenSamples / 2;
  if (isCounter) {
    // Counters cannot be negative: do not extrapolate the start past the point where the counter would reach zero.
    const durationToZero = result > 0 && first.v >= 0 ? sampledInterval * (first.v / result) : durationToStart;
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= extrapolationThreshold) durationToEnd = averageDurationBetweenSamples / 2;
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= rangeSeconds;
  return result * factor;
}

/** irate and idelta: the last two samples only; irate treats a drop as a counter reset. */
function instantValue(points: readonly Point[], isRate: boolean): number | undefined {
  const last = points[points.length - 1];
  const previous = points[points.length - 2];
  if (!last || !previous) return undefined;
  const intervalMs = last.t - previous.t;
  if (intervalMs === 0) return undefined;
  const change = isRate && last.v < previous.v ? last.v : last.v - previous.v;
  return isRate ? change / (intervalMs / 1000) : change;
}

function countTransitions(points: readonly Point[], counts: (previous: number, current: number) => boolean): number {
  let transitions = 0;
  for (let i = 1; i < points.length; i++) {
    if (counts(points[i - 1]?.v ?? NaN, points[i]?.v ?? NaN)) transitions++;
  }
  return transitions;
}

/** Prometheus' avg_over_time: Kahan-compensated direct mean, switching to an incremental mean if the sum would overflow. */
function average(points: readonly Point[]): number {
  let sum = points[0]?.v ?? NaN;
  let compensation = 0;
  let mean = 0;
  let incremental = false;
  let count = 1;
  for (let i = 1; i < points.length; i++) {
    const value = points[i]?.v ?? NaN;
    count = i + 1;
    if (!incremental) {
      const [newSum, newCompensation] = kahanSumInc(value, sum, compensation);
      if (Number.isFinite(newSum) || Number.isNaN(newSum)) {
        sum = newSum;
        compensation = newCompensation;
        continue;
      }
      incremental = true;
      mean = sum / (count - 1);
      compensation /= count - 1;
    }
    const q = (count - 1) / count;
    [mean, compensation] = kahanSumInc(value / count, q * mean, q * compensation);
  }
  if (incremental) return mean + compensation;
  return sum / count + compensation / count;
}

/** Prometheus 2's avg_over_time: a Kahan-compensated running mean that leaves an infinite mean alone. */
function incrementalAverage(points: readonly Point[]): number {
  let mean = 0;
  let compensation = 0;
  let count = 0;
  for (const { v } of points) {
    count++;
    if (isInfinite(mean) && ((isInfinite(v) && mean > 0 === v > 0) || (!isInfinite(v) && !Number.isNaN(v)))) continue;
    [mean, compensation] = kahanSumInc(v / count - mean / count, mean, compensation);
  }
  return isInfinite(mean) ? mean : mean + compensation;
}

function isInfinite(value: number): boolean {
  return value === Infinity || value === -Infinity;
}

/** min/max_over_time: NaN only wins when every value is NaN. */
function pickExtreme(points: readonly Point[], better: (candidate: number, best: number) => boolean): number {
  let best = points[0]?.v ?? NaN;
  for (const point of points) {
    if (better(point.v, best) || Number.isNaN(best)) best = point.v;
  }
  return best;
}

function kahanSum(points: readonly Point[]): number {
  let sum = 0;
  let compensation = 0;
  for (const point of points) [sum, compensation] = kahanSumInc(point.v, sum, compensation);
  if (!Number.isFinite(sum) && !Number.isNaN(sum)) return sum;
  return sum + compensation;
}

/** Population variance (Welford with Kahan compensation, as Prometheus' varianceOverTime). */
function variance(points: readonly Point[]): number {
  let count = 0;
  let mean = 0;
  let meanCompensation = 0;
  let aux = 0;
  let auxCompensation = 0;
  for (const point of points) {
    count++;
    const delta = point.v - (mean + meanCompensation);
    [mean, meanCompensation] = kahanSumInc(delta / count, mean, meanCompensation);
    [aux, auxCompensation] = kahanSumInc(delta * (point.v - (mean + meanCompensation)), aux, auxCompensation);
  }
  return (aux + auxCompensation) / count;
}
