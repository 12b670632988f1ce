/**
 * The sample function's queries give the same answers through a REAL Prometheus (Debian's 2.42,
 * over its HTTP API) as through the REAL in-process engine fed by the direct scrape, on the same
 * REAL emulated replicas: the shipped autoscaler-config rules, the built-in load queries and the
 * SSIS reference's own per-pod query.
 *
 * How the two are made comparable. Both scrape every target once a second: Prometheus on its own
 * schedule (a fixed phase per target, timestamps aligned to the interval), the direct scrape on
 * whole seconds. Load runs in bursts, and every replica is idle for seconds before the first and
 * after the last, so every counter and gauge holds the same value in both stores at the edges of
 * the 20 s query window, whatever the instants of the scrapes in between. The queries are then
 * evaluated at one instant t, chosen off every scrape phase (so no sample sits on a window
 * boundary), with the local engine in its 'prometheus-2' mode (closed windows, as 2.42).
 *
 * Tolerances:
 * - gauges, counters, and ratios of rates whose series all come from one target: exact up to
 *   float rounding (1e-9 relative). A ratio of two rates of one target is the ratio of the
 *   counters' increases, because rate()'s extrapolation factor is the same for both (same
 *   scrapes; no series starts in the window, so the zero-point limit does not apply).
 * - a rate's magnitude, or a ratio summed over several targets: rate() extrapolates the increase
 *   between the first and last sample in the window by range / (last - first). With both grids
 *   regular that span is 19 s in both and the values agree exactly; Prometheus' timestamps
 *   jitter where a scrape starts more than 2 ms late (a loaded machine), so the spans differ. The
 *   tolerance is derived from the timestamps themselves, Prometheus' read back through its API:
 *   ε = max_i |direct span / span_i - 1|, relative tolerance 2ε + 1e-9 (a ratio of two sums whose
 *   terms are each off by at most a factor 1 ± ε).
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseAutoscalerConfig, queryFor, rulesFor } from '../../../core/config/autoscaler-config';
import type { MetricsSource, QueryResult, VectorElement } from '../../../core/ports/metrics-source';
import type { MetricsSampled } from '../../../events/metrics-sampled';
import { pingSourceEvent } from '../../../infra/broker/ping-source';
import type { SimulatedCluster } from '../../../infra/cluster/simulated';
import { createDirectScrapeSource } from '../../../infra/metrics/direct-scrape';
import { createLocalQueryEngine } from '../../../infra/metrics/query-engine';
import { createSeriesStore } from '../../../infra/metrics/series-store';
import type { LocalPrometheus } from '../../../infra/prometheus/local-prometheus';
import { buildSampleFunction, loadQueries } from '../../../functions/sample/index';
import { CONFIG, deploy, harness, MANIFESTS, MODELS, newCluster, ROOT } from '../../functions/helpers';
import { burst, PrometheusPool, replicaUrls, requirePrometheus, sleep } from './fixture';

const SCRAPE_MS = 1000;
const WINDOW_SEC = CONFIG.ssis.sampler.windowSec;
const EXACT = 1e-9;
const REFERENCE_CONFIG = join(ROOT, '..', 'shared', 'reference', 'ssis', 'K-SISS', 'Autoscaler', 'configuration.yaml');

/** The SSIS reference's autoscaler-config (per-pod `%s`, 1 m windows), parsed by our own parser. */
function referenceRules() {
  for (const doc of parseAllDocuments(readFileSync(REFERENCE_CONFIG, 'utf8'))) {
    const cm = doc.toJS() as { kind?: string; metadata?: { name?: string }; data?: Record<string, string> } | null;
    if (cm?.kind !== 'ConfigMap' || cm.metadata?.name !== 'autoscaler-config' || !cm.data) continue;
    const decoded = Object.fromEntries(Object.entries(cm.data).map(([k, v]) => [k, parseAllDocuments(v)[0]!.toJS() as unknown]));
    return rulesFor(parseAutoscalerConfig(decoded, REFERENCE_CONFIG), 'gpt2');
  }
  throw new Error(`no autoscaler-config ConfigMap in ${REFERENCE_CONFIG}`);
}

