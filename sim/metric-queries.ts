/**
 * The simulator has no Prometheus: an autoscaler-config query is recognised by the vLLM series it
 * reads (notes/perf.md §1.1) and answered from the simulated window counters with the query's
 * meaning (a rate ratio is the window mean; a gauge is summed or averaged over the replicas).
 * A query the simulator cannot answer is refused naming its field, not silently read as "no data".
 */
import { validationError, type FieldIssue } from '../core/errors';
import type { AutoscalerConfig } from '../core/config/autoscaler-config';

export type SimMetricKind = 'tpot-sec' | 'itl-sec' | 'ttft-sec' | 'e2e-sec' | 'queue-sec' | 'waiting' | 'running' | 'kv-usage';

const PATTERNS: readonly [RegExp, SimMetricKind][] = [
  [/vllm:(request_)?time_per_output_token_seconds/, 'tpot-sec'],
  [/vllm:inter_token_latency_seconds/, 'itl-sec'],
  [/vllm:time_to_first_token_seconds/, 'ttft-sec'],
  [/vllm:e2e_request_latency_seconds/, 'e2e-sec'],
  [/vllm:request_queue_time_seconds/, 'queue-sec'],
  [/vllm:num_requests_waiting/, 'waiting'],
  [/vllm:num_requests_running/, 'running'],
  [/vllm:(kv|gpu)_cache_usage_perc/, 'kv-usage'],
];

export function classifyQuery(query: string): SimMetricKind | null {
  for (const [re, kind] of PATTERNS) if (re.test(query)) return kind;
  return null;
}

/** Checks every rule of the autoscaler config once, before a run. @throws SsisError SSIS_INVALID_CONFIG */
export function checkSimulatable(config: AutoscalerConfig, where = 'autoscaler-config'): void {
  const issues: FieldIssue[] = [];
  for (const [key, rules] of config) {
    rules.forEach((rule, i) => {
      if (classifyQuery(rule.query) === null) {
        issues.push({ field: `${where}.${key}[${i}].query`, message: `the simulator cannot evaluate "${rule.query}" (known series: ${PATTERNS.map(([re]) => re.source).join(', ')})` });
      }
    });
  }
  if (issues.length > 0) throw validationError('SSIS_INVALID_CONFIG', 'autoscaler-config queries the simulator cannot answer', issues);
}
