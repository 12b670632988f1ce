/**
 * Fake GPU nodes: KWOK plays the kubelet of a Node annotated `kwok.x-k8s.io/node=fake` (it turns
 * Ready and keeps its heartbeat; pods bound to it get an IP and run), and the real kube-scheduler
 * places pods by the MIG extended resources the Node advertises, as the GPU operator's device
 * plugin would publish them.
 */
import { expect } from 'chai';
import { CoreV1Api, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { KWOK_NODE_ANNOTATION, type LocalControlPlane } from '../../../infra/kubernetes/local-control-plane';
import { ensureServiceAccount } from '../../../infra/kubernetes/service-accounts';
import { sharedControlPlane, waitFor } from './control-plane-fixture';

const MIG_1G = 'nvidia.com/mig-1g.5gb';
const NAMESPACE = 'kwok-probe';

function gpuNode(name: string): V1Node {
  const resources = { cpu: '32', memory: '256Gi', pods: '110', [MIG_1G]: '7' };
  return {
    metadata: {
      name,
      annotations: { [KWOK_NODE_ANNOTATION]: 'fake' },
      labels: { 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-40GB', 'nvidia.com/mig.config': 'all-1g.5gb' },
    },
    // A kubelet registers its Node with capacity in the status; the API server keeps it on create.
    status: { capacity: resources, allocatable: resources },
  };
}

function migPod(name: string): V1Pod {
  return {
    // KWOK's stages wait 1 s plus up to 5 s of jitter before each step (create, ready, delete);
    // without the jitter the test takes half as long and still goes through every step.
    metadata: { name, namespace: NAMESPACE, annotations: Object.fromEntries(['pod-create', 'pod-ready', 'pod-delete'].map((stage) => [`${stage}.stage.kwok.x-k8s.io/jitter-delay`, '0s'])) },
    spec: {
      // As an SSIS revision selects nodes by their MIG layout.
      nodeSelector: { 'nvidia.com/mig.config': 'all-1g.5gb' },
      containers: [{ name: 'vllm', image: 'vllm/vllm-openai', resources: { limits: { [MIG_1G]: '1' } } }],
    },
  };
}

const ready = (node: V1Node): boolean => (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

describe('local control plane: KWOK GPU nodes and the real scheduler', function () {
  this.timeout(120_000);
  let plane: LocalControlPlane;
  let core: CoreV1Api;

  before(async () => {
    plane = await sharedControlPlane();
    core = plane.kubeConfig().makeApiClient(CoreV1Api);
    // No kube-controller-manager: the `default` account pods run as must be made by hand.
    await ensureServiceAccount(plane.kubeConfig(), NAMESPACE, 'default');
  });

  it(`turns a Node annotated ${KWOK_NODE_ANNOTATION}=fake Ready, keeping its ${MIG_1G} allocatable`, async () => {
    await core.createNode({ body: gpuNode('gpu-node-1') });
    const node = await waitFor('gpu-node-1 Ready', async () => {
      const current = await core.readNode({ name: 'gpu-node-1' });
      return ready(current) ? current : undefined;
    }, 60_000);
    expect(node.status?.allocatable?.[MIG_1G]).to.equal('7');
    expect(node.spec?.taints ?? [], 'no not-ready taint left without a node lifecycle controller').to.deep.equal([]);
  });

  it('leaves a Node without the annotation alone', async () => {
    await core.createNode({ body: { metadata: { name: 'plain-node' } } });
    await new Promise((r) => setTimeout(r, 3000));
    expect(ready(await core.readNode({ name: 'plain-node' }))).to.equal(false);
  });

  it('schedules pods by the MIG resource: seven 1g.5gb pods run on the node, the eighth stays Pending', async () => {
    await waitFor('gpu-node-1 Ready', async () => (ready(await core.readNode({ name: 'gpu-node-1' })) ? true : undefined), 60_000);
    const names = Array.from({ length: 8 }, (_, i) => `vllm-${i + 1}`);
    for (const name of names) await core.createNamespacedPod({ namespace: NAMESPACE, body: migPod(name) });

    const pods = await waitFor('seven pods Running and one unschedulable', async () => {
      const items = (await core.listNamespacedPod({ namespace: NAMESPACE })).items;
      const runningPods = items.filter((p) => p.status?.phase === 'Running');
      const unschedulable = items.filter((p) => p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable'));
      return runningPods.length === 7 && unschedulable.length === 1 ? { runningPods, unschedulable } : undefined;
    }, 90_000);
    for (const pod of pods.runningPods) {
      expect(pod.spec?.nodeName).to.equal('gpu-node-1');
      expect(pod.status?.podIP, 'KWOK assigns a pod IP').to.be.a('string');
    }
    expect(pods.unschedulable[0]?.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message).to.match(/Insufficient nvidia\.com\/mig-1g\.5gb/);

    // Freeing a slice lets the pending pod in: KWOK finishes the deletion the kubelet would.
    await core.deleteNamespacedPod({ namespace: NAMESPACE, name: pods.runningPods[0]!.metadata!.name! });
    const pendingName = pods.unschedulable[0]!.metadata!.name!;
    await waitFor(`${pendingName} Running`, async () => ((await core.readNamespacedPod({ namespace: NAMESPACE, name: pendingName })).status?.phase === 'Running' ? true : undefined), 90_000);
  });
});
