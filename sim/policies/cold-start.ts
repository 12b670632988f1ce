/** The start of the SSIS configurations, ssis-ladder (d) and ssis-full (e): every service as a cold start would place it. */
import { SsisError } from '../../core/errors';
import { coldStartTarget } from '../../core/scaling/cold-start';
import type { Allocation, PolicyContext } from './port';

/** Each service on the smallest fitting slice that can be placed (core/scaling/cold-start), at minReplicas. */
export function coldStartAllocations(ctx: PolicyContext): Allocation[] {
  return ctx.services.map((s) => {
    const target = coldStartTarget(ctx.spec(s.name), ctx.gpuModels, (g, p) => ctx.placeable(g, p));
    if (!target) throw new SsisError('SSIS_PLACEMENT_INFEASIBLE', `no tier of the cluster serves ${s.model} (service ${s.name})`);
    return { service: s.name, gpuModel: target.gpuModel, profile: target.profile, replicas: ctx.config.scaler.minReplicas };
  });
}
