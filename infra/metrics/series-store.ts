/**
 * In-memory time-series store for the embedded mode: what Prometheus' TSDB head does for the
 * sample function's own scrapes, reduced to what instant PromQL queries need.
 *
 * - `append` takes one scrape of one target. Target labels (pod, service, revision, namespace,
 *   job, ...) are attached to every sample the way Prometheus attaches them (honor_labels: false):
 *   a scraped label that collides is kept as `exported_<name>`.
 * - A series that was in the target's previous scrape but is missing from this one gets a
 *   staleness marker, and `markStale` ends every series of a target that went away (or whose
 *   scrape failed), so instant selectors stop returning them at once instead of for 5 minutes.
 * - Samples older than the retention are dropped; series with no samples left are forgotten.
 *
 * Sizing: 12 bytes per sample in typed arrays (off the JS heap) that grow by doubling, so 100
 * targets x 200 series scraped every 2 s with 10 min retention take about 120 MB (250 MB at 1 s);
 * appending such a scrape round costs about 20 ms.
 */
import { SsisError } from '../../core/errors';
import type { ExpositionSample } from './exposition';
import { METRIC_NAME_LABEL, labelsKey, matchesAll, type LabelMatcher, type Labels } from './labels';
import {
  appendSample,
  appendStaleMarker,
  createSampleBuffer,
  dropSamplesBefore,
  sampleCount,
  type ReadonlySampleBuffer,
  type SampleBuffer,
} from './sample-buffer';

export interface StoredSeries {
  /** labelsKey(labels): the series identity. */
  readonly key: string;
  /** The full label set, `__name__` included. */
  readonly labels: Labels;
  readonly samples: ReadonlySampleBuffer;
}

/** What the PromQL evaluator reads: the series whose labels satisfy every matcher. */
export interface SeriesSource {
  /** Matching series that hold at least one sample, ordered by label set. */
  select(matchers: readonly LabelMatcher[]): readonly StoredSeries[];
}

export interface SeriesStoreOptions {
  /** How long samples are kept, in ms (default 10 minutes, at most 24 days). Range queries cannot reach further back. */
  readonly retentionMs?: number;
  /** How often append() sweeps expired samples and series out (default: a tenth of the retention, at most 30 s). */
  readonly pruneIntervalMs?: number;
}

export interface AppendReport {
  /** Samples stored. */
  readonly appended: number;
  /** Samples refused because their series already had a sample at or after their timestamp. */
  readonly rejected: number;
  /** Series of the target that were missing from this scrape and got a staleness marker. */
  readonly markedStale: number;
}

export interface StoreStats {
  readonly series: number;
  readonly samples: number;
  readonly targets: number;
}

export interface SeriesStore extends SeriesSource {
  /** Stores one scrape of one target taken at atMs (samples with their own timestamp keep it). */
  append(samples: readonly ExpositionSample[], atMs: number, targetLabels: Labels): AppendReport;
  /** Ends every series of a target that disappeared or failed its scrape; returns how many were ended. */
  markStale(targetLabels: Labels, atMs: number): number;
  /** Drops samples older than nowMs - retention, and series left empty. */
  prune(nowMs: number): void;
  stats(): StoreStats;
}

export const DEFAULT_RETENTION_MS = 10 * 60_000;
// Sample buffers keep 32-bit millisecond offsets; half their range leaves room for pruning lag.
const MAX_RETENTION_MS = 2 ** 31;
const MAX_PRUNE_INTERVAL_MS = 30_000;
const EXPORTED_PREFIX = 'exported_';

interface MutableSeries extends StoredSeries {
  readonly samples: SampleBuffer;
}

interface TargetState {
  /** Series of the previous scrape whose samples had no explicit timestamp (Prometheus only ends those). */
  lastScrape: Set<MutableSeries>;
  /** Exposition identity (name + labels as written) to series, so steady scrapes skip label merging. */
  readonly seriesByExposedId: Map<string, MutableSeries>;
}

