/**
 * (b) Autoscaling without MIG: whole-GPU replicas, the Kubernetes HPA on vllm:num_requests_waiting
 * (a Pods metric, target average value per replica). HPA's algorithm: desired = ceil(current ×
 * metric/target), no change within the tolerance (0.1); scale-up limited to max(+100 %, +4 pods)
 * per period (the default behaviour); scale-down stabilization: the highest recommendation of the
 * window (300 s by default); sync every 15 s (notes/perf.md §4.1, §5.3).
 */
import { WHOLE_GPU_PROFILE } from '../../core/mig/geometry';
import type { PolicyContext, ScaleCommand, SimPolicy } from './port';
import { wholeGpuModelFor } from './whole-gpu';

export function hpaDesiredReplicas(current: number, metric: number, target: number, tolerance: number): number {
  const ratio = metric / target;
  if (Math.abs(ratio - 1) <= tolerance) return current;
  return Math.ceil(current * ratio);
}

export function hpaQueuePolicy(ctx0: { readonly scenario: PolicyContext['scenario']; readonly config: PolicyContext['config'] }): SimPolicy {
  const o = ctx0.scenario.policies.hpa;
  const maxReplicas = ctx0.scenario.policies.maxReplicas ?? ctx0.config.scaler.maxReplicas;
  const minReplicas = ctx0.config.scaler.minReplicas;
  /** Recommendations per service: [time ms, desired]. */
  const history = new Map<string, [number, number][]>();
  let seq = 0;
  return {
    id: 'hpa-queue',
    title: 'HPA on queue length, whole GPUs',
    intervalSec: o.syncSec,
    needsPlaceability: false,
    initial: (ctx) => ctx.services.map((s) => ({ service: s.name, gpuModel: wholeGpuModelFor(ctx, s.name), profile: WHOLE_GPU_PROFILE, replicas: minReplicas })),
    decide(_ctx, samples, nowMs) {
      const out: ScaleCommand[] = [];
      for (const s of samples) {
        const current = s.replicas;
        if (current === 0 || s.gpuModel === null) continue;
        const perReplica = s.readyReplicas > 0 ? s.load.requestsWaiting / s.readyReplicas : 0;
        let desired = hpaDesiredReplicas(current, perReplica, o.targetWaitingPerReplica, o.tolerance);
        desired = Math.min(desired, Math.max(2 * current, current + 4));
        desired = Math.max(minReplicas, Math.min(maxReplicas, desired));
        const h = (history.get(s.service) ?? []).filter(([t]) => nowMs - t < o.scaleDownStabilizationSec * 1000);
        h.push([nowMs, desired]);
        history.set(s.service, h);
        // Scale-down stabilization: never below the highest recommendation of the window.
        const final = desired < current ? Math.min(current, Math.max(...h.map(([, d]) => d))) : desired;
        if (final === current) continue;
        out.push({ service: s.service, gpuModel: s.gpuModel, profile: WHOLE_GPU_PROFILE, replicas: final, decisionId: `${s.service}-hpa-${++seq}`, reason: `waiting/replica ${perReplica.toFixed(1)} vs target ${o.targetWaitingPerReplica}: ${current} → ${final}` });
      }
      return out;
    },
  };
}
