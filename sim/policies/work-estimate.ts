/**
 * A service's expected GPU work per second on a whole GPU of a model, from the Gen 2 iteration
 * model at a moderate batch: what the static policies divide the cluster by. Only the ranking
 * between services matters, so the batch size assumed (8) is a round middle value.
 */
import type { ModelSpec } from '../../core/catalog/model-catalog';
import { gen2IterationMs } from '../../core/perf/iteration-model';
import type { ExpectedLoad } from './port';

const ASSUMED_BATCH = 8;

/** GPU-milliseconds per second of wall time the service's expected load needs on one whole GPU. */
export function expectedWorkMsPerSec(spec: ModelSpec, gpuModel: string, load: ExpectedLoad): number {
  const p = spec.perf[gpuModel];
  if (!p || load.ratePerSec === 0) return 0;
  const iteration = gen2IterationMs(p, ASSUMED_BATCH, load.avgInputTokens, load.avgOutputTokens);
  // Each request takes out+1 iterations shared by the batch.
  return (load.ratePerSec * iteration * (load.avgOutputTokens + 1)) / ASSUMED_BATCH;
}
