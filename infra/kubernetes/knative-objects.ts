/**
 * The parts of Knative Serving's objects (serving.knative.dev/v1, the CRDs of
 * shared/reference/knative-crds) that the cluster adapter and the Knative stand-in read and
 * write, with their conditions. Field names are Knative's wire names.
 */
import type { KubernetesObject, V1Container, V1ObjectMeta, V1PodSpec } from '@kubernetes/client-node';
import { KNATIVE_GROUP, KNATIVE_SERVICE_LABEL, KNATIVE_VERSION } from './contract';

export const KNATIVE_API_VERSION = `${KNATIVE_GROUP}/${KNATIVE_VERSION}`;
export const CONFIGURATION_LABEL = 'serving.knative.dev/configuration';
export const CONFIGURATION_GENERATION_LABEL = 'serving.knative.dev/configurationGeneration';
export const SERVICE_UID_LABEL = 'serving.knative.dev/serviceUID';
export const REVISION_UID_LABEL = 'serving.knative.dev/revisionUID';
export { KNATIVE_SERVICE_LABEL };

/** A container of a RevisionSpec: Knative names the first one `user-container` when unnamed. */
export type RevisionContainer = Omit<V1Container, 'name'> & { name?: string };

/** A RevisionSpec: a PodSpec subset plus Knative's own request-handling fields. */
export interface RevisionSpec extends Partial<Omit<V1PodSpec, 'containers'>> {
  containers: RevisionContainer[];
  containerConcurrency?: number;
  timeoutSeconds?: number;
  responseStartTimeoutSeconds?: number;
  idleTimeoutSeconds?: number;
}
/** RevisionSpec fields that are not PodSpec fields (the queue-proxy's, which does not run here). */
export const REVISION_ONLY_FIELDS = ['containerConcurrency', 'timeoutSeconds', 'responseStartTimeoutSeconds', 'idleTimeoutSeconds'] as const;

export interface TrafficTarget {
  revisionName?: string;
  configurationName?: string;
  latestRevision?: boolean;
  percent?: number;
  tag?: string;
  url?: string;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  severity?: string;
}

/** A Service's `spec.template`: each change of it makes a Revision, named by `metadata.name` when given. */
export interface RevisionTemplate {
  metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: RevisionSpec;
}

export interface KnativeService extends KubernetesObject {
  metadata: V1ObjectMeta;
  spec?: {
    template?: RevisionTemplate;
    traffic?: TrafficTarget[];
  };
  status?: ServiceStatus;
}

export interface ServiceStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  url?: string;
  address?: { url?: string };
  latestCreatedRevisionName?: string;
  latestReadyRevisionName?: string;
  traffic?: TrafficTarget[];
}

export interface KnativeRevision extends KubernetesObject {
  metadata: V1ObjectMeta;
  spec?: RevisionSpec;
  status?: RevisionStatus;
}

export interface RevisionStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  actualReplicas?: number;
  desiredReplicas?: number;
}

export function conditionOf(object: { status?: { conditions?: Condition[] } } | undefined, type: string): Condition | undefined {
  return object?.status?.conditions?.find((c) => c.type === type);
}

export function isReady(object: { status?: { conditions?: Condition[] } } | undefined): boolean {
  return conditionOf(object, 'Ready')?.status === 'True';
}

/** The Service that owns a Revision, by its controller reference (the stand-in makes no Configuration). */
export function owningServiceUid(revision: KnativeRevision): string | undefined {
  return revision.metadata.ownerReferences?.find((o) => o.kind === 'Service' && o.apiVersion === KNATIVE_API_VERSION)?.uid;
}

/**
 * New conditions, keeping each one's lastTransitionTime where its status did not change
 * (Knative's semantics), so that an unchanged state compares equal and is not written again.
 */
export function withTransitionTimes(next: readonly Condition[], previous: readonly Condition[] | undefined, nowIso: string): Condition[] {
  return next.map((c) => {
    const before = previous?.find((p) => p.type === c.type);
    return { ...c, lastTransitionTime: before && before.status === c.status && before.lastTransitionTime ? before.lastTransitionTime : nowIso };
  });
}

/** Deep equality of JSON values (status objects as read back from the API server). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
