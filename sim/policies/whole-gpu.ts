/** Helpers shared by the whole-GPU configurations, static-gpu (a) and hpa-queue (b). */
import { canServe } from '../../core/catalog/engine-config';
import { SsisError } from '../../core/errors';
import { WHOLE_GPU_PROFILE } from '../../core/mig/geometry';
import type { PolicyContext } from './port';

/**
 * The GPU model whose whole GPU serves the service's model: the first in scenario order that has
 * `count` GPUs left after `taken`, else the first that serves it (its placement then reports the shortage).
 */
export function wholeGpuModelFor(ctx: PolicyContext, service: string, count = 1, taken: ReadonlyMap<string, number> = new Map()): string {
  const spec = ctx.spec(service);
  const serving = ctx.gpuModels.filter((g) => canServe(spec, g, WHOLE_GPU_PROFILE));
  if (serving.length === 0) throw new SsisError('SSIS_PLACEMENT_INFEASIBLE', `no GPU model of the cluster serves ${spec.modelId} (service ${service})`);
  const total = (g: string): number => ctx.gpus().filter((x) => x.model === g).length;
  return serving.find((g) => total(g) - (taken.get(g) ?? 0) >= count) ?? serving[0]!;
}