export function createSeriesStore(options: SeriesStoreOptions = {}): SeriesStore {
  const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
  if (!(retentionMs > 0 && retentionMs <= MAX_RETENTION_MS)) {
    throw new SsisError('SSIS_INVALID_CONFIG', 'series store retention must be a positive number of ms, at most 24 days', {
      issues: [{ field: 'retentionMs', message: `must be in (0, ${MAX_RETENTION_MS}], got ${retentionMs}` }],
    });
  }
  const pruneIntervalMs = options.pruneIntervalMs ?? Math.min(retentionMs / 10, MAX_PRUNE_INTERVAL_MS);

  const seriesByKey = new Map<string, MutableSeries>();
  const seriesByName = new Map<string, Set<MutableSeries>>();
  const targets = new Map<string, TargetState>();
  let lastPruneMs = -Infinity;

  function seriesFor(labels: Labels): MutableSeries {
    const key = labelsKey(labels);
    const existing = seriesByKey.get(key);
    if (existing) return existing;
    const created: MutableSeries = { key, labels: Object.freeze({ ...labels }), samples: createSampleBuffer() };
    seriesByKey.set(key, created);
    const name = labels[METRIC_NAME_LABEL] ?? '';
    let named = seriesByName.get(name);
    if (!named) seriesByName.set(name, (named = new Set()));
    named.add(created);
    return created;
  }

  function forget(series: MutableSeries): void {
    seriesByKey.delete(series.key);
    const name = series.labels[METRIC_NAME_LABEL] ?? '';
    const named = seriesByName.get(name);
    named?.delete(series);
    if (named?.size === 0) seriesByName.delete(name);
  }

  function append(samples: readonly ExpositionSample[], atMs: number, targetLabels: Labels): AppendReport {
    assertTimestamp(atMs);
    // Prune first, so that expired samples never sit beside the new ones.
    if (atMs - lastPruneMs >= pruneIntervalMs) prune(atMs);
    const target = usableTargetLabels(targetLabels);
    const targetKey = labelsKey(target);
    let state = targets.get(targetKey);
    if (!state) targets.set(targetKey, (state = { lastScrape: new Set(), seriesByExposedId: new Map() }));

    let appended = 0;
    let rejected = 0;
    const scraped = new Set<MutableSeries>();
    for (const sample of samples) {
      const exposedId = `${sample.name}\u0000${JSON.stringify(sample.labels)}`;
      let series = state.seriesByExposedId.get(exposedId);
      if (!series || seriesByKey.get(series.key) !== series) {
        series = seriesFor(attachTargetLabels(sample, target));
        state.seriesByExposedId.set(exposedId, series);
      }
      if (appendSample(series.samples, sample.timestampMs ?? atMs, sample.value)) appended++;
      else rejected++;
      if (sample.timestampMs === undefined) scraped.add(series);
    }

    let markedStale = 0;
    for (const previous of state.lastScrape) {
      if (!scraped.has(previous) && appendStaleMarker(previous.samples, atMs)) markedStale++;
    }
    state.lastScrape = scraped;
    return { appended, rejected, markedStale };
  }

  function markStale(targetLabels: Labels, atMs: number): number {
    assertTimestamp(atMs);
    const targetKey = labelsKey(usableTargetLabels(targetLabels));
    const state = targets.get(targetKey);
    if (!state) return 0;
    let ended = 0;
    for (const series of state.lastScrape) {
      if (appendStaleMarker(series.samples, atMs)) ended++;
    }
    targets.delete(targetKey);
    return ended;
  }

  function prune(nowMs: number): void {
    lastPruneMs = nowMs;
    const cutoffMs = nowMs - retentionMs;
    for (const series of seriesByKey.values()) {
      dropSamplesBefore(series.samples, cutoffMs);
      if (sampleCount(series.samples) === 0) forget(series);
    }
    for (const [targetKey, state] of targets) {
      for (const series of state.lastScrape) if (!seriesByKey.has(series.key)) state.lastScrape.delete(series);
      for (const [exposedId, series] of state.seriesByExposedId) {
        if (seriesByKey.get(series.key) !== series) state.seriesByExposedId.delete(exposedId);
      }
      if (state.lastScrape.size === 0 && state.seriesByExposedId.size === 0) targets.delete(targetKey);
    }
  }

  function select(matchers: readonly LabelMatcher[]): readonly StoredSeries[] {
    const byName = matchers.find((m) => m.name === METRIC_NAME_LABEL && m.op === '=');
    const candidates: Iterable<MutableSeries> = byName ? (seriesByName.get(byName.value) ?? []) : seriesByKey.values();
    const selected: MutableSeries[] = [];
    for (const series of candidates) {
      if (sampleCount(series.samples) > 0 && matchesAll(series.labels, matchers)) selected.push(series);
    }
    return selected.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  function stats(): StoreStats {
    let samples = 0;
    for (const series of seriesByKey.values()) samples += sampleCount(series.samples);
    return { series: seriesByKey.size, samples, targets: targets.size };
  }

  return { append, markStale, prune, select, stats };
}

function assertTimestamp(atMs: number): void {
  if (!Number.isFinite(atMs)) {
    throw new SsisError('SSIS_INVALID_REQUEST', `sample timestamp must be a finite number of ms, got ${atMs}`, {
      issues: [{ field: 'atMs', message: 'must be a finite number' }],
    });
  }
}

/** Prometheus drops empty-valued labels and, after relabeling, every `__`-prefixed one. */
function usableTargetLabels(targetLabels: Labels): Labels {
  const usable: Record<string, string> = {};
  for (const [name, value] of Object.entries(targetLabels)) {
    if (value !== '' && !name.startsWith('__')) usable[name] = value;
  }
  return usable;
}

/** The series labels of a scraped sample: its own labels, the target's on top, collisions kept as exported_<name>. */
function attachTargetLabels(sample: ExpositionSample, target: Labels): Labels {
  const merged: Record<string, string> = {};
  for (const [name, value] of Object.entries(sample.labels)) if (value !== '') merged[name] = value;
  const collisions: [string, string][] = [];
  for (const [name, value] of Object.entries(target)) {
    const exposed = merged[name];
    if (exposed !== undefined) collisions.push([name, exposed]);
    merged[name] = value;
  }
  // Shortest names first, as Prometheus does, so that exported_exported_x only arises when needed.
  collisions.sort((a, b) => a[0].length - b[0].length);
  for (const [name, value] of collisions) {
    let exportedName = name;
    do exportedName = `${EXPORTED_PREFIX}${exportedName}`;
    while (merged[exportedName] !== undefined);
    merged[exportedName] = value;
  }
  merged[METRIC_NAME_LABEL] = sample.name;
  return merged;
}
