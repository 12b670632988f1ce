/** (a) A full GPU per model (`staticGpus` whole GPUs per service), no autoscaling. */
import { WHOLE_GPU_PROFILE } from '../../core/mig/geometry';
import type { SimPolicy } from './port';
import { wholeGpuModelFor } from './whole-gpu';

export function staticGpuPolicy(): SimPolicy {
  return {
    id: 'static-gpu',
    title: 'full GPU per model, static',
    intervalSec: null,
    needsPlaceability: false,
    initial: (ctx) => {
      // Services fill the GPU models in scenario order, so a mixed cluster is used whole.
      const taken = new Map<string, number>();
      return ctx.services.map((s) => {
        const gpuModel = wholeGpuModelFor(ctx, s.name, s.staticGpus, taken);
        taken.set(gpuModel, (taken.get(gpuModel) ?? 0) + s.staticGpus);
        return { service: s.name, gpuModel, profile: WHOLE_GPU_PROFILE, replicas: s.staticGpus };
      });
    },
    decide: () => [],
  };
}
