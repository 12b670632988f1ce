/** Helpers shared by the whole-GPU configurations (a) and (b). */
import { canServe } from '../../core/catalog/engine-config';
import { SsisError } from '../../core/errors';
import { WHOLE_GPU_PROFILE } from '../../core/mig/geometry';
import type { PolicyContext } from './port';

/** The first GPU model of the cluster whose whole GPU serves the service's model. */
export function wholeGpuModelFor(ctx: PolicyContext, service: string): string {
  const spec = ctx.spec(service);
  const model = ctx.gpuModels.find((g) => canServe(spec, g, WHOLE_GPU_PROFILE));
  if (model === undefined) throw new SsisError('SSIS_PLACEMENT_INFEASIBLE', `no GPU model of the cluster serves ${spec.modelId} (service ${service})`);
  return model;
}
