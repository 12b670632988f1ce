/**
 * The sample function: on each PingSource tick, refresh the metrics (scrape the replicas or read
 * Prometheus), evaluate every configured autoscaler-config query per service, measure the load
 * (arrival rate, tokens, TTFT, ITL, queue, KV usage — the optimizer's input) and publish one
 * metrics-sampled per service. Several events per tick, so they go to the broker, not as a reply.
 */
import type { ModelCatalog } from '../../core/catalog/model-catalog';
import type { Clock, IdSource } from '../../core/common/ports';
import { queryFor, rulesFor, type AutoscalerConfig } from '../../core/config/autoscaler-config';
import type { SsisConfig } from '../../core/config/ssis-config';
import { servableTiers } from '../../core/scaling/cold-start';
import { placeableProfiles } from '../../core/scaling/placeability';
import { createEvent } from '../../events/create';
import type { SsisEvent } from '../../events/envelope';
import { METRICS_SAMPLED, type MeasuredLoad, type MetricsSampled, type SampledMetric } from '../../events/metrics-sampled';
import { PING_EVENT_TYPE } from '../../events/registry';
import type { ClusterPort, ServiceView } from '../../core/ports/cluster';
import { scalarOf, type MetricsSource } from '../../core/ports/metrics-source';
import { servingRevision } from '../reconfigure/index';
import type { FunctionContext, SsisFunction } from '../runtime/function';

export interface SampleDeps {
  readonly cluster: ClusterPort;
  readonly catalog: ModelCatalog;
  readonly autoscalerConfig: () => AutoscalerConfig;
  readonly config: SsisConfig;
  readonly metrics: MetricsSource;
  readonly clock: Clock;
  readonly ids: IdSource;
}

const SOURCE = '/ssis/functions/sample';

/** The built-in load queries (vLLM names, notes/perf.md §1.1; the WVA/Inferno collector's shapes). */
export function loadQueries(service: string, windowSec: number): Record<keyof MeasuredLoad, string> {
  const sel = `{service="${service}"}`;
  const w = `[${windowSec}s]`;
  const rate = (m: string): string => `sum(rate(${m}${sel}${w}))`;
  return {
    arrivalRatePerSec: rate('vllm:request_success_total'),
    avgInputTokens: `${rate('vllm:prompt_tokens_total')} / ${rate('vllm:request_success_total')}`,
    avgOutputTokens: `${rate('vllm:request_generation_tokens_sum')} / ${rate('vllm:request_generation_tokens_count')}`,
    requestsRunning: `sum(vllm:num_requests_running${sel})`,
    requestsWaiting: `sum(vllm:num_requests_waiting${sel})`,
    ttftMs: `1000 * ${rate('vllm:time_to_first_token_seconds_sum')} / ${rate('vllm:time_to_first_token_seconds_count')}`,
    itlMs: `1000 * ${rate('vllm:inter_token_latency_seconds_sum')} / ${rate('vllm:inter_token_latency_seconds_count')}`,
    kvCacheUsage: `avg(vllm:kv_cache_usage_perc${sel})`,
  };
}

function finite(v: number | null): number | null {
  return v === null || !Number.isFinite(v) ? null : v;
}

export function buildSampleFunction(deps: SampleDeps): SsisFunction {
  const { cluster, catalog, config, metrics, clock, ids } = deps;

  async function sampleService(s: ServiceView, atMs: number, ctx: FunctionContext): Promise<MetricsSampled> {
    const serving = servingRevision(s);
    const queryScalar = async (promql: string): Promise<number | null> => {
      try {
        return finite(scalarOf(await metrics.query(promql, atMs)));
      } catch (err) {
        ctx.logger.warn({ service: s.name, query: promql, error: String(err) }, 'query failed');
        return null;
      }
    };
    const rules = rulesFor(deps.autoscalerConfig(), s.name);
    const values: SampledMetric[] = [];
    for (const rule of rules) values.push({ name: rule.name, value: await queryScalar(queryFor(rule, s.name)) });
    const loadPromql = loadQueries(s.name, config.sampler.windowSec);
    const load: MeasuredLoad = {
      arrivalRatePerSec: (await queryScalar(loadPromql.arrivalRatePerSec)) ?? 0,
      avgInputTokens: (await queryScalar(loadPromql.avgInputTokens)) ?? 0,
      avgOutputTokens: (await queryScalar(loadPromql.avgOutputTokens)) ?? 0,
      requestsRunning: (await queryScalar(loadPromql.requestsRunning)) ?? 0,
      requestsWaiting: (await queryScalar(loadPromql.requestsWaiting)) ?? 0,
      ttftMs: await queryScalar(loadPromql.ttftMs),
      itlMs: await queryScalar(loadPromql.itlMs),
      kvCacheUsage: await queryScalar(loadPromql.kvCacheUsage),
    };
    const spec = catalog.get(s.modelId);
    const gpuModel = serving?.gpuModel ?? null;
    const replicas = serving?.replicas ?? [];
    return {
      service: s.name,
      modelId: s.modelId,
      generation: s.generation,
      revision: serving?.name ?? null,
      profile: serving?.profile ?? null,
      gpuModel,
      replicas: replicas.length,
      readyReplicas: replicas.filter((r) => r.phase === 'ready').length,
      rolloutInProgress: s.rollout !== null,
      windowSec: config.sampler.windowSec,
      sampledAt: new Date(atMs).toISOString(),
      metrics: values,
      load,
      placeableProfiles: spec && gpuModel ? placeableProfiles(cluster.gpus(), gpuModel, servableTiers(spec, gpuModel)) : [],
    };
  }

  async function onEvent(_event: SsisEvent, ctx: FunctionContext): Promise<SsisEvent | undefined> {
    const atMs = clock.nowMs();
    await metrics.refresh(atMs);
    // Services at zero replicas with nothing under way have nothing to sample.
    const active = cluster.listServices().filter((s) => s.rollout !== null || s.revisions.some((r) => r.replicas.length > 0));
    for (const s of active) {
      const data = await sampleService(s, atMs, ctx);
      await ctx.publisher.publish(createEvent(METRICS_SAMPLED, data, { source: SOURCE, clock, ids }));
    }
    return undefined;
  }

  return { name: 'sample', handles: [PING_EVENT_TYPE], onEvent };
}
