/**
 * What a local Prometheus is told to scrape: its configuration file and the file_sd target
 * groups made from the cluster's scrape targets. The labels are those the direct scrape
 * (infra/metrics/direct-scrape.ts) attaches — the target's own labels, `instance` = host:port,
 * `job` = inference — so the same autoscaler-config queries select the same series in both.
 */
import type { ScrapeTarget } from '../../core/ports/cluster';

/** The scrape job of the inference replicas; direct-scrape.ts uses the same name. */
export const INFERENCE_JOB = 'inference';

export interface FileSdGroup {
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * One group per target (their labels differ). The URL's path, scheme and query travel as
 * Prometheus' `__metrics_path__`, `__scheme__` and `__param_<name>` labels, which it drops after
 * relabelling, so the stored series carry exactly the labels below.
 */
export function fileSdGroups(targets: readonly ScrapeTarget[]): FileSdGroup[] {
  const groups = targets.map((t) => {
    const url = new URL(t.url);
    const params: Record<string, string> = {};
    for (const [name, value] of url.searchParams) params[`__param_${name}`] = value;
    return {
      targets: [url.host],
      labels: {
        ...t.labels,
        instance: url.host,
        job: INFERENCE_JOB,
        __scheme__: url.protocol.replace(/:$/, ''),
        __metrics_path__: url.pathname,
        ...params,
      },
    };
  });
  // A stable order, so an unchanged target list writes an identical file (and is not rewritten).
  return groups.sort((a, b) => (a.targets[0]! < b.targets[0]! ? -1 : a.targets[0]! > b.targets[0]! ? 1 : 0));
}

export interface PrometheusConfigOptions {
  readonly targetsFile: string;
  readonly scrapeIntervalMs: number;
}

/** prometheus.yml as JSON (a subset of YAML, so no quoting rules to get wrong). */
export function prometheusConfig(opts: PrometheusConfigOptions): string {
  const interval = `${Math.round(opts.scrapeIntervalMs)}ms`;
  return `${JSON.stringify({
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: '1m' },
    scrape_configs: [{
      job_name: INFERENCE_JOB,
      honor_labels: false,
      // Prometheus also watches the file (inotify); the refresh is the fallback where that is missed.
      file_sd_configs: [{ files: [opts.targetsFile], refresh_interval: interval }],
    }],
  }, null, 2)}\n`;
}
