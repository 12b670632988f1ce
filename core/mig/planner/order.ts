/**
 * What every algorithm shares: the order in which new replicas are placed, and the reason given
 * for replicas left unmet.
 */
import type { Problem, Service } from './problem.js';
import { memoryShare } from './search.js';
import { isMovable, type PlanBuilder } from './plan-builder.js';

/** Reasons that name more GPUs than this get shortened. */
const MAX_GPUS_IN_REASON = 3;

export interface NewReplica {
  readonly service: Service;
  readonly id: string;
}

/** Smallest memory share of any acceptable profile on the cluster's models: the "size" of a replica. */
function smallestShare(builder: PlanBuilder, service: Service): number {
  let smallest = Infinity;
  const seen = new Set<string>();
  for (const gpu of builder.gpus) {
    if (seen.has(gpu.geometry.model.name)) continue;
    seen.add(gpu.geometry.model.name);
    for (const profile of service.acceptable(gpu.geometry)) smallest = Math.min(smallest, memoryShare(gpu, profile));
  }
  return smallest;
}

/** Highest priority first; within a priority, largest first; then demand order. */
export function newReplicasInOrder(problem: Problem, builder: PlanBuilder): NewReplica[] {
  const share = new Map(problem.services.map((s) => [s, smallestShare(builder, s)]));
  const services = [...problem.services].sort((a, b) => b.priority - a.priority || (share.get(b) ?? 0) - (share.get(a) ?? 0) || a.position - b.position);
  return services.flatMap((service) => service.newIds.map((id) => ({ service, id })));
}

/** Why `unmet` of the service's new replicas found no place, naming GPUs, positions and blockers. */
export function unmetReason(builder: PlanBuilder, service: Service, unmet: number, requested: number, what: string): string {
  const head = `${unmet} of ${requested} ${service.profileLabel.join('|')} replica(s) unplaced`;
  const offering = builder.ordered().filter((g) => service.acceptable(g.geometry).length > 0);
  if (offering.length === 0) {
    const models = service.models === undefined ? 'any model' : [...service.models].join(', ');
    return `${head}: no GPU of ${models} offers ${service.profileLabel.join(' or ')}`;
  }
  const described = offering.slice(0, MAX_GPUS_IN_REASON).map((gpu) => {
    const profile = service.acceptable(gpu.geometry)[0];
    if (profile === undefined) return gpu.label;
    const clauses = profile.positions.map((p) => {
      const holders = gpu.instances.filter((i) => (i.mask & p.mask) !== 0);
      const names = holders.map((i) => `${i.profile.name}@${i.start} (${i.replica}${isMovable(i) ? '' : ', not movable'})`);
      return `${profile.name}@${p.start}: ${names.length > 0 ? `slots held by ${names.join(', ')}` : 'free'}`;
    });
    return `${gpu.label}: ${clauses.join('; ')}`;
  });
  const more = offering.length > MAX_GPUS_IN_REASON ? `; and ${offering.length - MAX_GPUS_IN_REASON} more GPU(s)` : '';
  return `${head}: ${what} on ${offering.length} GPU(s) (${described.join(' | ')}${more})`;
}

