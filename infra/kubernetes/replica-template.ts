/**
 * The Knative revision template of one replica: the engine container with its model and decided
 * batch size, the MIG profile's resource (GPU operator, mixed strategy) or a whole GPU, a node
 * selector for the node and GPU product the planner chose, and the Hugging Face token as a
 * reference to a Secret: never a value. min-scale = max-scale = 1 makes Knative run exactly this
 * one pod, so each replica stays on its slice (Knative's own autoscaler is not asked to move it).
 */
import type { ModelSpec } from '../../core/catalog/model-catalog';
import { WHOLE_GPU_PROFILE } from '../../core/mig/geometry';
import {
  ENGINE_PORT, GPU_PRODUCT_LABEL, HF_TOKEN_SECRET, HF_TOKEN_SECRET_KEY, HOSTNAME_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE, MAX_SCALE_ANNOTATION,
  MIN_SCALE_ANNOTATION, MODEL_SERVICE_LABEL, REPLICA_ANNOTATIONS, REPLICA_LABEL, SSIS_REVISION_LABEL, WHOLE_GPU_RESOURCE, gpuProductLabelValue,
  migResourceName,
} from './contract';
import type { RevisionTemplate } from './knative-objects';

/** Which inference server a replica runs, and how it is told its model and batch limit. */
export interface EngineImage {
  readonly kind: 'vllm' | 'tgi';
  readonly image: string;
}

/** vLLM's OpenAI-compatible server; pin by digest per environment. */
export const DEFAULT_ENGINE: EngineImage = { kind: 'vllm', image: 'vllm/vllm-openai:v0.11.0' };

export interface ReplicaPlacement {
  readonly service: string;
  readonly revision: string;
  readonly replica: string;
  readonly sliceId: string;
  readonly node: string;
  readonly gpu: number;
  readonly profile: string;
  readonly gpuModel: string;
  readonly decisionId: string;
  readonly maxBatchSize?: number;
}

function engineArgs(engine: EngineImage, spec: ModelSpec, maxBatchSize: number): string[] {
  if (engine.kind === 'tgi') {
    return ['--model-id', spec.modelId, '--port', String(ENGINE_PORT), '--max-concurrent-requests', String(maxBatchSize), '--max-total-tokens', String(spec.maxModelLen)];
  }
  return [
    '--model', spec.modelId, '--port', String(ENGINE_PORT), '--max-num-seqs', String(maxBatchSize),
    '--max-model-len', String(spec.maxModelLen), '--gpu-memory-utilization', String(spec.gpuMemoryUtilization),
  ];
}

/** `spec.template` of the Knative Service for one replica. */
export function replicaTemplate(placement: ReplicaPlacement, spec: ModelSpec, engine: EngineImage = DEFAULT_ENGINE): RevisionTemplate {
  const resource = placement.profile === WHOLE_GPU_PROFILE ? WHOLE_GPU_RESOURCE : migResourceName(placement.profile);
  return {
    metadata: {
      name: placement.replica,
      labels: {
        [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
        [MODEL_SERVICE_LABEL]: placement.service,
        [SSIS_REVISION_LABEL]: placement.revision,
        [REPLICA_LABEL]: placement.replica,
      },
      annotations: {
        [MIN_SCALE_ANNOTATION]: '1',
        [MAX_SCALE_ANNOTATION]: '1',
        [REPLICA_ANNOTATIONS.slice]: placement.sliceId,
        [REPLICA_ANNOTATIONS.node]: placement.node,
        [REPLICA_ANNOTATIONS.gpu]: String(placement.gpu),
        [REPLICA_ANNOTATIONS.profile]: placement.profile,
        [REPLICA_ANNOTATIONS.gpuModel]: placement.gpuModel,
        [REPLICA_ANNOTATIONS.decisionId]: placement.decisionId,
        [REPLICA_ANNOTATIONS.modelId]: spec.modelId,
      },
    },
    spec: {
      containers: [
        {
          name: 'engine',
          image: engine.image,
          args: engineArgs(engine, spec, placement.maxBatchSize ?? spec.maxBatchSize),
          ports: [{ containerPort: ENGINE_PORT }],
          env: [{ name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: HF_TOKEN_SECRET, key: HF_TOKEN_SECRET_KEY, optional: true } } }],
          resources: { limits: { [resource]: '1' } },
        },
      ],
      nodeSelector: { [HOSTNAME_LABEL]: placement.node, [GPU_PRODUCT_LABEL]: gpuProductLabelValue(placement.gpuModel) },
    },
  };
}
