/**
 * From a catalog entry and the slice a replica runs on to the engine it runs: iteration
 * parameters scaled by the slice's compute and bandwidth share, KV capacity from its memory.
 */
import { computeFraction, memoryBandwidthFraction, profileMemoryGiB } from '../mig/geometry';
import type { EngineConfig } from '../perf/batching-engine';
import { scaleToSlice } from '../perf/iteration-model';
import { kvCapacityTokens, minimumMemoryGiB, type ModelSpec } from './model-catalog';

/** vLLM V1's default max_num_batched_tokens. */
export const DEFAULT_MAX_TOKENS_PER_STEP = 8192;

export function canServe(spec: ModelSpec, gpuModel: string, profile: string): boolean {
  return spec.perf[gpuModel] !== undefined && profileMemoryGiB(gpuModel, profile) >= minimumMemoryGiB(spec);
}

export function engineConfigFor(spec: ModelSpec, gpuModel: string, profile: string): EngineConfig {
  const full = spec.perf[gpuModel];
  if (!full) throw new RangeError(`model ${spec.modelId} has no performance data for ${gpuModel}`);
  return {
    params: scaleToSlice(full, { computeFraction: computeFraction(gpuModel, profile), memoryBandwidthFraction: memoryBandwidthFraction(gpuModel, profile) }),
    maxBatchSize: spec.maxBatchSize,
    maxTokensPerStep: DEFAULT_MAX_TOKENS_PER_STEP,
    kvCapacityTokens: kvCapacityTokens(spec, profileMemoryGiB(gpuModel, profile)),
  };
}
