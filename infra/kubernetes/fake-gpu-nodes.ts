/**
 * GPU nodes for the local control plane, as KWOK-managed Nodes (a stand-in for real GPU machines
 * and their kubelets): each carries what gpu-feature-discovery and the GPU operator would put on
 * it — product and count labels, the mixed MIG strategy, MIG mode on with no instance yet
 * (mig-parted's `all-enabled`, state success; the simulated cluster starts its GPUs the same way).
 * The mig-manager stand-in then changes what it advertises as SSIS repartitions.
 */
import { CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import type { SimulatedNodeConfig } from '../../core/config/ssis-config';
import { SsisError } from '../../core/errors';
import { getGpuModel } from '../../core/mig/geometry';
import { MIG_CONFIG_LABEL } from '../../core/mig/mig-parted';
import { createIfAbsent } from './api-status';
import {
  GPU_COUNT_LABEL, GPU_PRODUCT_LABEL, HOSTNAME_LABEL, MIG_CONFIG_STATE_LABEL, MIG_STRATEGY_LABEL, gpuProductLabelValue,
} from './contract';
import { KWOK_NODE_ANNOTATION } from './local-control-plane';

export function fakeGpuNode(config: SimulatedNodeConfig): V1Node {
  const [gpus, ...others] = config.gpus;
  if (gpus === undefined || others.length > 0) {
    throw new SsisError('SSIS_INVALID_CONFIG', `node ${config.name}: a Kubernetes node has GPUs of one product, got ${config.gpus.length}`, { issues: [{ field: `nodes.${config.name}`, message: 'one GPU model per node' }] });
  }
  const model = getGpuModel(gpus.model).name;
  // In MIG mode (mixed strategy) a GPU is advertised only through its instances: none yet.
  const resources = { cpu: '64', memory: '512Gi', pods: '110' };
  return {
    metadata: {
      name: config.name,
      annotations: { [KWOK_NODE_ANNOTATION]: 'fake' },
      labels: {
        [HOSTNAME_LABEL]: config.name,
        [GPU_PRODUCT_LABEL]: gpuProductLabelValue(model),
        [GPU_COUNT_LABEL]: String(gpus.count),
        [MIG_STRATEGY_LABEL]: 'mixed',
        [MIG_CONFIG_LABEL]: 'all-enabled',
        [MIG_CONFIG_STATE_LABEL]: 'success',
      },
    },
    // A kubelet registers its Node with capacity in the status; the API server keeps it on create.
    status: { capacity: resources, allocatable: resources },
  };
}

/** Creates the nodes that do not exist yet (a restart keeps the ones there, with their MIG state). */
export async function ensureFakeGpuNodes(kc: KubeConfig, nodes: readonly SimulatedNodeConfig[]): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  for (const node of nodes) await createIfAbsent(() => core.createNode({ body: fakeGpuNode(node) }));
}
