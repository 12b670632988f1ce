/**
 * Inferno's `utils.BinarySearch` (queue-analysis), ported rule for rule (docs: shared notes inferno.md §3.6).
 *
 * Finds x in [xMin, xMax] with f(x) = yTarget for a monotone f:
 *  1. f is evaluated at both ends; an end whose value is within relative tolerance 1e-6 of the target is returned.
 *  2. The direction (increasing or not) is read from the two ends: increasing iff f(xMin) < f(xMax).
 *  3. If the target lies beyond the xMin end (increasing: target < f(xMin); otherwise target > f(xMin)) the answer
 *     is `below` the region (indicator −1, x = xMin): for SLO sizing this means infeasible.
 *  4. If the target lies beyond the xMax end (increasing: target > f(xMax); otherwise target < f(xMax)) the answer
 *     is `above` the region (indicator +1, x = xMax): for SLO sizing the SLO does not bind.
 *  5. Otherwise at most 100 midpoint iterations, stopping when |f − target|/target ≤ 1e-6; the last midpoint is
 *     returned even when the tolerance was not reached.
 */

export const BISECTION_TOLERANCE = 1e-6;
export const BISECTION_MAX_ITERATIONS = 100;

/** −1: the solution lies below xMin (target below the attainable region); 0: found inside; +1: above xMax. */
export type BisectionIndicator = -1 | 0 | 1;

export interface BisectionResult {
  readonly x: number;
  readonly indicator: BisectionIndicator;
  /** Midpoint evaluations done (0 when an end answered). */
  readonly iterations: number;
}

/** Inferno's `WithinTolerance`: relative error against the target (absolute when the target is 0). */
export function withinTolerance(y: number, target: number, tolerance: number = BISECTION_TOLERANCE): boolean {
  if (y === target) return true;
  if (target === 0) return Math.abs(y) <= tolerance;
  return Math.abs((y - target) / target) <= tolerance;
}

export function binarySearch(xMin: number, xMax: number, yTarget: number, f: (x: number) => number): BisectionResult {
  if (!Number.isFinite(xMin) || !Number.isFinite(xMax) || xMin > xMax) {
    throw new RangeError(`binarySearch: invalid range [${xMin}, ${xMax}]`);
  }
  if (Number.isNaN(yTarget)) throw new RangeError('binarySearch: target is NaN');

  const yMin = f(xMin);
  if (withinTolerance(yMin, yTarget)) return { x: xMin, indicator: 0, iterations: 0 };
  const yMax = f(xMax);
  if (withinTolerance(yMax, yTarget)) return { x: xMax, indicator: 0, iterations: 0 };

  const increasing = yMin < yMax;
  if ((increasing && yTarget < yMin) || (!increasing && yTarget > yMin)) return { x: xMin, indicator: -1, iterations: 0 };
  if ((increasing && yTarget > yMax) || (!increasing && yTarget < yMax)) return { x: xMax, indicator: 1, iterations: 0 };

  let lo = xMin;
  let hi = xMax;
  let xStar = 0.5 * (lo + hi);
  let iterations = 0;
  for (let i = 0; i < BISECTION_MAX_ITERATIONS; i++) {
    xStar = 0.5 * (lo + hi);
    const yStar = f(xStar);
    iterations++;
    if (withinTolerance(yStar, yTarget)) break;
    if ((increasing && yTarget < yStar) || (!increasing && yTarget > yStar)) hi = xStar;
    else lo = xStar;
  }
  return { x: xStar, indicator: 0, iterations };
}
