/**
 * knative/rbac.yaml enforced by a real API server: applied for real, then used through a bound
 * ServiceAccount token (TokenRequest, signed by the API server's key, as a function's projected
 * token is in a cluster). What the ClusterRole grants succeeds; anything else is refused with 403.
 */
import { expect } from 'chai';
import { AuthenticationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { createIfAbsent, isApiStatus } from '../../../infra/kubernetes/api-status';
import { loadKubeConfig } from '../../../infra/kubernetes/kubeconfig';
import type { LocalControlPlane } from '../../../infra/kubernetes/local-control-plane';
import { ensureNamespace } from '../../../infra/kubernetes/service-accounts';
import { kubectl, sharedControlPlane } from './control-plane-fixture';

const MODELS = 'ssis';
const KSVC = { group: 'serving.knative.dev', version: 'v1', plural: 'services' } as const;
const TRIGGERS = { group: 'eventing.knative.dev', version: 'v1', plural: 'triggers' } as const;

/** The HTTP status the API server refused `call` with; fails when it was allowed. */
async function refusal(call: () => Promise<unknown>): Promise<number> {
  try {
    await call();
  } catch (err) {
    for (const code of [401, 403, 404]) if (isApiStatus(err, code)) return code;
    throw err;
  }
  throw new Error('the call was allowed');
}

describe('local control plane: knative/rbac.yaml enforced by kube-apiserver', function () {
  this.timeout(120_000);
  let plane: LocalControlPlane;
  let admin: KubeConfig;
  let controller: KubeConfig;

  before(async () => {
    plane = await sharedControlPlane();
    admin = plane.kubeConfig();
    await ensureNamespace(admin, 'ssis');
    await ensureNamespace(admin, 'gpu-operator');
    const applied = kubectl(plane, ['apply', '-f', 'knative/rbac.yaml']);
    expect(applied.status, applied.stderr).to.equal(0);

    // Something for the controller to read: a model's Knative Service in the models namespace, and a
    // Secret it must not touch.
    await ensureNamespace(admin, MODELS);
    await admin.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      ...KSVC,
      namespace: MODELS,
      body: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'rbac-probe-model', namespace: MODELS }, spec: { template: { spec: { containers: [{ image: 'vllm/vllm-openai' }] } } } },
    });
    await createIfAbsent(() => admin.makeApiClient(CoreV1Api).createNamespacedSecret({ namespace: MODELS, body: { metadata: { name: 'hf-token' }, stringData: { token: 'not-a-real-token' } } }));
    await admin.makeApiClient(CoreV1Api).createNode({ body: { metadata: { name: 'rbac-probe-node' } } });

    const sa = await plane.serviceAccountKubeconfig('ssis', 'ssis-controller', { expirationSeconds: 600 });
    controller = loadKubeConfig(sa.kubeconfigPath);
  });

  it('authenticates the token as the ServiceAccount of rbac.yaml', async () => {
    const review = await controller.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
    expect(review.status?.userInfo?.username).to.equal('system:serviceaccount:ssis:ssis-controller');
    expect(review.status?.userInfo?.groups).to.include('system:serviceaccounts:ssis');
  });

  it('allows what the roles grant: Knative Services, Revisions and pods of the models namespace, nodes', async () => {
    const ksvc = (await controller.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ ...KSVC, namespace: MODELS, name: 'rbac-probe-model' })) as { metadata?: { name?: string } };
    expect(ksvc.metadata?.name).to.equal('rbac-probe-model');
    await controller.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({ ...KSVC, plural: 'revisions', namespace: MODELS });
    const core = controller.makeApiClient(CoreV1Api);
    expect((await core.listNode()).items.map((n) => n.metadata?.name)).to.include('rbac-probe-node');
    await core.listNamespacedPod({ namespace: MODELS });
    // reconfigure's one write on nodes: the GPU operator's MIG layout label.
    const patched = await core.patchNode({ name: 'rbac-probe-node', body: [{ op: 'add', path: '/metadata/labels', value: { 'nvidia.com/mig.config': 'all-balanced' } }] });
    expect(patched.metadata?.labels?.['nvidia.com/mig.config']).to.equal('all-balanced');
  });

  it('grants nothing outside the models namespace but nodes: other namespaces\' pods and Services, Triggers', async () => {
    const core = controller.makeApiClient(CoreV1Api);
    const custom = controller.makeApiClient(CustomObjectsApi);
    expect(await refusal(() => core.listPodForAllNamespaces()), 'pods cluster-wide (their env would show)').to.equal(403);
    expect(await refusal(() => core.listNamespacedPod({ namespace: 'kube-system' })), 'pods of another namespace').to.equal(403);
    expect(await refusal(() => custom.listNamespacedCustomObject({ ...KSVC, namespace: 'kube-system' })), 'Knative Services of another namespace').to.equal(403);
    expect(await refusal(() => custom.listNamespacedCustomObject({ ...TRIGGERS, namespace: 'ssis' })), 'Triggers: routing is not the functions\' business').to.equal(403);
  });

  it('refuses with 403 what it does not grant', async () => {
    const core = controller.makeApiClient(CoreV1Api);
    expect(await refusal(() => core.readNamespacedSecret({ namespace: MODELS, name: 'hf-token' })), 'read a Secret').to.equal(403);
    expect(await refusal(() => core.deleteNamespacedSecret({ namespace: MODELS, name: 'hf-token' })), 'delete a Secret').to.equal(403);
    expect(await refusal(() => core.deleteNode({ name: 'rbac-probe-node' })), 'delete a node (only patch is granted)').to.equal(403);
    const rbac = controller.makeApiClient(RbacAuthorizationV1Api);
    expect(await refusal(() => rbac.createClusterRole({ body: { metadata: { name: 'ssis-escalate' }, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] } })), 'create a ClusterRole').to.equal(403);
    const custom = controller.makeApiClient(CustomObjectsApi);
    expect(await refusal(() => custom.deleteNamespacedCustomObject({ ...TRIGGERS, namespace: 'ssis', name: 'ssis-evaluate' })), 'delete a Trigger (routing is read-only)').to.equal(403);
    // The Secret is still there: the refusal came from authorization, not from a missing object.
    expect((await admin.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace: MODELS, name: 'hf-token' })).metadata?.name).to.equal('hf-token');
  });

  it('allows the service records in ssis and the one mig-parted ConfigMap of the GPU operator, nothing more', async () => {
    const core = controller.makeApiClient(CoreV1Api);
    await createIfAbsent(() => core.createNamespacedConfigMap({ namespace: 'ssis', body: { metadata: { name: 'ssis-service-rbac-probe' }, data: { modelId: 'x' } } }));
    const record = await core.readNamespacedConfigMap({ namespace: 'ssis', name: 'ssis-service-rbac-probe' });
    await core.replaceNamespacedConfigMap({ namespace: 'ssis', name: 'ssis-service-rbac-probe', body: { ...record, data: { modelId: 'y' } } });
    expect(await refusal(() => core.deleteNamespacedConfigMap({ namespace: 'ssis', name: 'ssis-service-rbac-probe' })), 'delete a record').to.equal(403);
    // Another suite of this run may have made it already, through reconfigure.
    await createIfAbsent(() => core.createNamespacedConfigMap({ namespace: 'gpu-operator', body: { metadata: { name: 'ssis-mig-parted-config' }, data: { 'config.yaml': 'version: v1' } } }));
    const migConfig = await core.readNamespacedConfigMap({ namespace: 'gpu-operator', name: 'ssis-mig-parted-config' });
    await core.replaceNamespacedConfigMap({ namespace: 'gpu-operator', name: 'ssis-mig-parted-config', body: { ...migConfig, data: { 'config.yaml': 'version: v1\nmig-configs: {}' } } });
    await createIfAbsent(() => admin.makeApiClient(CoreV1Api).createNamespacedConfigMap({ namespace: 'gpu-operator', body: { metadata: { name: 'default-mig-parted-config' }, data: {} } }));
    expect(await refusal(() => core.readNamespacedConfigMap({ namespace: 'gpu-operator', name: 'default-mig-parted-config' })), "read the operator's other ConfigMaps").to.equal(403);
    expect(await refusal(() => core.listNamespacedConfigMap({ namespace: 'gpu-operator' })), 'list the operator namespace').to.equal(403);
  });

  it('the ingress account reads the cluster and writes only records: no Knative writes, no node patch', async () => {
    const ingress = loadKubeConfig((await plane.serviceAccountKubeconfig('ssis', 'ssis-ingress', { expirationSeconds: 600 })).kubeconfigPath);
    const core = ingress.makeApiClient(CoreV1Api);
    const custom = ingress.makeApiClient(CustomObjectsApi);
    await core.listNode();
    await custom.getNamespacedCustomObject({ ...KSVC, namespace: MODELS, name: 'rbac-probe-model' });
    await createIfAbsent(() => core.createNamespacedConfigMap({ namespace: MODELS, body: { metadata: { name: 'ssis-service-ingress-probe' }, data: { modelId: 'x' } } }));
    expect(await refusal(() => core.patchNode({ name: 'rbac-probe-node', body: [{ op: 'add', path: '/metadata/labels', value: { 'nvidia.com/mig.config': 'x' } }] })), 'patch a node').to.equal(403);
    expect(await refusal(() => custom.createNamespacedCustomObject({ ...KSVC, namespace: MODELS, body: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'forged' }, spec: { template: { spec: { containers: [{ image: 'x' }] } } } } })), 'create a Knative Service').to.equal(403);
    expect(await refusal(() => custom.deleteNamespacedCustomObject({ ...KSVC, namespace: MODELS, name: 'rbac-probe-model' })), 'delete a Knative Service').to.equal(403);
    expect(await refusal(() => core.readNamespacedConfigMap({ namespace: 'gpu-operator', name: 'ssis-mig-parted-config' })), "the operator's mig-parted config").to.equal(403);
  });

  it('refuses an unknown token with 401', async () => {
    const forged = new KubeConfig();
    forged.loadFromOptions({
      clusters: admin.clusters,
      users: [{ name: 'forged', token: 'forged-token' }],
      contexts: [{ name: 'forged', cluster: admin.clusters[0]!.name, user: 'forged' }],
      currentContext: 'forged',
    });
    expect(await refusal(() => forged.makeApiClient(CoreV1Api).listNode())).to.equal(401);
  });
});
