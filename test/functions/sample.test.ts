/**
 * The sample function, called directly with a PingSource tick: one metrics-sampled per active
 * service, published (not replied), with the REAL autoscaler-config queries and the built-in load
 * queries. First against a FAKE metrics source with canned PromQL answers, then against the REAL
 * direct-scrape source reading the emulated replicas of the simulated cluster.
 */
import { expect } from 'chai';
import { sequentialIds } from '../../core/common/ports';
import { queryFor, rulesFor } from '../../core/config/autoscaler-config';
import type { SsisEvent } from '../../events/envelope';
import { METRICS_SAMPLED, type MetricsSampled } from '../../events/metrics-sampled';
import { PLACEMENT_FAILED, type PlacementFailed } from '../../events/placement-failed';
import { PING_EVENT_TYPE } from '../../events/registry';
import { ROLLOUT_COMPLETED } from '../../events/rollout-completed';
import { SCALE_DECIDED, type ScaleDecided } from '../../events/scale-decided';
import { SLICE_RECONFIGURED } from '../../events/slice-reconfigured';
import { pingSourceEvent } from '../../infra/broker/ping-source';
import type { SimulatedCluster } from '../../infra/cluster/simulated';
import type { MetricsSource, QueryResult } from '../../core/ports/metrics-source';
import { createDirectScrapeSource } from '../../infra/metrics/direct-scrape';
import { buildReconfigureFunction } from '../../functions/reconfigure/index';
import { buildRolloutFunction } from '../../functions/rollout/index';
import { buildSampleFunction, loadQueries } from '../../functions/sample/index';
import { A100, CONFIG, deploy, eventOf, generate, harness, iso, MANIFESTS, MODELS, newCluster, owners, service, T0, type Harness } from './helpers';

/** FAKE MetricsSource (stands in for the scraper / Prometheus): canned answers by exact query text; records every call. */
class CannedMetrics implements MetricsSource {
  readonly refreshed: number[] = [];
  readonly asked: { readonly promql: string; readonly atMs: number }[] = [];
  constructor(private readonly answers: ReadonlyMap<string, QueryResult | Error> = new Map()) {}
  refresh(atMs: number): Promise<void> {
    this.refreshed.push(atMs);
    return Promise.resolve();
  }
  query(promql: string, atMs: number): Promise<QueryResult> {
    this.asked.push({ promql, atMs });
    const answer = this.answers.get(promql);
    if (answer instanceof Error) return Promise.reject(answer);
    return Promise.resolve(answer ?? { resultType: 'vector', result: [] });
  }
}

const vector = (value: number): QueryResult => ({ resultType: 'vector', result: [{ metric: {}, value }] });
const scalar = (value: number): QueryResult => ({ resultType: 'scalar', value });
const WINDOW = CONFIG.ssis.sampler.windowSec;