/** Scrapes with the direct source at every whole second (a regular grid, as Prometheus' own). */
function gridScraper(source: MetricsSource) {
  const stamps: number[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const next = Math.ceil((Date.now() + 1) / SCRAPE_MS) * SCRAPE_MS;
      await sleep(next - Date.now());
      await source.refresh(next);
      stamps.push(next);
    }
  })();
  return { stamps, stop: async () => { running = false; await done; } };
}

/** Prometheus' scrape timestamps (ms) per instance in the window (t - range, t], read back through its API. */
async function promScrapeTimes(prom: LocalPrometheus, atMs: number, rangeSec: number): Promise<Map<string, number[]>> {
  const url = `${prom.url}/api/v1/query?${new URLSearchParams({ query: `up{job="inference"}[${rangeSec}s]`, time: (atMs / 1000).toFixed(3) }).toString()}`;
  const body = (await (await fetch(url)).json()) as { data: { result: { metric: Record<string, string>; values: [number, string][] }[] } };
  return new Map(body.data.result.map((r) => [r.metric['instance']!, r.values.map(([ts]) => Math.round(ts * 1000))]));
}

/** An instant off every scrape phase (circular distance in ms within a second), at or after `notBefore`. */
function instantOffPhases(notBefore: number, phases: readonly number[]): number {
  let best = 0;
  let bestGap = -1;
  for (let phase = 0; phase < SCRAPE_MS; phase += 10) {
    const gap = Math.min(...phases.map((p) => Math.min(Math.abs(phase - p), SCRAPE_MS - Math.abs(phase - p))));
    if (gap > bestGap) [best, bestGap] = [phase, gap];
  }
  const base = Math.floor(notBefore / SCRAPE_MS) * SCRAPE_MS + best;
  return base >= notBefore ? base : base + SCRAPE_MS;
}

const key = (e: VectorElement): string => JSON.stringify(Object.entries(e.metric).sort(([a], [b]) => (a < b ? -1 : 1)));

function close(a: number, b: number, relTol: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true;
  return Math.abs(a - b) <= relTol * Math.max(Math.abs(a), Math.abs(b)) + 1e-12;
}

/** Same label sets, values within relTol. */
function expectSameResult(what: string, prom: QueryResult, local: QueryResult, relTol: number): void {
  expect(prom.resultType, what).to.equal(local.resultType);
  if (prom.resultType === 'scalar' || local.resultType === 'scalar') {
    expect(close((prom as { value: number }).value, (local as { value: number }).value, relTol), `${what}: ${JSON.stringify([prom, local])}`).to.equal(true);
    return;
  }
  const p = new Map(prom.result.map((e) => [key(e), e.value]));
  const l = new Map(local.result.map((e) => [key(e), e.value]));
  expect([...p.keys()].sort(), `${what}: label sets`).to.deep.equal([...l.keys()].sort());
  for (const [k, v] of l) expect(close(p.get(k)!, v, relTol), `${what} ${k}: Prometheus ${p.get(k)} vs local ${v} (tolerance ${relTol})`).to.equal(true);
}

