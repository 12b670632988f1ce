/**
 * The sample function: on each PingSource tick, refresh the metrics (scrape the replicas or read
 * Prometheus), evaluate every configured autoscaler-config query per service, measure the load
 * (arrival rate, tokens, TTFT, ITL, queue, KV usage — the optimizer's input) and publish one
 * metrics-sampled per service. Several events per tick, so they go to the broker, not as a reply.
 *
 * It sees every service on every tick, so it also fails the rollouts that make no progress for
 * scaler.rolloutTimeoutSec (core/scaling/rollout-watch): it ends the rollout, frees the slices set
 * aside for replicas that never started, marks a service without replicas Unschedulable (held
 * requests stop waiting) and publishes placement-failed with the reason (the request function's
 * pending cold start and the evaluator's decision in flight end). Without it, a decision whose
 * slice-reconfigured never reached the rollout function would keep its service from scaling for good.
 */
import type { ModelCatalog } from '../../core/catalog/model-catalog';
import type { Clock, IdSource } from '../../core/common/ports';
import { queryFor, rulesFor, type AutoscalerConfig } from '../../core/config/autoscaler-config';
import type { SsisConfig } from '../../core/config/ssis-config';
import { servableTiers } from '../../core/scaling/cold-start';
import { placeableProfiles } from '../../core/scaling/placeability';
import { createRolloutWatch, freedLayouts, stuckAllocation, type StuckRollout } from '../../core/scaling/rollout-watch';
import { holdsReplicas, servingRevision } from '../../core/scaling/serving-revision';
import { createEvent } from '../../events/create';
import type { SsisEvent } from '../../events/envelope';
import { METRICS_SAMPLED, type MeasuredLoad, type MetricsSampled, type SampledMetric } from '../../events/metrics-sampled';
import { PLACEMENT_FAILED, type PlacementFailed } from '../../events/placement-failed';
import { PING_EVENT_TYPE } from '../../events/registry';
import type { ClusterPort, ServiceView } from '../../core/ports/cluster';
import { scalarOf, type MetricsSource } from '../../core/ports/metrics-source';
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
  const rollouts = createRolloutWatch(config.scaler.rolloutTimeoutSec * 1000);

  /** Fails a rollout without progress and releases what it held (see the header). */
  async function releaseStuck({ service: s, decisionId }: StuckRollout, atMs: number, ctx: FunctionContext): Promise<void> {
    const reason = `rollout of ${decisionId} made no progress within ${config.scaler.rolloutTimeoutSec}s`;
    const allocation = stuckAllocation(s, decisionId, cluster.gpus());
    // The rollout ends first: a slice-reconfigured arriving late then finds it superseded and starts nothing on the freed slices.
    await cluster.endRollout(s.name, decisionId);
    if (allocation !== null && allocation.unstarted.length > 0) {
      await cluster.applyGpuLayouts(freedLayouts(cluster.gpus(), allocation.unstarted)).catch((err: unknown) => {
        // Still reported below; the slices stay reserved until a later plan reuses the GPU.
        ctx.logger.warn({ service: s.name, decisionId, error: err instanceof Error ? err.message : String(err) }, 'freeing the slices of a stuck rollout failed');
      });
    }
    if (!holdsReplicas(s)) await cluster.setCondition(s.name, { ready: false, reason: 'Unschedulable', message: reason });
    ctx.logger.warn({ service: s.name, decisionId, reason, freed: allocation?.unstarted.map((i) => i.instanceId) ?? [] }, 'rollout failed');
    if (allocation === null) return; // nothing was placed for it: there is no allocation to report
    const failed: PlacementFailed = {
      decisionId,
      service: s.name,
      modelId: s.modelId,
      fromGeneration: Math.max(0, s.generation - 1),
      requested: { profile: allocation.profile, gpuModel: allocation.gpuModel, replicas: Math.max(1, allocation.unstarted.length) },
      reason,
      failedAt: new Date(atMs).toISOString(),
    };
    await ctx.publisher.publish(createEvent(PLACEMENT_FAILED, failed, { source: SOURCE, clock, ids }));
  }

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
    for (const stuck of rollouts.observe(cluster.listServices(), atMs)) {
      try {
        await releaseStuck(stuck, atMs, ctx);
      } catch (err) {
        // Sampling goes on; a rollout still marked is watched anew and failed again after another timeout.
        ctx.logger.warn({ service: stuck.service.name, decisionId: stuck.decisionId, error: err instanceof Error ? err.message : String(err) }, 'failing a stuck rollout failed');
      }
    }
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
