/**
 * The local control plane mode (`ssis start --kube`): the same stack, but the functions act on a
 * real kube-apiserver through the Kubernetes cluster adapter, authenticated as the
 * ServiceAccount of knative/rbac.yaml. What cannot run here is stood in: KWOK GPU nodes (no
 * kubelet, no GPUs), the GPU operator's mig-manager, Knative Serving's controller with an
 * emulated inference server per ready replica. `kubectl get ksvc,revisions,nodes -L
 * nvidia.com/mig.config` against the printed kubeconfig shows SSIS at work.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Logger } from '../core/common/ports';
import type { SimulatedNodeConfig } from '../core/config/ssis-config';
import { SsisError } from '../core/errors';
import type { SsisConfiguration } from '../infra/config/from-configmaps';
import { KubernetesCluster } from '../infra/kubernetes/cluster-port';
import { GPU_OPERATOR_NAMESPACE } from '../infra/kubernetes/contract';
import { ensureFakeGpuNodes } from '../infra/kubernetes/fake-gpu-nodes';
import { loadKubeConfig } from '../infra/kubernetes/kubeconfig';
import { startLocalControlPlane, type LocalControlPlane } from '../infra/kubernetes/local-control-plane';
import { ensureNamespace, ensureServiceAccount } from '../infra/kubernetes/service-accounts';
import { KnativeServingStandIn } from '../infra/kubernetes/stand-ins/knative-serving';
import { MigManagerStandIn } from '../infra/kubernetes/stand-ins/mig-manager';
import { PROJECT_ROOT } from '../infra/project-root';
import type { StackCluster } from './embedded-stack';

export interface KubeClusterOptions {
  readonly nodes: readonly SimulatedNodeConfig[];
  /** Multiplies model load times of the emulated replicas (tests use a small factor). */
  readonly loadTimeScale?: number;
  /** Fails the mig-manager stand-in's apply of these configs (tests of the failure path). */
  readonly failMigConfigs?: (configName: string, node: string) => boolean;
  /** Use this running plane instead of starting one (tests share one per run). */
  readonly plane?: LocalControlPlane;
}

/** What the stand-ins need as the cluster's own components, and the account the functions run as. */
async function prepareCluster(plane: LocalControlPlane, namespace: string): Promise<void> {
  const admin = plane.kubeConfig();
  await ensureNamespace(admin, namespace);
  await ensureNamespace(admin, GPU_OPERATOR_NAMESPACE);
  // Pods run as their namespace's `default` account; without kube-controller-manager nobody makes it.
  await ensureServiceAccount(admin, namespace, 'default');
  const applied = spawnSync(plane.binaries.kubectl, [`--kubeconfig=${plane.kubeconfigPath}`, 'apply', '-f', join(PROJECT_ROOT, 'knative', 'rbac.yaml')], { encoding: 'utf8' });
  if (applied.status !== 0) throw new SsisError('SSIS_CONTROL_PLANE_START_FAILED', `kubectl apply -f knative/rbac.yaml failed: ${applied.stderr}`);
}

/**
 * A cluster factory for startEmbeddedStack: starts (or reuses) the plane, its GPU nodes and the
 * stand-ins, and connects the adapter as `ssis:ssis-controller`. Stopping the cluster stops what
 * this started.
 */
export function kubeCluster(opts: KubeClusterOptions): (configuration: SsisConfiguration, logger: Logger) => Promise<StackCluster> {
  return async (configuration, logger) => {
    const ownsPlane = opts.plane === undefined;
    const plane = opts.plane ?? (await startLocalControlPlane({}));
    try {
      const namespace = configuration.ssis.namespace;
      await prepareCluster(plane, namespace);
      await ensureFakeGpuNodes(plane.kubeConfig(), opts.nodes);
      const migManager = await new MigManagerStandIn({
        kubeConfig: plane.kubeConfig(),
        logger: logger.child({ standIn: 'mig-manager' }),
        ...(opts.failMigConfigs ? { failConfigs: opts.failMigConfigs } : {}),
      }).start();
      const serving = await new KnativeServingStandIn({
        kubeConfig: plane.kubeConfig(),
        namespace,
        catalog: configuration.catalog,
        loadTimeScale: opts.loadTimeScale ?? configuration.ssis.cluster.loadTimeScale,
        logger: logger.child({ standIn: 'knative-serving' }),
      }).start();
      const sa = await plane.serviceAccountKubeconfig('ssis', 'ssis-controller');
      const adapter = await KubernetesCluster.connect({
        kubeConfig: loadKubeConfig(sa.kubeconfigPath),
        namespace,
        catalog: configuration.catalog,
        logger,
        onShutdown: async () => {
          await serving.stop();
          await migManager.stop();
          if (ownsPlane) await plane.stop();
        },
      });
      return Object.assign(adapter, { kubeconfigPath: plane.kubeconfigPath });
    } catch (err) {
      if (ownsPlane) await plane.stop();
      throw err;
    }
  };
}
