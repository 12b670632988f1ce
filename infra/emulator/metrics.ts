/**
 * vLLM V1 metric names and bucket layouts (notes/perf.md §1.1) plus TGI's per-request mean time
 * per token (§1.2), which the SSIS reference autoscaler queries. One registry per server.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
const ITL_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
const REQUEST_LATENCY_BUCKETS = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];
/** TGI: 35 geometric buckets from 0.00015 s, factor 1.5 (router server.rs). */
const TGI_DURATION_BUCKETS = Array.from({ length: 35 }, (_, i) => 0.00015 * 1.5 ** i);

function tokenBuckets(maxModelLen: number): number[] {
  const out: number[] = [];
  for (let scale = 1; scale <= maxModelLen; scale *= 10) for (const m of [1, 2, 5]) if (m * scale <= maxModelLen) out.push(m * scale);
  return out;
}

export interface EngineGauges {
  running(): number;
  waiting(): number;
  kvCacheUsage(): number;
}

export function createServerMetrics(modelName: string, maxModelLen: number, gauges: EngineGauges) {
  const registry = new Registry();
  registry.setDefaultLabels({ model_name: modelName, engine: '0' });
  const r = [registry];
  new Gauge({ name: 'vllm:num_requests_running', help: 'Number of requests in model execution batches.', registers: r, collect() { this.set(gauges.running()); } });
  new Gauge({ name: 'vllm:num_requests_waiting', help: 'Number of requests waiting to be processed.', registers: r, collect() { this.set(gauges.waiting()); } });
  new Gauge({ name: 'vllm:kv_cache_usage_perc', help: 'KV-cache usage. 1 means 100 percent usage.', registers: r, collect() { this.set(gauges.kvCacheUsage()); } });
  return {
    registry,
    promptTokens: new Counter({ name: 'vllm:prompt_tokens_total', help: 'Number of prefill tokens processed.', registers: r }),
    generationTokens: new Counter({ name: 'vllm:generation_tokens_total', help: 'Number of generation tokens processed.', registers: r }),
    requestSuccess: new Counter({ name: 'vllm:request_success_total', help: 'Count of successfully processed requests.', labelNames: ['finished_reason'], registers: r }),
    ttft: new Histogram({ name: 'vllm:time_to_first_token_seconds', help: 'Histogram of time to first token in seconds.', buckets: TTFT_BUCKETS, registers: r }),
    itl: new Histogram({ name: 'vllm:inter_token_latency_seconds', help: 'Histogram of inter-token latency in seconds.', buckets: ITL_BUCKETS, registers: r }),
    tpot: new Histogram({ name: 'vllm:request_time_per_output_token_seconds', help: 'Histogram of time_per_output_token_seconds per request.', buckets: ITL_BUCKETS, registers: r }),
    e2e: new Histogram({ name: 'vllm:e2e_request_latency_seconds', help: 'Histogram of e2e request latency in seconds.', buckets: REQUEST_LATENCY_BUCKETS, registers: r }),
    queueTime: new Histogram({ name: 'vllm:request_queue_time_seconds', help: 'Histogram of time spent in WAITING phase for request.', buckets: REQUEST_LATENCY_BUCKETS, registers: r }),
    promptLen: new Histogram({ name: 'vllm:request_prompt_tokens', help: 'Number of prefill tokens processed.', buckets: tokenBuckets(maxModelLen), registers: r }),
    generationLen: new Histogram({ name: 'vllm:request_generation_tokens', help: 'Number of generation tokens processed.', buckets: tokenBuckets(maxModelLen), registers: r }),
    tgiMeanTimePerToken: new Histogram({ name: 'tgi_request_mean_time_per_token_duration', help: 'Mean time per token per request (TGI).', buckets: TGI_DURATION_BUCKETS, registers: r }),
  };
}

export type ServerMetrics = ReturnType<typeof createServerMetrics>;
