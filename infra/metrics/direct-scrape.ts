/**
 * The embedded metrics source: scrapes every inference replica's /metrics itself (Prometheus'
 * job, with the same target labels) into an in-memory series store and answers PromQL over it
 * with Prometheus semantics. The local-Kafka mode swaps in a real Prometheus behind the same port.
 */
import type { Logger } from '../../core/common/ports';
import { silentLogger } from '../../core/common/ports';
import { parseExposition } from './exposition';
import type { MetricsSource, QueryResult } from '../../core/ports/metrics-source';
import type { ScrapeTarget } from '../../core/ports/cluster';
import { createLocalQueryEngine } from './query-engine';
import { createSeriesStore, type SeriesStore } from './series-store';

export interface DirectScrapeOptions {
  readonly targets: () => readonly ScrapeTarget[];
  readonly timeoutMs?: number;
  readonly logger?: Logger;
  readonly store?: SeriesStore;
}

export function createDirectScrapeSource(opts: DirectScrapeOptions): MetricsSource {
  const store = opts.store ?? createSeriesStore();
  const engine = createLocalQueryEngine(store);
  const logger = opts.logger ?? silentLogger;
  let known = new Map<string, Readonly<Record<string, string>>>();

  async function scrapeOne(t: ScrapeTarget, atMs: number): Promise<void> {
    try {
      const res = await fetch(t.url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 2000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      store.append(parseExposition(await res.text()), atMs, { ...t.labels, instance: new URL(t.url).host, job: 'inference' });
    } catch (err) {
      // A failed scrape ends the target's series (Prometheus marks them stale; `up` would be 0).
      store.markStale({ ...t.labels, instance: new URL(t.url).host, job: 'inference' }, atMs);
      logger.debug({ target: t.url, error: String(err) }, 'scrape failed');
    }
  }

  return {
    async refresh(atMs) {
      const targets = opts.targets();
      const now = new Map(targets.map((t) => [t.url, t.labels]));
      // Targets that went away (replica removed) end their series, as Prometheus' staleness does.
      for (const [url, labels] of known) if (!now.has(url)) store.markStale({ ...labels, instance: new URL(url).host, job: 'inference' }, atMs);
      known = now;
      await Promise.all(targets.map((t) => scrapeOne(t, atMs)));
      store.prune(atMs);
    },
    query(promql: string, atMs: number): Promise<QueryResult> {
      return engine.query(promql, atMs);
    },
  };
}
