/**
 * Per-request outcomes of a run, collected without allocation per request (growable typed
 * columns), and summarised once at the end: means and exact percentiles.
 */
export class GrowableColumn {
  private data = new Float64Array(1024);
  length = 0;

  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }

  sorted(): Float64Array {
    return this.data.slice(0, this.length).sort();
  }

  sum(): number {
    let s = 0;
    for (let i = 0; i < this.length; i++) s += this.data[i]!;
    return s;
  }
}

/** Nearest-rank percentile of an ascending array (q in [0, 1]); NaN when empty. */
export function percentile(sortedValues: Float64Array, q: number): number {
  if (sortedValues.length === 0) return NaN;
  const rank = Math.min(sortedValues.length - 1, Math.max(0, Math.ceil(q * sortedValues.length) - 1));
  return sortedValues[rank]!;
}

export interface Distribution {
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
}

export function summarise(column: GrowableColumn): { readonly dist: Distribution; readonly sorted: Float64Array } {
  const sorted = column.sorted();
  const mean = column.length === 0 ? NaN : column.sum() / column.length;
  return { dist: { mean, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) }, sorted };
}

/** `points` evenly spaced quantiles of an ascending array: a compact CDF for plots. */
export function quantileSketch(sortedValues: Float64Array, points = 200): number[] {
  if (sortedValues.length === 0) return [];
  const out: number[] = [];
  for (let i = 0; i <= points; i++) out.push(percentile(sortedValues, i / points));
  return out;
}
