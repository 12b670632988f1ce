/**
 * Carrying out the policy's commands after the decision delay: scale out or in within the tier
 * served, or change tier make-before-break (the new replicas start, traffic switches once all
 * are ready, then the old ones drain). Outcomes go back to the policy as the functions report them.
 */
import type { ScaleCommand } from '../policies/port';
import type { Simulation } from './context';
import { routePending } from './engines';
import { drainReplica, placeReplicas } from './replicas';
import { servingReplicas, type Replica, type ServiceRuntime } from './runtime';

function completeRollout(sim: Simulation, s: ServiceRuntime, t: number): void {
  const rollout = s.rollout!;
  if (rollout.vertical) {
    for (const r of [...s.replicas]) if (!r.incoming && (r.phase === 'starting' || r.phase === 'ready')) drainReplica(sim, r, t);
    for (const r of rollout.replicas) r.incoming = false;
    sim.accounting.replicaMoves += rollout.replicas.filter((r) => r.phase !== 'gone').length;
    s.profile = rollout.profile;
    s.gpuModel = rollout.gpuModel;
  }
  s.rollout = null;
  sim.policy.onRolloutCompleted?.(s.spec.name, rollout.decisionId, t);
  routePending(sim, s, t);
}

function placementFailed(sim: Simulation, s: ServiceRuntime, c: ScaleCommand, t: number): void {
  sim.accounting.placementFailures++;
  sim.policy.onPlacementFailed?.(sim.policyContext, s.spec.name, c.decisionId, c.gpuModel, c.profile, t);
}

/** A replica has started: it takes traffic, and completes its rollout when it was the last one starting. */
export function replicaReady(sim: Simulation, r: Replica, t: number): void {
  if (r.phase !== 'starting') return;
  r.phase = 'ready';
  sim.accounting.setBusy(r, false);
  const s = r.service;
  if (s.rollout?.replicas.includes(r) && s.rollout.replicas.every((x) => x.phase !== 'starting')) completeRollout(sim, s, t);
  routePending(sim, s, t);
}

export function actuate(sim: Simulation, c: ScaleCommand, t: number): void {
  const s = sim.serviceByName.get(c.service);
  if (!s || s.rollout?.vertical) return; // one tier change at a time; the policy decides again on the next sample
  const sameTier = c.profile === s.profile && c.gpuModel === s.gpuModel;
  if (sameTier) {
    const serving = servingReplicas(s);
    const delta = c.replicas - serving.length;
    if (delta === 0) return;
    s.generation++;
    if (delta > 0) {
      const placed = placeReplicas(sim, s, c, delta, t, { allOrNothing: false, readyAtStart: false });
      if (typeof placed === 'string') return placementFailed(sim, s, c, t);
      s.rollout = { decisionId: c.decisionId, vertical: false, gpuModel: c.gpuModel, profile: c.profile, replicas: placed };
      return;
    }
    // Scale in: replicas still starting go first, then the least loaded.
    const victims = [...serving].sort((a, b) => (a.phase === b.phase ? a.engine.outstanding - b.engine.outstanding || b.id - a.id : a.phase === 'starting' ? -1 : 1)).slice(0, -delta);
    for (const r of victims) drainReplica(sim, r, t);
    sim.policy.onRolloutCompleted?.(s.spec.name, c.decisionId, t);
    return;
  }
  const placed = placeReplicas(sim, s, c, c.replicas, t, { allOrNothing: true, readyAtStart: false });
  if (typeof placed === 'string') return placementFailed(sim, s, c, t);
  s.generation++;
  for (const r of placed) r.incoming = true;
  s.rollout = { decisionId: c.decisionId, vertical: true, gpuModel: c.gpuModel, profile: c.profile, replicas: placed };
}
