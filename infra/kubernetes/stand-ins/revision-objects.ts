/**
 * What Knative's controllers stamp out, as the Knative stand-in makes them: a Revision from a
 * Service's `spec.template` (the Configuration controller's job; no Configuration object is made,
 * so the Revision's controller reference is the Service), and a Pod from a Revision (the
 * Deployment that Knative's revision controller makes, reduced to its one pod: SSIS runs every
 * revision at min-scale = max-scale = 1). No queue-proxy sidecar: requests go to the container.
 */
import type { V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';
import { KNATIVE_REVISION_LABEL, KNATIVE_SERVICE_LABEL } from '../contract';
import {
  CONFIGURATION_GENERATION_LABEL, CONFIGURATION_LABEL, KNATIVE_API_VERSION, REVISION_ONLY_FIELDS, REVISION_UID_LABEL, SERVICE_UID_LABEL,
  type KnativeRevision, type KnativeService, type RevisionContainer,
} from '../knative-objects';

/** The name Knative gives the container a template leaves unnamed. */
export const USER_CONTAINER = 'user-container';
/** Knative's default container port, announced to the container as `PORT`. */
const DEFAULT_PORT = 8080;

/** The Revision the template asks for: its own name, or Knative's `<service>-<5-digit generation>`. */
export function templateRevisionName(service: KnativeService): string {
  return service.spec?.template?.metadata?.name ?? `${service.metadata.name ?? ''}-${String(service.metadata.generation ?? 1).padStart(5, '0')}`;
}

export function revisionFor(service: KnativeService): KnativeRevision {
  const template = service.spec?.template;
  const name = service.metadata.name ?? '';
  return {
    apiVersion: KNATIVE_API_VERSION,
    kind: 'Revision',
    metadata: {
      name: templateRevisionName(service),
      namespace: service.metadata.namespace,
      labels: {
        ...template?.metadata?.labels,
        [KNATIVE_SERVICE_LABEL]: name,
        [SERVICE_UID_LABEL]: service.metadata.uid ?? '',
        [CONFIGURATION_LABEL]: name,
        [CONFIGURATION_GENERATION_LABEL]: String(service.metadata.generation ?? 1),
      },
      annotations: { ...template?.metadata?.annotations },
      ownerReferences: [{ apiVersion: KNATIVE_API_VERSION, kind: 'Service', name, uid: service.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    spec: template?.spec ?? { containers: [] },
  };
}

/** One pod per revision, under a name derived from it (so a second create is a 409, not a second pod). */
export function podNameOf(revision: string): string {
  return `${revision}-deployment`;
}

/** The env Knative gives the user container, before the template's own. */
function knativeEnv(revision: KnativeRevision, port: number): V1EnvVar[] {
  const labels = revision.metadata.labels ?? {};
  return [
    { name: 'PORT', value: String(port) },
    { name: 'K_REVISION', value: revision.metadata.name ?? '' },
    { name: 'K_CONFIGURATION', value: labels[CONFIGURATION_LABEL] ?? '' },
    { name: 'K_SERVICE', value: labels[KNATIVE_SERVICE_LABEL] ?? '' },
  ];
}

function podContainer(container: RevisionContainer, index: number, revision: KnativeRevision): V1Container {
  if (index > 0) return { ...container, name: container.name ?? `container-${index}` };
  const port = container.ports?.[0]?.containerPort ?? DEFAULT_PORT;
  const own = container.env ?? [];
  const env = [...knativeEnv(revision, port).filter((e) => !own.some((o) => o.name === e.name)), ...own];
  return { ...container, name: container.name ?? USER_CONTAINER, env };
}

export interface PodOptions {
  /**
   * KWOK's pod stages (create, ready, delete) wait this long each, without their default random
   * jitter of up to 5 s; a Go duration (`1s`, `200ms`). Absent: KWOK's defaults.
   */
  readonly kwokStageDelay?: string;
}

function kwokAnnotations(opts: PodOptions): Record<string, string> {
  if (opts.kwokStageDelay === undefined) return {};
  const out: Record<string, string> = {};
  for (const stage of ['pod-create', 'pod-ready', 'pod-delete']) {
    out[`${stage}.stage.kwok.x-k8s.io/delay`] = opts.kwokStageDelay;
    out[`${stage}.stage.kwok.x-k8s.io/jitter-delay`] = '0s';
  }
  return out;
}

export function podFor(revision: KnativeRevision, opts: PodOptions = {}): V1Pod {
  const name = revision.metadata.name ?? '';
  const spec: Record<string, unknown> = { ...revision.spec };
  for (const field of REVISION_ONLY_FIELDS) delete spec[field];
  const containers = (revision.spec?.containers ?? []).map((c, i) => podContainer(c, i, revision));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podNameOf(name),
      namespace: revision.metadata.namespace,
      labels: { ...revision.metadata.labels, [KNATIVE_REVISION_LABEL]: name, [REVISION_UID_LABEL]: revision.metadata.uid ?? '' },
      annotations: { ...revision.metadata.annotations, ...kwokAnnotations(opts) },
      ownerReferences: [{ apiVersion: KNATIVE_API_VERSION, kind: 'Revision', name, uid: revision.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    spec: { ...spec, containers },
  };
}
