/**
 * The samples of one series: timestamps and values in parallel typed arrays, oldest first, with
 * a moving start so that dropping expired samples is O(1) and the arrays are compacted only
 * now and then. Timestamps are whole milliseconds (as in Prometheus) kept as 32-bit offsets from
 * a per-buffer base, so a sample costs 12 bytes instead of two boxed numbers.
 *
 * Staleness markers (Prometheus' special NaN) are stored as NaN values whose timestamps are also
 * listed in `staleTimes`: a plain NaN sample is data, a marker means "this series ended here".
 */

export interface SampleBuffer {
  baseMs: number;
  offsets: Uint32Array;
  values: Float64Array;
  /** Index of the oldest live sample. */
  start: number;
  /** Index one past the newest sample. */
  end: number;
  /** Timestamps of staleness markers, ascending. */
  staleTimes: number[];
}

export type ReadonlySampleBuffer = Readonly<SampleBuffer>;

export interface Point {
  readonly t: number;
  readonly v: number;
}

export interface BufferedSample extends Point {
  readonly stale: boolean;
}

const MAX_OFFSET = 0xffff_ffff;
const INITIAL_CAPACITY = 8;

export function createSampleBuffer(): SampleBuffer {
  return { baseMs: 0, offsets: new Uint32Array(INITIAL_CAPACITY), values: new Float64Array(INITIAL_CAPACITY), start: 0, end: 0, staleTimes: [] };
}

export function sampleCount(buffer: ReadonlySampleBuffer): number {
  return buffer.end - buffer.start;
}

function timestampAt(buffer: ReadonlySampleBuffer, index: number): number {
  return buffer.baseMs + (buffer.offsets[index] ?? 0);
}

function newestTimestamp(buffer: ReadonlySampleBuffer): number | undefined {
  return buffer.end > buffer.start ? timestampAt(buffer, buffer.end - 1) : undefined;
}

/**
 * Appends a sample; false (and nothing stored) when it is not newer than the newest one, as
 * Prometheus rejects out-of-order and duplicate-timestamp samples.
 */
export function appendSample(buffer: SampleBuffer, timestampMs: number, value: number): boolean {
  const t = Math.round(timestampMs);
  const newest = newestTimestamp(buffer);
  if (newest !== undefined && t <= newest) return false;
  if (buffer.end === buffer.start) {
    buffer.start = 0;
    buffer.end = 0;
    buffer.baseMs = t;
  }
  if (t - buffer.baseMs > MAX_OFFSET) rebase(buffer, t);
  if (buffer.end === buffer.offsets.length) makeRoom(buffer);
  buffer.offsets[buffer.end] = t - buffer.baseMs;
  buffer.values[buffer.end] = value;
  buffer.end++;
  return true;
}

/** Appends a staleness marker; false when a sample at or after that time exists already. */
export function appendStaleMarker(buffer: SampleBuffer, timestampMs: number): boolean {
  if (!appendSample(buffer, timestampMs, NaN)) return false;
  buffer.staleTimes.push(Math.round(timestampMs));
  return true;
}

/** Drops every sample older than cutoffMs. */
export function dropSamplesBefore(buffer: SampleBuffer, cutoffMs: number): void {
  const firstKept = firstIndexAtOrAfter(buffer, cutoffMs);
  buffer.start = firstKept;
  let staleDropped = 0;
  while (staleDropped < buffer.staleTimes.length && (buffer.staleTimes[staleDropped] ?? Infinity) < cutoffMs) staleDropped++;
  if (staleDropped > 0) buffer.staleTimes.splice(0, staleDropped);
}

/** The newest sample at or before t, staleness markers included (the caller decides what they mean). */
export function sampleAtOrBefore(buffer: ReadonlySampleBuffer, tMs: number): BufferedSample | undefined {
  const index = firstIndexAfter(buffer, tMs) - 1;
  if (index < buffer.start) return undefined;
  const t = timestampAt(buffer, index);
  const v = buffer.values[index] ?? NaN;
  return { t, v, stale: Number.isNaN(v) && isStaleTime(buffer, t) };
}

/**
 * The samples with fromMs < t <= toMs (fromMs <= t when includeFrom), oldest first, without
 * staleness markers: Prometheus' range selection.
 */
export function samplesInWindow(buffer: ReadonlySampleBuffer, fromMs: number, toMs: number, includeFrom: boolean): Point[] {
  const first = includeFrom ? firstIndexAtOrAfter(buffer, fromMs) : firstIndexAfter(buffer, fromMs);
  const last = firstIndexAfter(buffer, toMs);
  const points: Point[] = [];
  for (let i = first; i < last; i++) {
    const t = timestampAt(buffer, i);
    const v = buffer.values[i] ?? NaN;
    if (Number.isNaN(v) && isStaleTime(buffer, t)) continue;
    points.push({ t, v });
  }
  return points;
}

function isStaleTime(buffer: ReadonlySampleBuffer, t: number): boolean {
  const times = buffer.staleTimes;
  let low = 0;
  let high = times.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const at = times[mid] ?? 0;
    if (at === t) return true;
    if (at < t) low = mid + 1;
    else high = mid - 1;
  }
  return false;
}

/** Index of the first live sample with timestamp > t (end when none). */
function firstIndexAfter(buffer: ReadonlySampleBuffer, tMs: number): number {
  let low = buffer.start;
  let high = buffer.end;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (timestampAt(buffer, mid) > tMs) high = mid;
    else low = mid + 1;
  }
  return low;
}

/** Index of the first live sample with timestamp >= t (end when none). */
function firstIndexAtOrAfter(buffer: ReadonlySampleBuffer, tMs: number): number {
  let low = buffer.start;
  let high = buffer.end;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (timestampAt(buffer, mid) >= tMs) high = mid;
    else low = mid + 1;
  }
  return low;
}

/** Frees space at the end: slides live samples to the front when a quarter or more is dead, else doubles. */
function makeRoom(buffer: SampleBuffer): void {
  const live = buffer.end - buffer.start;
  const capacity = buffer.offsets.length;
  if (buffer.start * 4 >= capacity) {
    buffer.offsets.copyWithin(0, buffer.start, buffer.end);
    buffer.values.copyWithin(0, buffer.start, buffer.end);
  } else {
    const offsets = new Uint32Array(capacity * 2);
    const values = new Float64Array(capacity * 2);
    offsets.set(buffer.offsets.subarray(buffer.start, buffer.end));
    values.set(buffer.values.subarray(buffer.start, buffer.end));
    buffer.offsets = offsets;
    buffer.values = values;
  }
  buffer.start = 0;
  buffer.end = live;
}

/** Moves the base to the oldest live sample so that newTimestampMs fits into 32 bits again. */
function rebase(buffer: SampleBuffer, newTimestampMs: number): void {
  const oldestMs = timestampAt(buffer, buffer.start);
  if (newTimestampMs - oldestMs > MAX_OFFSET) {
    // Every live sample is over 49 days older than the new one, far past any retention: start over.
    buffer.start = 0;
    buffer.end = 0;
    buffer.staleTimes = [];
    buffer.baseMs = newTimestampMs;
    return;
  }
  const shift = oldestMs - buffer.baseMs;
  for (let i = buffer.start; i < buffer.end; i++) buffer.offsets[i] = (buffer.offsets[i] ?? 0) - shift;
  buffer.baseMs = oldestMs;
}
