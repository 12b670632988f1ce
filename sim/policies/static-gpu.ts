/** (a) A full GPU per model (`staticGpus` whole GPUs per service), no autoscaling. */
import { WHOLE_GPU_PROFILE } from '../../core/mig/geometry';
import type { SimPolicy } from './port';
import { wholeGpuModelFor } from './whole-gpu';

export function staticGpuPolicy(): SimPolicy {
  return {
    id: 'a',
    title: 'full GPU per model, static',
    intervalSec: null,
    needsPlaceability: false,
    initial: (ctx) => ctx.services.map((s) => ({ service: s.name, gpuModel: wholeGpuModelFor(ctx, s.name), profile: WHOLE_GPU_PROFILE, replicas: s.staticGpus })),
    decide: () => [],
  };
}
