/**
 * Float helpers that reproduce Go's math package and Prometheus' summation where JavaScript
 * differs, so that results are bit-for-bit what Prometheus returns.
 */

/** Go's math.Pow: unlike `**`, Pow(1, NaN) = 1 and Pow(±1, ±Inf) = 1. */
export function goPow(base: number, exponent: number): number {
  if (exponent === 0 || base === 1) return 1;
  if (base === -1 && !Number.isFinite(exponent) && !Number.isNaN(exponent)) return 1;
  return base ** exponent;
}

/** Go's math.Log2: exact for powers of two, else log(frac)·log2(e) + exp. */
export function goLog2(value: number): number {
  const [fraction, exponent] = frexp(value);
  if (fraction === 0.5) return exponent - 1;
  return Math.log(fraction) * Math.LOG2E + exponent;
}

/** Go's math.Log10: log(x)·log10(e), which can differ from Math.log10 in the last bit. */
export function goLog10(value: number): number {
  return Math.log(value) * Math.LOG10E;
}

/** Go's math.Frexp: value = fraction · 2^exponent with |fraction| in [0.5, 1). */
function frexp(value: number): [number, number] {
  if (value === 0 || !Number.isFinite(value)) return [value, 0];
  const view = new DataView(new ArrayBuffer(8));
  let exponent = 0;
  let normal = value;
  if (Math.abs(normal) < 2.2250738585072014e-308) {
    // Subnormal: scale into the normal range first, as Go's normalize() does.
    normal *= 2 ** 52;
    exponent = -52;
  }
  view.setFloat64(0, normal);
  const high = view.getUint32(0);
  exponent += ((high >>> 20) & 0x7ff) - 1022;
  view.setUint32(0, (high & 0x800fffff) | (1022 << 20));
  return [view.getFloat64(0), exponent];
}

/** Go's math.Mod (same sign rules as `%`, which already matches it). */
export function goMod(dividend: number, divisor: number): number {
  return dividend % divisor;
}

/**
 * One step of Kahan-Neumaier summation, as Prometheus' kahanSumInc: returns the new sum and the
 * new compensation; the caller adds the compensation at the end.
 */
export function kahanSumInc(increment: number, sum: number, compensation: number): [number, number] {
  const total = sum + increment;
  if (!Number.isFinite(total) && !Number.isNaN(total)) return [total, 0];
  if (Math.abs(sum) >= Math.abs(increment)) return [total, compensation + (sum - total + increment)];
  return [total, compensation + (increment - total + sum)];
}

/** Prometheus' quantile of a list of values (linear interpolation between closest ranks). */
export function quantileOf(q: number, values: readonly number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  // Go sorts NaN first in this ordering (vectorByValueHeap's Less treats NaN as smallest).
  const sorted = [...values].sort((a, b) => (Number.isNaN(a) ? (Number.isNaN(b) ? 0 : -1) : Number.isNaN(b) ? 1 : a - b));
  const n = sorted.length;
  const rank = q * (n - 1);
  const lowerIndex = Math.max(0, Math.floor(rank));
  const upperIndex = Math.min(n - 1, lowerIndex + 1);
  const weight = rank - Math.floor(rank);
  return (sorted[lowerIndex] ?? NaN) * (1 - weight) + (sorted[upperIndex] ?? NaN) * weight;
}
