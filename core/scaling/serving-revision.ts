/**
 * What a service holds now, as the functions read it from the cluster: the revision that serves it
 * (the one a tier change replaces) and whether it has any replica at all. The reconfigure function
 * changes it, the sample function reports it, the decision policy judges a decision against it.
 */
import type { RevisionView, ServiceView } from '../ports/cluster';

/** The revision receiving traffic; before any traffic (a first rollout), the one with replicas. */
export function servingRevision(s: ServiceView): RevisionView | undefined {
  const name = [...s.traffic].sort((a, b) => b.percent - a.percent)[0]?.revision;
  return s.revisions.find((r) => r.name === name) ?? s.revisions.find((r) => r.replicas.length > 0);
}

/** Replicas in any revision: a service without one is at zero, and only a cold start gives it its first. */
export function holdsReplicas(s: ServiceView): boolean {
  return s.revisions.some((r) => r.replicas.length > 0);
}
