/**
 * A replica's life on the cluster: placed on a slice (and started, unless the run begins with it),
 * drained when no longer wanted, released when its last request has finished.
 */
import { engineConfigFor } from '../../core/catalog/engine-config';
import type { Allocation } from '../policies/port';
import { ReplicaEngine } from '../replica-engine';
import { EventKind, type Simulation } from './context';
import type { Replica, ServiceRuntime } from './runtime';

export interface PlaceReplicasOptions {
  /** Restore the cluster and place none unless all `count` fit (a tier change needs the whole set). */
  readonly allOrNothing: boolean;
  /** The run's initial allocation: ready at once, with no start-up delay and not counted as started. */
  readonly readyAtStart: boolean;
}

/** Places `count` replicas of the allocation's tier; the reason when none (or, all-or-nothing, not all) fit. */
export function placeReplicas(sim: Simulation, s: ServiceRuntime, a: Allocation, count: number, t: number, options: PlaceReplicasOptions): Replica[] | string {
  const { cluster, replicas, accounting } = sim;
  const delays = sim.scenario.delays;
  const before = cluster.snapshot();
  const ownerIds = Array.from({ length: count }, (_, i) => `${s.spec.name}-r${replicas.length + i}`);
  const outcome = cluster.place({ profile: a.profile, gpuModel: a.gpuModel, ownerIds });
  if (outcome.placements.length === 0 || (options.allOrNothing && outcome.unplaced > 0)) {
    cluster.restore(before);
    return outcome.reason ?? `no room for ${count} × ${a.profile} on ${a.gpuModel}`;
  }
  const engineConfig = engineConfigFor(s.model, a.gpuModel, a.profile);
  const loadMs = (delays.podStartSec + s.model.loadSeconds * delays.loadTimeScale) * 1000;
  const changedGpus = new Set<number>();
  const placed: Replica[] = [];
  for (const p of outcome.placements) {
    const fraction = cluster.fraction(p.gpu, a.profile);
    const engine = new ReplicaEngine({ ...engineConfig, maxBatchSize: a.maxBatch ?? engineConfig.maxBatchSize }, sim.requests);
    const r: Replica = {
      id: replicas.length, name: p.owner, service: s, engine, gpuModel: a.gpuModel, profile: a.profile, gpu: p.gpu, fraction,
      phase: options.readyAtStart ? 'ready' : 'starting', busy: false, incoming: false,
    };
    replicas.push(r);
    s.replicas.push(r);
    placed.push(r);
    accounting.setServiceAllocation(s, fraction, t);
    if (!options.readyAtStart) {
      accounting.replicasStarted++;
      if (p.reconfigured) changedGpus.add(p.gpu);
      accounting.setBusy(r, true);
      sim.queue.push(t + loadMs + (p.reconfigured ? delays.migRepartitionSec * 1000 : 0), EventKind.ready, r.id);
    }
  }
  accounting.reconfigurations += changedGpus.size;
  accounting.replicaMoves += outcome.moves.length;
  return placed;
}

/** Frees the replica's slice and stops counting its GPUs. */
export function releaseReplica(sim: Simulation, r: Replica, t: number): void {
  if (r.phase === 'gone') return;
  r.phase = 'gone';
  sim.accounting.setBusy(r, false);
  sim.cluster.release(r.gpu, r.name);
  sim.accounting.setServiceAllocation(r.service, -r.fraction, t);
  r.service.replicas = r.service.replicas.filter((x) => x !== r);
}

/** Takes the replica out of service: a starting one at once, a ready one once its requests finish. */
export function drainReplica(sim: Simulation, r: Replica, t: number): void {
  if (r.phase === 'starting') {
    releaseReplica(sim, r, t);
  } else if (r.phase === 'ready') {
    r.phase = 'draining';
    if (!r.engine.stepping && r.engine.idle) releaseReplica(sim, r, t);
  }
}