describe('functions/sample', () => {
  let h: Harness;
  let cluster: SimulatedCluster;

  beforeEach(() => {
    h = harness('sample');
  });
  afterEach(async () => {
    await cluster.shutdown();
  });

  /** The real PingSource's tick (knative/ PingSource ssis-sample-tick), at the clock's time. */
  const tick = (): SsisEvent => {
    const ping = MANIFESTS.pingSources[0];
    expect(ping, 'a PingSource in knative/').to.not.equal(undefined);
    return pingSourceEvent(ping!, h.clock.nowMs(), h.inputIds.next());
  };

  const build = (metrics: MetricsSource) =>
    buildSampleFunction({ cluster, catalog: CONFIG.catalog, autoscalerConfig: () => CONFIG.autoscaler, config: CONFIG.ssis, metrics, clock: h.clock, ids: h.ids });

  const sampled = (): MetricsSampled[] => {
    for (const e of h.publisher.events) expect(e.type).to.equal(METRICS_SAMPLED);
    return h.publisher.events.map((e) => e.data as MetricsSampled);
  };

  describe('with a FAKE metrics source (canned PromQL results)', () => {
    it('publishes one metrics-sampled per service with replicas, with the configured metrics and the measured load', async () => {
      cluster = newCluster(2);
      await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 2);
      await deploy(cluster, 'llama321binstruct', MODELS.llama1b, '1g.5gb', 1);
      await cluster.ensureService('mistral7bv01', MODELS.mistral); // no replica, nothing under way: not sampled

      const [tpot, waiting] = rulesFor(CONFIG.autoscaler, 'gpt2');
      const lq = loadQueries('gpt2', WINDOW);
      const metrics = new CannedMetrics(new Map<string, QueryResult | Error>([
        [queryFor(tpot!, 'gpt2'), vector(0.021)],
        [queryFor(waiting!, 'gpt2'), scalar(3)],
        [lq.arrivalRatePerSec, vector(4.5)],
        [lq.avgInputTokens, vector(12)],
        [lq.avgOutputTokens, vector(Number.NaN)], // 0/0: no request finished in the window
        [lq.requestsRunning, vector(2)],
        [lq.requestsWaiting, vector(3)],
        [lq.ttftMs, vector(Number.POSITIVE_INFINITY)],
        [lq.itlMs, new Error('query engine down')],
        [lq.kvCacheUsage, vector(0.25)],
      ]));
      h.clock.advance(10_000);
      const reply = await build(metrics).onEvent(tick(), h.ctx);

      expect(reply, 'several events per tick: published, no reply').to.equal(undefined);
      expect(metrics.refreshed).to.deep.equal([T0 + 10_000]);
      expect(h.publisher.events.map((e) => [e.id, e.subject, e.partitionkey, e.source])).to.deep.equal([
        ['sample-1', 'gpt2', 'gpt2', '/ssis/functions/sample'],
        ['sample-2', 'llama321binstruct', 'llama321binstruct', '/ssis/functions/sample'],
      ]);
      const [gpt2, llama] = sampled();
      expect(gpt2).to.deep.equal({
        service: 'gpt2',
        modelId: MODELS.gpt2,
        generation: 1,
        revision: 'gpt2-00001',
        profile: '1g.5gb',
        gpuModel: A100,
        replicas: 2,
        readyReplicas: 2,
        rolloutInProgress: false,
        windowSec: WINDOW,
        sampledAt: iso(T0 + 10_000),
        metrics: [{ name: 'time_per_output_token_seconds', value: 0.021 }, { name: 'waiting_requests', value: 3 }],
        // NaN and ±Inf are "no data"; a failed query too (logged).
        load: { arrivalRatePerSec: 4.5, avgInputTokens: 12, avgOutputTokens: 0, requestsRunning: 2, requestsWaiting: 3, ttftMs: null, itlMs: null, kvCacheUsage: 0.25 },
        // gpu1 is empty: every tier up to the whole GPU can take one more replica.
        placeableProfiles: ['1g.5gb', '2g.10gb', '3g.20gb', '4g.20gb', '7g.40gb', 'gpu'],
      });
      // llama321binstruct has no key of its own: the `default` rules, with its name in the queries.
      expect(llama!.metrics).to.deep.equal([
        { name: 'time_per_output_token_seconds', value: null },
        { name: 'time_to_first_token_seconds', value: null },
        { name: 'waiting_requests', value: null },
      ]);
      expect(llama!.load).to.deep.equal({ arrivalRatePerSec: 0, avgInputTokens: 0, avgOutputTokens: 0, requestsRunning: 0, requestsWaiting: 0, ttftMs: null, itlMs: null, kvCacheUsage: null });

      const asked = metrics.asked.map((a) => a.promql);
      for (const rule of rulesFor(CONFIG.autoscaler, 'llama321binstruct')) expect(asked).to.include(queryFor(rule, 'llama321binstruct'));
      expect(asked.filter((q) => q.includes('%s')), 'every %s substituted').to.deep.equal([]);
      expect(asked.filter((q) => q.includes('mistral7bv01')), 'idle service not queried').to.deep.equal([]);
      expect(new Set(metrics.asked.map((a) => a.atMs))).to.deep.equal(new Set([T0 + 10_000]));
      expect(h.logger.lines.filter((l) => l.level === 'warn').map((l) => [l.msg, l.fields['query']])).to.deep.equal([['query failed', lq.itlMs]]);
    });

    it('samples a service whose first rollout is under way (no replica yet) and skips services at zero', async () => {
      cluster = newCluster(1);
      await cluster.ensureService('gpt2', MODELS.gpt2);
      await cluster.ensureService('granite13binstructv2', MODELS.granite);
      await cluster.beginDecision('granite13binstructv2', 'granite13binstructv2-g0-cold-start', 0);
      const metrics = new CannedMetrics();
      await build(metrics).onEvent(tick(), h.ctx);
      const [granite, ...rest] = sampled();
      expect(rest).to.deep.equal([]);
      expect(granite).to.deep.include({
        service: 'granite13binstructv2', generation: 1, revision: null, profile: null, gpuModel: null, replicas: 0, readyReplicas: 0, rolloutInProgress: true, placeableProfiles: [],
      });
    });

    it('with no active service it still refreshes and publishes nothing', async () => {
      cluster = newCluster(1);
      await cluster.ensureService('gpt2', MODELS.gpt2);
      const metrics = new CannedMetrics();
      expect(await build(metrics).onEvent(tick(), h.ctx)).to.equal(undefined);
      expect(metrics.refreshed).to.deep.equal([T0]);
      expect(metrics.asked).to.deep.equal([]);
      expect(h.publisher.events).to.deep.equal([]);
    });

    it('handles the PingSource type only', () => {
      cluster = newCluster(1);
      expect(build(new CannedMetrics()).handles).to.deep.equal([PING_EVENT_TYPE]);
    });
  });

  describe('with the REAL direct-scrape source on emulated replicas', () => {
    it('measures gpt2’s configured metrics and load from the replica’s /metrics over two scrapes', async () => {
      cluster = newCluster(1);
      await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 1);
      const url = service(cluster, 'gpt2').revisions[0]!.replicas[0]!.url!;
      const fn = build(createDirectScrapeSource({ targets: () => cluster.scrapeTargets() }));
      const burst = async (n: number): Promise<void> => {
        const answers = await Promise.all(Array.from({ length: n }, (_, i) => generate(url, `Explain topic number ${i} in depth`, 8)));
        expect(answers.map((a) => a.status)).to.deep.equal(Array.from({ length: n }, () => 200));
      };

      await burst(3);
      await fn.onEvent(tick(), h.ctx); // first scrape: gauges only, rates need two samples
      await burst(4);
      h.clock.advance(5_000);
      await fn.onEvent(tick(), h.ctx);

      const [first, second, ...rest] = sampled();
      expect(rest).to.deep.equal([]);
      expect(first!.metrics).to.deep.equal([{ name: 'time_per_output_token_seconds', value: null }, { name: 'waiting_requests', value: 0 }]);
      expect(first!.load).to.deep.include({ arrivalRatePerSec: 0, ttftMs: null, itlMs: null, requestsWaiting: 0, requestsRunning: 0 });

      expect(second).to.deep.include({ service: 'gpt2', revision: 'gpt2-00001', profile: '1g.5gb', gpuModel: A100, replicas: 1, readyReplicas: 1, sampledAt: iso(T0 + 5_000) });
      const [tpot, waiting] = second!.metrics;
      expect(tpot!.name).to.equal('time_per_output_token_seconds');
      expect(tpot!.value, 'seconds per output token on a 1g.5gb slice').to.be.a('number').within(0.0005, 1);
      expect(waiting).to.deep.equal({ name: 'waiting_requests', value: 0 });
      const load = second!.load;
      expect(load.arrivalRatePerSec).to.be.greaterThan(0);
      expect(load.avgOutputTokens, 'every request generated 8 tokens').to.be.closeTo(8, 1e-9);
      expect(load.avgInputTokens).to.be.greaterThan(0);
      expect(load.ttftMs).to.be.a('number').greaterThan(0);
      expect(load.itlMs).to.be.a('number').greaterThan(0);
      expect(load.kvCacheUsage).to.be.a('number').within(0, 1);
      expect(load).to.deep.include({ requestsRunning: 0, requestsWaiting: 0 });
      expect(h.logger.lines.filter((l) => l.level === 'warn')).to.deep.equal([]);
    });
  });

  describe('rollouts that make no progress (scaler.rolloutTimeoutSec)', () => {
    const TIMEOUT_SEC = CONFIG.ssis.scaler.rolloutTimeoutSec;
    const at = (sec: number): void => h.clock.set(T0 + sec * 1000);
    const failures = (): PlacementFailed[] => h.publisher.events.filter((e) => e.type === PLACEMENT_FAILED).map((e) => e.data as PlacementFailed);

    function decision(data: Pick<ScaleDecided, 'decisionId' | 'service' | 'modelId' | 'action' | 'fromGeneration' | 'current' | 'target'>) {
      return eventOf(SCALE_DECIDED, { ...data, policy: data.action === 'cold-start' ? 'cold-start' : 'ssis-ladder', reason: 'test', decidedAt: iso(h.clock.nowMs()) }, '/ssis/functions/evaluate', h);
    }

    it('is longer than the slowest model load of the catalog, at the shipped load time scale', () => {
      const slowestSec = Math.max(...[...CONFIG.catalog.values()].map((m) => m.loadSeconds)) * CONFIG.ssis.cluster.loadTimeScale;
      expect(TIMEOUT_SEC).to.equal(600);
      expect(TIMEOUT_SEC).to.be.above(10 * slowestSec);
    });

    it('a scale-decided posted straight to reconfigure (its reply never reached the broker) is failed after the timeout, released, and scaling goes on', async () => {
      cluster = newCluster(1);
      await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 1);
      const reconfigure = buildReconfigureFunction({ cluster, catalog: CONFIG.catalog, config: CONFIG.ssis, clock: h.clock, ids: sequentialIds('posted') });
      const up = { decisionId: 'gpt2-g1-up-2g.10gbx1', service: 'gpt2', modelId: MODELS.gpt2, action: 'up' as const, fromGeneration: 1, current: { profile: '1g.5gb', gpuModel: A100, replicas: 1 }, target: { profile: '2g.10gb', gpuModel: A100, replicas: 1 } };
      const reply = await reconfigure.onEvent(decision(up), h.ctx);
      expect(reply?.type, 'the reply went back to the poster').to.equal(SLICE_RECONFIGURED);
      expect(service(cluster, 'gpt2').rollout).to.equal(up.decisionId);
      expect(owners(cluster)).to.deep.include({ 'node-a/gpu0/2g.10gb@4': 'gpt2-00002-1' });

      const fn = build(new CannedMetrics());
      for (const sec of [0, 60, TIMEOUT_SEC - 1]) {
        at(sec);
        await fn.onEvent(tick(), h.ctx);
        expect(service(cluster, 'gpt2').rollout, `at ${sec}s`).to.equal(up.decisionId);
      }
      expect(failures()).to.deep.equal([]);
      at(TIMEOUT_SEC);
      await fn.onEvent(tick(), h.ctx);

      expect(service(cluster, 'gpt2')).to.deep.include({ rollout: null, generation: 2 });
      expect(owners(cluster), 'the slice set aside for the replica that never started is free again').to.deep.equal({ 'node-a/gpu0/1g.5gb@6': 'gpt2-00001-1', 'node-a/gpu0/2g.10gb@4': null });
      expect(service(cluster, 'gpt2').condition, 'it still serves').to.include({ ready: true });
      expect(failures()).to.deep.equal([{
        decisionId: up.decisionId, service: 'gpt2', modelId: MODELS.gpt2, fromGeneration: 1,
        requested: { profile: '2g.10gb', gpuModel: A100, replicas: 1 },
        reason: `rollout of ${up.decisionId} made no progress within ${TIMEOUT_SEC}s`, failedAt: iso(T0 + TIMEOUT_SEC * 1000),
      }]);
      const last = h.publisher.events.at(-1)!;
      expect(last.type, 'the service sampled after the release').to.equal(METRICS_SAMPLED);
      expect((last.data as MetricsSampled).rolloutInProgress).to.equal(false);

      // Not stuck any more: the next decision (from generation 2) is placed and rolled out.
      const again = await reconfigure.onEvent(decision({ ...up, decisionId: 'gpt2-g2-up-2g.10gbx1', fromGeneration: 2 }), h.ctx);
      expect(again?.type).to.equal(SLICE_RECONFIGURED);
      const done = await buildRolloutFunction({ cluster, config: CONFIG.ssis, clock: h.clock, ids: sequentialIds('rollout') }).onEvent(again!, h.ctx);
      expect(done?.type).to.equal(ROLLOUT_COMPLETED);
      expect(service(cluster, 'gpt2')).to.deep.include({ rollout: null, traffic: [{ revision: 'gpt2-00003', percent: 100 }] });
    });

    it('a stuck cold start marks the service Unschedulable, so requests held for it stop waiting', async () => {
      cluster = newCluster(1);
      await cluster.ensureService('gpt2', MODELS.gpt2);
      const reconfigure = buildReconfigureFunction({ cluster, catalog: CONFIG.catalog, config: CONFIG.ssis, clock: h.clock, ids: sequentialIds('posted') });
      await reconfigure.onEvent(decision({
        decisionId: 'gpt2-g0-cold-start', service: 'gpt2', modelId: MODELS.gpt2, action: 'cold-start', fromGeneration: 0,
        current: { profile: null, gpuModel: null, replicas: 0 }, target: { profile: '1g.5gb', gpuModel: A100, replicas: 1 },
      }), h.ctx);
      const held = cluster.waitForReady('gpt2', 10_000);
      const fn = build(new CannedMetrics());
      await fn.onEvent(tick(), h.ctx);
      at(TIMEOUT_SEC);
      await fn.onEvent(tick(), h.ctx);
      expect(await held).to.equal('failed');
      const reason = 'rollout of gpt2-g0-cold-start made no progress within 600s';
      expect(service(cluster, 'gpt2')).to.deep.include({ rollout: null, condition: { ready: false, reason: 'Unschedulable', message: reason } });
      expect(failures().map((f) => [f.decisionId, f.requested, f.reason])).to.deep.equal([['gpt2-g0-cold-start', { profile: '1g.5gb', gpuModel: A100, replicas: 1 }, reason]]);
      expect(owners(cluster)).to.deep.equal({ 'node-a/gpu0/1g.5gb@6': null });
    });

    it('never fails a rollout that shows progress, however long it takes in all', async () => {
      cluster = newCluster(1);
      await deploy(cluster, 'gpt2', MODELS.gpt2, '1g.5gb', 1);
      await cluster.beginDecision('gpt2', 'gpt2-g1-out-1g.5gbx3', 1);
      const fn = build(new CannedMetrics());
      await fn.onEvent(tick(), h.ctx);
      // A slow rollout: each replica's load takes most of the timeout, then it shows (starting, then ready).
      for (const [k, sec] of [TIMEOUT_SEC - 1, 2 * TIMEOUT_SEC - 2].entries()) {
        await cluster.startReplica('gpt2', 'gpt2-00001', { id: `gpt2-00001-${k + 2}`, sliceId: `node-a/gpu0/1g.5gb@${5 - k}`, node: 'node-a', gpu: 0 });
        at(sec);
        await fn.onEvent(tick(), h.ctx);
      }
      at(3 * TIMEOUT_SEC - 3);
      await fn.onEvent(tick(), h.ctx);
      expect(service(cluster, 'gpt2').rollout, 'progress less than the timeout ago').to.equal('gpt2-g1-out-1g.5gbx3');
      expect(failures()).to.deep.equal([]);
      at(3 * TIMEOUT_SEC - 2);
      await fn.onEvent(tick(), h.ctx);
      expect(service(cluster, 'gpt2').rollout, 'then none for the timeout').to.equal(null);
      expect(failures().map((f) => f.decisionId)).to.deep.equal(['gpt2-g1-out-1g.5gbx3']);
    });
  });
});
