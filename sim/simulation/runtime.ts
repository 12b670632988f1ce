/**
 * The mutable state of a run per service and per replica: what the event handlers read and
 * change. Counters are plain fields because the hot path touches them for every token step.
 */
import type { ModelSpec } from '../../core/catalog/model-catalog';
import type { SimMetricKind } from '../metric-queries';
import type { ReplicaEngine } from '../replica-engine';
import type { ServiceSpec } from '../scenario';

export type Phase = 'starting' | 'ready' | 'draining' | 'gone';

export interface Replica {
  /** Index into the run's replica list; event references carry it. */
  readonly id: number;
  /** The owner id of its slice on the cluster. */
  readonly name: string;
  readonly service: ServiceRuntime;
  readonly engine: ReplicaEngine;
  readonly gpuModel: string;
  readonly profile: string;
  readonly gpu: number;
  readonly fraction: number;
  phase: Phase;
  /** Counted as busy capacity: loading, or its engine stepping. */
  busy: boolean;
  /** Part of a tier change not yet switched to: gets no traffic until the rollout completes. */
  incoming: boolean;
}

/** A decision being carried out: new replicas starting (scale out, or a tier change). */
export interface Rollout {
  readonly decisionId: string;
  /** A tier change (new profile or GPU model): the old replicas drain once the new ones are ready. */
  readonly vertical: boolean;
  readonly gpuModel: string;
  readonly profile: string;
  readonly replicas: readonly Replica[];
}

/** What one sampling interval saw of a service's completed requests (the sample's window). */
export interface Window {
  completions: number;
  inputTokens: number;
  outputTokens: number;
  ttftSumMs: number;
  ttftCount: number;
  itlSumMs: number;
  itlCount: number;
  tpotSumMs: number;
  tpotCount: number;
  e2eSumMs: number;
  queueSumMs: number;
}

export interface ServiceRuntime {
  /** Position in the scenario's service list (arrivals and plot series are indexed by it). */
  readonly index: number;
  readonly spec: ServiceSpec;
  readonly model: ModelSpec;
  /** The autoscaler-config rules the samples answer, each recognised by its vLLM series. */
  readonly rules: readonly { readonly name: string; readonly kind: SimMetricKind }[];
  replicas: Replica[];
  /** Request slots waiting for a routable replica, consumed from pendingHead. */
  readonly pending: number[];
  pendingHead: number;
  generation: number;
  rollout: Rollout | null;
  /** The tier served now; null before the first allocation. */
  profile: string | null;
  gpuModel: string | null;
  w: Window;
  arrivals: number;
  /** Arrivals since the last plot record. */
  recordArrivals: number;
  completed: number;
  jctSumMs: number;
  ttftOk: number;
  itlOk: number;
  /** GPUs held now (slice fractions summed), integrated into gpuSeconds from allocSinceMs. */
  allocated: number;
  allocSinceMs: number;
  gpuSeconds: number;
}

export const emptyWindow = (): Window => ({
  completions: 0, inputTokens: 0, outputTokens: 0, ttftSumMs: 0, ttftCount: 0, itlSumMs: 0, itlCount: 0, tpotSumMs: 0, tpotCount: 0, e2eSumMs: 0, queueSumMs: 0,
});

export function newServiceRuntime(index: number, spec: ServiceSpec, model: ModelSpec, rules: ServiceRuntime['rules']): ServiceRuntime {
  return {
    index,
    spec,
    model,
    rules,
    replicas: [],
    pending: [],
    pendingHead: 0,
    generation: 1,
    rollout: null,
    profile: null,
    gpuModel: null,
    w: emptyWindow(),
    arrivals: 0,
    recordArrivals: 0,
    completed: 0,
    jctSumMs: 0,
    ttftOk: 0,
    itlOk: 0,
    allocated: 0,
    allocSinceMs: 0,
    gpuSeconds: 0,
  };
}

/** Gets traffic: ready and not waiting for its tier change to complete. */
export const isRoutable = (r: Replica): boolean => r.phase === 'ready' && !r.incoming;

/** The replicas of the tier the service serves now, started or starting (what a sample counts). */
export function servingReplicas(s: ServiceRuntime): Replica[] {
  return s.replicas.filter((r) => !r.incoming && (r.phase === 'starting' || r.phase === 'ready'));
}
