/**
 * Which metrics source the embedded stack's sample function reads: the direct scrape (default:
 * the replicas scraped in-process, PromQL evaluated in-process), a local Prometheus started for
 * the stack and scraping the simulated cluster's replicas, or a Prometheus that already runs.
 * Prometheus stamps samples with its own clock, so the two Prometheus modes need the stack on
 * the system clock.
 */
import type { Logger } from '../core/common/ports';
import { SsisError } from '../core/errors';
import type { ClusterPort } from '../core/ports/cluster';
import type { MetricsSource } from '../core/ports/metrics-source';
import { createDirectScrapeSource } from '../infra/metrics/direct-scrape';
import { createPrometheusSource } from '../infra/prometheus/http-source';
import { startLocalPrometheus } from '../infra/prometheus/local-prometheus';

export type MetricsMode = 'direct' | 'local-prometheus' | { readonly prometheusUrl: string };

export interface StackMetrics {
  readonly source: MetricsSource;
  /** `direct`, or the Prometheus URL. */
  readonly description: string;
  stop(): Promise<void>;
}

/** `direct`, `prometheus` (start a local one) or an http(s) URL of a running Prometheus. */
export function parseMetricsMode(text: string, field = '--metrics'): MetricsMode {
  const value = text.trim();
  if (value === 'direct') return 'direct';
  if (value === 'prometheus') return 'local-prometheus';
  if (/^https?:\/\//.test(value)) return { prometheusUrl: value };
  throw new SsisError('SSIS_INVALID_CONFIG', `${field} must be direct, prometheus or the http(s) URL of a Prometheus; got "${text}"`, {
    issues: [{ field, message: 'unknown metrics mode' }],
  });
}

export async function startStackMetrics(mode: MetricsMode, cluster: ClusterPort, logger: Logger): Promise<StackMetrics> {
  const targets = () => cluster.scrapeTargets();
  if (mode === 'direct') {
    return { source: createDirectScrapeSource({ targets, logger: logger.child({ component: 'scraper' }) }), description: 'direct', stop: () => Promise.resolve() };
  }
  if (mode === 'local-prometheus') {
    const prom = await startLocalPrometheus({ targets, logger: logger.child({ component: 'prometheus' }) });
    return { source: prom.source, description: prom.url, stop: () => prom.stop() };
  }
  return { source: createPrometheusSource({ url: mode.prometheusUrl }), description: mode.prometheusUrl, stop: () => Promise.resolve() };
}