describe('infra/prometheus: the same answers as the in-process engine', function () {
  this.timeout(90_000);
  const pool = new PrometheusPool();
  let cluster: SimulatedCluster | undefined;

  before(function () {
    requirePrometheus(this);
  });
  afterEach(async () => {
    await pool.stopAll();
    await cluster?.shutdown();
  });

  it('evaluates the autoscaler-config rules, the load queries and the reference query alike at one instant', async () => {
    cluster = newCluster(2);
    const c = cluster;
    await deploy(c, 'gpt2', MODELS.gpt2, '1g.5gb', 2);
    await deploy(c, 'llama321binstruct', MODELS.llama1b, '1g.5gb', 1);
    const targets = () => c.scrapeTargets();
    expect(targets()).to.have.length(3);

    const store = createSeriesStore();
    const direct = createDirectScrapeSource({ targets, store });
    const local = createLocalQueryEngine(store, { compatibility: 'prometheus-2' });
    const grid = gridScraper(direct);
    const prom = await pool.start({ targets, scrapeIntervalMs: SCRAPE_MS });
    try {
      await prom.waitForScrape(Date.now());

      // The same shape of load as warm-up and twice as load, so that every counter already holds
      // a good part of its final value when the window opens (no zero-point extrapolation).
      const [gpt2a, gpt2b] = replicaUrls(c, 'gpt2');
      const [llama] = replicaUrls(c, 'llama321binstruct');
      const round = (tag: string): Promise<unknown> => Promise.all([burst(gpt2a!, 6, 8, `${tag}-a`), burst(gpt2b!, 3, 12, `${tag}-b`), burst(llama!, 4, 6, `${tag}-l`)]);
      await round('warm-up');
      const warmedUp = Date.now();
      await sleep(4000);
      const loadStart = Date.now();
      await round('load-1');
      await sleep(1200);
      await round('load-2');
      const loadEnd = Date.now();

      const phases = [0, ...[...(await promScrapeTimes(prom, Date.now(), 5)).values()].map((ts) => ts.at(-1)! % SCRAPE_MS)];
      // The window (t - 20 s, t] opens 2-3 s before the load (after the warm-up) and closes well after it.
      const t = instantOffPhases(loadStart + (WINDOW_SEC - 3) * 1000, phases);
      expect(t - WINDOW_SEC * 1000, 'window opens after the warm-up').to.be.greaterThan(warmedUp + SCRAPE_MS);
      expect(t, 'the load ended 2 s before the instant').to.be.greaterThan(loadEnd + 2 * SCRAPE_MS);
      await sleep(t + 1500 - Date.now());
      await prom.waitForScrape(t);
      await grid.stop();

      // Prometheus' scrape spans in the window, and the tolerance they allow (see above).
      const spans = await promScrapeTimes(prom, t, WINDOW_SEC);
      expect([...spans.keys()].sort()).to.deep.equal(targets().map((x) => new URL(x.url).host).sort());
      const directStamps = grid.stamps.filter((s) => s > t - WINDOW_SEC * 1000 && s <= t);
      expect(directStamps.length, 'about one direct scrape a second in the window').to.be.within(WINDOW_SEC - 1, WINDOW_SEC);
      const directSpan = directStamps.at(-1)! - directStamps[0]!;
      const epsilon = Math.max(...[...spans.values()].map((ts) => {
        expect(ts.length, 'about one Prometheus scrape a second in the window').to.be.within(WINDOW_SEC - 1, WINDOW_SEC + 1);
        return Math.abs(directSpan / (ts.at(-1)! - ts[0]!) - 1);
      }));
      const timing = 2 * epsilon + EXACT;

      // [what, query, tolerance]: single-target ratios and gauges exact, rate magnitudes and multi-target ratios within `timing`.
      const cases: [string, string, number][] = [];
      const replicas = (s: string): number => targets().filter((x) => x.labels['service'] === s).length;
      for (const svc of ['gpt2', 'llama321binstruct']) {
        const ratio = replicas(svc) === 1 ? EXACT : timing;
        for (const rule of rulesFor(CONFIG.autoscaler, svc)) cases.push([`${svc} rule ${rule.name}`, queryFor(rule, svc), rule.query.includes('rate(') ? ratio : EXACT]);
        const lq = loadQueries(svc, WINDOW_SEC);
        cases.push(
          [`${svc} arrivalRatePerSec`, lq.arrivalRatePerSec, timing],
          [`${svc} avgInputTokens`, lq.avgInputTokens, ratio],
          [`${svc} avgOutputTokens`, lq.avgOutputTokens, ratio],
          [`${svc} ttftMs`, lq.ttftMs, ratio],
          [`${svc} itlMs`, lq.itlMs, ratio],
          [`${svc} requestsRunning`, lq.requestsRunning, EXACT],
          [`${svc} requestsWaiting`, lq.requestsWaiting, EXACT],
          [`${svc} kvCacheUsage`, lq.kvCacheUsage, EXACT],
        );
      }
      // The reference's rule substitutes the pod: one target per query, exact.
      for (const pod of targets().map((x) => x.labels['pod']!)) for (const rule of referenceRules()) cases.push([`reference ${rule.name} ${pod}`, rule.query.split('%s').join(pod), EXACT]);
      // Whole series, every label: the same target labels in both.
      cases.push(['every vllm:num_requests_waiting series', 'vllm:num_requests_waiting', EXACT]);
      cases.push(['every vllm:request_success_total series', 'vllm:request_success_total', EXACT]);
      cases.push(['every TTFT histogram count', 'vllm:time_to_first_token_seconds_count', EXACT]);

      let nonTrivial = 0;
      for (const [what, promql, tol] of cases) {
        const [p, l] = await Promise.all([prom.source.query(promql, t), local.query(promql, t)]);
        expectSameResult(what, p, l, tol);
        if (l.resultType === 'vector' && l.result.some((e) => Number.isFinite(e.value) && e.value > 0)) nonTrivial++;
      }
      expect(nonTrivial, 'most queries see traffic, not zeros').to.be.greaterThan(cases.length / 2);

      // And the sample function itself, once on each source, publishes the same samples.
      const sampled = async (metrics: MetricsSource): Promise<MetricsSampled[]> => {
        const h = harness('sample');
        h.clock.set(t);
        const fn = buildSampleFunction({ cluster: c, catalog: CONFIG.catalog, autoscalerConfig: () => CONFIG.autoscaler, config: CONFIG.ssis, metrics, clock: h.clock, ids: h.ids });
        await fn.onEvent(pingSourceEvent(MANIFESTS.pingSources[0]!, t, 'tick'), h.ctx);
        expect(h.logger.lines.filter((x) => x.level === 'warn'), 'no query failed').to.deep.equal([]);
        return h.publisher.events.map((e) => e.data as MetricsSampled);
      };
      const viaProm = await sampled(prom.source);
      const viaLocal = await sampled({ query: (q, at) => local.query(q, at), refresh: () => Promise.resolve() });
      expect(viaProm.map((s) => s.service)).to.deep.equal(['gpt2', 'llama321binstruct']);
      viaProm.forEach((p, i) => {
        const l = viaLocal[i]!;
        const ratio = replicas(p.service) === 1 ? EXACT : timing;
        expect({ ...p, metrics: [], load: {} }).to.deep.equal({ ...l, metrics: [], load: {} });
        expect(p.metrics.map((m) => m.name)).to.deep.equal(l.metrics.map((m) => m.name));
        p.metrics.forEach((m, j) => expect(close(m.value ?? NaN, l.metrics[j]!.value ?? NaN, m.name === 'waiting_requests' ? EXACT : ratio), `${p.service} ${m.name}: ${m.value} vs ${l.metrics[j]!.value}`).to.equal(true));
        const timingFields = new Set(['arrivalRatePerSec']);
        const gauges = new Set(['requestsRunning', 'requestsWaiting', 'kvCacheUsage']);
        for (const [field, value] of Object.entries(p.load) as [keyof typeof p.load, number | null][]) {
          const tol = timingFields.has(field) ? timing : gauges.has(field) ? EXACT : ratio;
          expect(close(value ?? NaN, l.load[field] ?? NaN, tol), `${p.service} load.${field}: ${value} vs ${l.load[field]}`).to.equal(true);
        }
      });
      expect(viaProm[0]!.load.arrivalRatePerSec, 'gpt2 had traffic in the window').to.be.greaterThan(0);
    } finally {
      await grid.stop();
    }
  });
});
