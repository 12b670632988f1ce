/**
 * What SSIS writes into and reads from a Kubernetes cluster: the names, labels and annotations
 * the cluster adapter (cluster-port.ts) and the stand-ins for what cannot run here (the GPU
 * operator's mig-manager, Knative Serving's controller) agree on. Kubernetes and NVIDIA names are
 * theirs (notes/mig.md §2, notes/ssis.md §1.8); `ssis.dev/*` names are ours.
 *
 * Mapping, in short:
 * - A model service is a Knative Service named after the model (core/naming.ts) in the models
 *   namespace. Its SSIS record (generation, rollout in progress, condition, SSIS revisions and
 *   their traffic) is a ConfigMap beside it, written with optimistic concurrency, because a
 *   decision must be accepted exactly once and the Knative Service exists only from the first
 *   replica on.
 * - A replica is one Knative Revision with min-scale = max-scale = 1 (as the SSIS reference ran
 *   them): its template pins the node and GPU product and asks for its MIG profile's resource, so
 *   each replica sits on the slice the planner chose. An SSIS revision (a tier and batch size
 *   decided once) is the set of Knative Revisions labelled with its name; its traffic share is
 *   split evenly over its ready replicas.
 * - A GPU's exact layout (instances at slot positions, and which replica owns each) is a node
 *   annotation SSIS writes with the `nvidia.com/mig.config` label, because Kubernetes only
 *   exposes counts per profile (allocatable `nvidia.com/mig-<profile>`).
 */

/** The GPU operator's labels and resources (notes/mig.md §2.2; gpu-feature-discovery). */
export const GPU_PRODUCT_LABEL = 'nvidia.com/gpu.product';
export const GPU_COUNT_LABEL = 'nvidia.com/gpu.count';
export const MIG_CONFIG_STATE_LABEL = 'nvidia.com/mig.config.state';
export const MIG_STRATEGY_LABEL = 'nvidia.com/mig.strategy';
export const WHOLE_GPU_RESOURCE = 'nvidia.com/gpu';
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';

/** `nvidia.com/mig.config.state` values the mig-manager writes. */
export type MigConfigState = 'pending' | 'rebooting' | 'success' | 'failed';

export function migResourceName(profile: string): string {
  return `nvidia.com/mig-${profile}`;
}

/** `nvidia.com/mig-1g.5gb` → `1g.5gb`; null for any other resource. */
export function profileOfResource(resource: string): string | null {
  return resource.startsWith('nvidia.com/mig-') ? resource.slice('nvidia.com/mig-'.length) : null;
}

/**
 * gpu-feature-discovery's product label for a GPU model of core/mig/geometry.ts
 * (`A100-SXM4-40GB` → `NVIDIA-A100-SXM4-40GB`), and back.
 */
export function gpuProductLabelValue(gpuModel: string): string {
  return `NVIDIA-${gpuModel}`;
}
export function gpuModelOfProduct(product: string): string {
  return product.startsWith('NVIDIA-') ? product.slice('NVIDIA-'.length) : product;
}

/**
 * The mig-parted config the GPU operator's mig-manager applies: its ClusterPolicy names this
 * ConfigMap (`migManager.config.name`), key `config.yaml`; each node's `nvidia.com/mig.config`
 * label picks one of its named configs.
 */
export const MIG_PARTED_CONFIGMAP = 'ssis-mig-parted-config';
export const MIG_PARTED_CONFIGMAP_KEY = 'config.yaml';
export const GPU_OPERATOR_NAMESPACE = 'gpu-operator';

/** Node annotation: the exact per-GPU layout SSIS last applied (JSON, see NodeMigLayout). */
export const MIG_LAYOUT_ANNOTATION = 'ssis.dev/mig-layout';

export interface NodeMigLayoutGpu {
  readonly index: number;
  readonly migEnabled: boolean;
  readonly instances: readonly { readonly id: string; readonly profile: string; readonly start: number; readonly owner: string | null }[];
}
export type NodeMigLayout = readonly NodeMigLayoutGpu[];

/** Labels on every object SSIS creates. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'ssis';
export const MODEL_SERVICE_LABEL = 'ssis.dev/model-service';
export const SSIS_REVISION_LABEL = 'ssis.dev/revision';
export const REPLICA_LABEL = 'ssis.dev/replica';

/** The SSIS record of a model service: ConfigMap `ssis-service-<service>` in the models namespace. */
export function serviceRecordName(service: string): string {
  return `ssis-service-${service}`;
}
/** Keys of the service record's data (each value a string, JSON where structured). */
export const RECORD_KEYS = {
  modelId: 'modelId',
  generation: 'generation',
  rollout: 'rollout',
  condition: 'condition',
  revisions: 'revisions',
  traffic: 'traffic',
} as const;

/** Annotations on a replica's Knative Revision template: where the planner put it. */
export const REPLICA_ANNOTATIONS = {
  slice: 'ssis.dev/slice',
  node: 'ssis.dev/node',
  gpu: 'ssis.dev/gpu',
  profile: 'ssis.dev/profile',
  gpuModel: 'ssis.dev/gpu-model',
  decisionId: 'ssis.dev/decision-id',
  modelId: 'ssis.dev/model-id',
} as const;

/** Knative Serving's names (the CRDs in shared/reference/knative-crds). */
export const KNATIVE_GROUP = 'serving.knative.dev';
export const KNATIVE_VERSION = 'v1';
export const KNATIVE_SERVICE_LABEL = 'serving.knative.dev/service';
export const KNATIVE_REVISION_LABEL = 'serving.knative.dev/revision';
export const MIN_SCALE_ANNOTATION = 'autoscaling.knative.dev/min-scale';
export const MAX_SCALE_ANNOTATION = 'autoscaling.knative.dev/max-scale';

/** The Secret holding the Hugging Face token, referenced (never copied) by every replica. */
export const HF_TOKEN_SECRET = 'ssis-hf-token';
export const HF_TOKEN_SECRET_KEY = 'token';

/**
 * Where a replica's server really listens when a stand-in serves it outside the pod network
 * (the local control plane's emulated servers on loopback): a pod annotation with the base URL.
 * A real cluster has no such annotation; the pod's IP and port are used.
 */
export const STAND_IN_ENDPOINT_ANNOTATION = 'ssis.dev/stand-in-endpoint';
export const ENGINE_PORT = 8080;
