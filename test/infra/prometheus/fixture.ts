/**
 * Shared set-up of the Prometheus suite: a REAL Prometheus (Debian's /usr/bin/prometheus)
 * started by the project's own code (infra/prometheus/local-prometheus.ts) on a free loopback
 * port in a fresh folder, stopped after each test; REAL emulated replicas in a REAL simulated
 * cluster; and a REAL direct-scrape source on the same targets for comparison.
 */
import { findPrometheus, startLocalPrometheus, type LocalPrometheus, type LocalPrometheusOptions } from '../../../infra/prometheus/local-prometheus';
import type { ClusterPort } from '../../../core/ports/cluster';
import { generate } from '../../functions/helpers';

/** Skips the suite, saying why, when no Prometheus is installed (the only reason to skip). */
export function requirePrometheus(ctx: Mocha.Context): void {
  if (findPrometheus() !== undefined) return;
  console.warn('    skipped: no Prometheus binary (/usr/bin/prometheus); install it with `apt-get install -y prometheus` (.ci/run does)');
  ctx.skip();
}

/** Local Prometheus instances of the current test, stopped by `stopAll`. */
export class PrometheusPool {
  private readonly started: LocalPrometheus[] = [];
  async start(opts: LocalPrometheusOptions): Promise<LocalPrometheus> {
    const p = await startLocalPrometheus(opts);
    this.started.push(p);
    return p;
  }
  async stopAll(): Promise<void> {
    await Promise.all(this.started.splice(0).map((p) => p.stop()));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** The ready replicas' URLs of one service (the TGI endpoint, not /metrics). */
export function replicaUrls(cluster: ClusterPort, service: string): string[] {
  return cluster.scrapeTargets().filter((t) => t.labels['service'] === service).map((t) => t.url.replace(/\/metrics$/, ''));
}

/** Sends `n` concurrent TGI calls to one replica and waits for all answers: the replica is idle again when it resolves. */
export async function burst(url: string, n: number, maxNewTokens: number, tag: string): Promise<void> {
  const answers = await Promise.all(Array.from({ length: n }, (_, i) => generate(url, `${tag}: explain topic ${i} of the lecture in some depth, please`, maxNewTokens + (i % 3))));
  const failed = answers.filter((a) => a.status !== 200);
  if (failed.length > 0) throw new Error(`burst ${tag} on ${url}: ${failed.length} of ${n} calls failed: ${JSON.stringify(failed[0]?.body)}`);
}
