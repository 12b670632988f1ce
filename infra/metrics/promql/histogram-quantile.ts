/**
 * histogram_quantile over classic histograms (`_bucket` series with an `le` label), following
 * Prometheus' bucketQuantile: linear interpolation inside the bucket holding the rank, 0 as the
 * lower bound of the first bucket when it is positive, the second-highest bound when the rank
 * falls into the +Inf bucket, and the count envelope when buckets are not monotonic.
 */
import { parseGoFloat } from '../float-syntax';
import { METRIC_NAME_LABEL, dropLabels, labelsKey, type Labels } from '../labels';
import type { PrometheusCompatibility, VectorSample } from './values';

const BUCKET_LABEL = 'le';

export interface Bucket {
  readonly upperBound: number;
  readonly count: number;
}

/** One output sample per label set (all labels but `le` and `__name__`) that has at least one bucket. */
export function histogramQuantile(q: number, samples: readonly VectorSample[], compatibility: PrometheusCompatibility): VectorSample[] {
  const groups = new Map<string, { labels: Labels; buckets: Bucket[] }>();
  for (const sample of samples) {
    const le = sample.labels[BUCKET_LABEL];
    const upperBound = le === undefined ? undefined : parseGoFloat(le);
    // Prometheus skips series without a parsable `le` (with a warning).
    if (upperBound === undefined) continue;
    const labels = dropLabels(sample.labels, [BUCKET_LABEL, METRIC_NAME_LABEL]);
    const key = labelsKey(labels);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { labels, buckets: [] }));
    group.buckets.push({ upperBound, count: sample.value });
  }
  return [...groups.values()].map((group) => ({ labels: group.labels, value: bucketQuantile(q, group.buckets, compatibility) }));
}

/** Prometheus' bucketQuantile. */
export function bucketQuantile(q: number, unsortedBuckets: readonly Bucket[], compatibility: PrometheusCompatibility = 'prometheus-3'): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...unsortedBuckets].sort((a, b) => (a.upperBound < b.upperBound ? -1 : a.upperBound > b.upperBound ? 1 : 0));
  if (sorted.length === 0 || sorted[sorted.length - 1]?.upperBound !== Infinity) return NaN;

  const buckets = coalesceBuckets(sorted);
  // Prometheus 3 first evens out float noise (relative differences up to 1e-12) between neighbours.
  if (compatibility === 'prometheus-3') correctPrecisionErrors(buckets, 1e-12);
  ensureMonotonic(buckets);
  if (buckets.length < 2) return NaN;

  const observations = buckets[buckets.length - 1]?.count ?? 0;
  if (observations === 0) return NaN;
  let rank = q * observations;
  // The first bucket (the +Inf one excluded from the search) whose cumulative count reaches the rank.
  const b = searchFirst(buckets.length - 1, (i) => (buckets[i]?.count ?? 0) >= rank);

  if (b === buckets.length - 1) return buckets[buckets.length - 2]?.upperBound ?? NaN;
  const bucket = buckets[b] as MutableBucket;
  if (b === 0 && bucket.upperBound <= 0) return bucket.upperBound;
  let bucketStart = 0;
  let count = bucket.count;
  if (b > 0) {
    const previous = buckets[b - 1] as MutableBucket;
    bucketStart = previous.upperBound;
    count -= previous.count;
    rank -= previous.count;
  }
  return bucketStart + (bucket.upperBound - bucketStart) * (rank / count);
}

/** Go's sort.Search: the smallest i in [0, n) for which found(i) holds, n when none (binary search, as Prometheus). */
function searchFirst(n: number, found: (i: number) => boolean): number {
  let low = 0;
  let high = n;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (found(mid)) high = mid;
    else low = mid + 1;
  }
  return low;
}

interface MutableBucket {
  upperBound: number;
  count: number;
}

/** Merges buckets with the same bound (input sorted), adding their counts. */
function coalesceBuckets(sorted: readonly Bucket[]): MutableBucket[] {
  const merged: MutableBucket[] = [];
  for (const bucket of sorted) {
    const last = merged[merged.length - 1];
    if (last && last.upperBound === bucket.upperBound) last.count += bucket.count;
    else merged.push({ upperBound: bucket.upperBound, count: bucket.count });
  }
  return merged;
}

/** Raises every count to at least the largest count below it (Prometheus' "forced monotonicity"). */
function ensureMonotonic(buckets: MutableBucket[]): void {
  let max = buckets[0]?.count ?? 0;
  for (let i = 1; i < buckets.length; i++) {
    const bucket = buckets[i] as MutableBucket;
    if (bucket.count > max) max = bucket.count;
    else if (bucket.count < max) bucket.count = max;
  }
}

function correctPrecisionErrors(buckets: MutableBucket[], tolerance: number): void {
  let previous = buckets[0]?.count ?? 0;
  for (let i = 1; i < buckets.length; i++) {
    const bucket = buckets[i] as MutableBucket;
    const delta = Math.abs(bucket.count - previous);
    if (delta === 0) continue;
    if (delta / bucket.count <= tolerance) bucket.count = previous;
    else previous = bucket.count;
  }
}
