/**
 * The status the Knative stand-in reports, as pure functions of what it observed: a Revision's
 * conditions from its pod and emulated container, and a Service's URL, traffic and conditions
 * from its Revisions. Condition types and reasons are Knative's (Ready, ResourcesAvailable,
 * ContainerHealthy, Active on a Revision; Ready, ConfigurationsReady, RoutesReady on a Service).
 */
import { conditionOf, isReady, type Condition, type KnativeRevision, type KnativeService, type TrafficTarget } from '../knative-objects';

/** What a revision's one replica is doing. */
export type ReplicaState =
  | { readonly kind: 'ready' }
  | { readonly kind: 'deploying'; readonly message: string }
  /** Not bound to a node within the bound: `Unschedulable`, with the scheduler's message. */
  | { readonly kind: 'unschedulable'; readonly message: string }
  /** Bound but not running within the bound. */
  | { readonly kind: 'stuck'; readonly message: string }
  /** The container exited (a model it cannot serve, a failed pod). */
  | { readonly kind: 'crashed'; readonly reason: string; readonly message: string };

const condition = (type: string, status: Condition['status'], reason?: string, message?: string): Condition => ({
  type,
  status,
  ...(reason === undefined ? {} : { reason }),
  ...(message === undefined ? {} : { message }),
});

export function revisionConditions(state: ReplicaState): Condition[] {
  switch (state.kind) {
    case 'ready':
      return [condition('Active', 'True'), condition('ContainerHealthy', 'True'), condition('Ready', 'True'), condition('ResourcesAvailable', 'True')];
    case 'deploying':
      return [condition('Active', 'Unknown', 'Deploying'), condition('ContainerHealthy', 'Unknown', 'Deploying'), condition('Ready', 'Unknown', 'Deploying', state.message), condition('ResourcesAvailable', 'Unknown', 'Deploying', state.message)];
    case 'unschedulable':
      return [condition('Active', 'Unknown', 'Deploying'), condition('ContainerHealthy', 'Unknown', 'Deploying'), condition('Ready', 'False', 'Unschedulable', state.message), condition('ResourcesAvailable', 'False', 'Unschedulable', state.message)];
    case 'stuck':
      return [condition('Active', 'Unknown', 'Deploying'), condition('ContainerHealthy', 'Unknown', 'Deploying'), condition('Ready', 'False', 'ProgressDeadlineExceeded', state.message), condition('ResourcesAvailable', 'False', 'ProgressDeadlineExceeded', state.message)];
    case 'crashed':
      return [condition('Active', 'Unknown', 'Deploying'), condition('ContainerHealthy', 'False', state.reason, state.message), condition('Ready', 'False', state.reason, state.message), condition('ResourcesAvailable', 'True')];
  }
}

export function revisionStatus(revision: KnativeRevision, state: ReplicaState): Record<string, unknown> {
  return {
    observedGeneration: revision.metadata.generation ?? 1,
    conditions: revisionConditions(state),
    actualReplicas: state.kind === 'ready' ? 1 : 0,
    desiredReplicas: 1,
  };
}

/** A traffic target resolved to a revision, as Route status lists it. */
export interface ResolvedTarget {
  readonly revisionName: string;
  readonly percent: number;
  readonly latestRevision: boolean;
  readonly tag?: string;
}

export type TrafficResolution = { readonly ok: true; readonly targets: readonly ResolvedTarget[] } | { readonly ok: false; readonly reason: string; readonly message: string };

/**
 * Resolves `spec.traffic` (absent or empty: 100 % to the latest ready revision, Knative's default)
 * against the namespace's revisions; refused unless every target names an existing Ready revision
 * and the percents sum to 100 (Knative's webhook refuses other sums at write time).
 */
export function resolveTraffic(service: KnativeService, revisionNamed: (name: string) => KnativeRevision | undefined, latestReady: string | undefined): TrafficResolution {
  const spec: TrafficTarget[] = service.spec?.traffic?.length ? service.spec.traffic : [{ latestRevision: true, percent: 100 }];
  const total = spec.reduce((sum, t) => sum + (t.percent ?? 0), 0);
  if (total !== 100) return { ok: false, reason: 'TrafficInvalid', message: `Traffic targets sum to ${total}, want 100` };
  const targets: ResolvedTarget[] = [];
  for (const t of spec) {
    const latest = t.revisionName === undefined;
    const name = latest ? latestReady : t.revisionName;
    if (name === undefined) return { ok: false, reason: 'RevisionMissing', message: `Configuration "${service.metadata.name ?? ''}" does not have any ready Revision.` };
    const revision = revisionNamed(name);
    if (!revision) return { ok: false, reason: 'RevisionMissing', message: `Revision "${name}" referenced in traffic not found.` };
    if (!isReady(revision)) {
      const ready = conditionOf(revision, 'Ready');
      return ready?.status === 'False'
        ? { ok: false, reason: 'RevisionFailed', message: `Revision "${name}" failed with message: ${ready.message ?? ready.reason ?? ''}.` }
        : { ok: false, reason: 'RevisionNotReady', message: `Revision "${name}" is not ready yet.` };
    }
    targets.push({ revisionName: name, percent: t.percent ?? 0, latestRevision: latest, ...(t.tag === undefined ? {} : { tag: t.tag }) });
  }
  return { ok: true, targets };
}

export interface ServiceObservation {
  readonly url: string;
  readonly latestCreated: string;
  /** The latest created revision is another Service's. */
  readonly latestCreatedNotOwned: boolean;
  readonly latestCreatedRevision: KnativeRevision | undefined;
  readonly latestReady: string | undefined;
  readonly traffic: TrafficResolution;
  /** What the proxy routes by: the last resolution that succeeded (make-before-break). */
  readonly programmed: readonly ResolvedTarget[] | undefined;
}

function configurationsReady(o: ServiceObservation): Condition {
  if (o.latestCreatedNotOwned) return condition('ConfigurationsReady', 'False', 'NotOwned', `There is an existing Revision "${o.latestCreated}" that we do not own.`);
  const ready = conditionOf(o.latestCreatedRevision, 'Ready');
  if (ready?.status === 'True') return condition('ConfigurationsReady', 'True');
  if (ready?.status === 'False') return condition('ConfigurationsReady', 'False', 'RevisionFailed', `Revision "${o.latestCreated}" failed with message: ${ready.message ?? ready.reason ?? ''}.`);
  return condition('ConfigurationsReady', 'Unknown', 'Deploying', `Revision "${o.latestCreated}" is not ready yet.`);
}

/**
 * Every status field the stand-in owns, `null` for one it has nothing for (so that a merge patch
 * clears it). Ready follows the routes only: the Service serves once every revision its traffic
 * names is Ready, whatever its newest template is doing.
 */
export function serviceStatus(service: KnativeService, o: ServiceObservation): Record<string, unknown> {
  const routes = o.traffic.ok ? condition('RoutesReady', 'True') : condition('RoutesReady', 'False', o.traffic.reason, o.traffic.message);
  return {
    observedGeneration: service.metadata.generation ?? 1,
    url: o.url,
    address: { url: o.url },
    latestCreatedRevisionName: o.latestCreated,
    latestReadyRevisionName: o.latestReady ?? null,
    traffic: o.programmed ? o.programmed.map((t) => ({ ...t })) : null,
    conditions: [configurationsReady(o), { ...routes, type: 'Ready' }, routes],
  };
}
