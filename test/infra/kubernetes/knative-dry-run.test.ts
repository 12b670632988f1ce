/**
 * The deployment contract against a real API server: `kubectl apply --dry-run=server -k knative/`
 * with the real Knative CRDs installed, so every object is admitted by kube-apiserver's own
 * validation (OpenAPI schemas, strict field validation, ObjectMeta, RBAC objects) rather than by a
 * re-implementation of it. Knative's own webhooks do not run here (see README "Local control plane").
 */
import { expect } from 'chai';
import { ApiextensionsV1Api } from '@kubernetes/client-node';
import type { LocalControlPlane } from '../../../infra/kubernetes/local-control-plane';
import { loadKnativeCrds } from '../../../infra/kubernetes/knative-crds';
import { ensureNamespace } from '../../../infra/kubernetes/service-accounts';
import { kubectl, sharedControlPlane } from './control-plane-fixture';

describe('local control plane: knative/ against a real kube-apiserver', function () {
  this.timeout(120_000);
  let plane: LocalControlPlane;

  before(async () => {
    plane = await sharedControlPlane();
    // Namespaced objects of a server dry run need their namespace to exist for real.
    await ensureNamespace(plane.kubeConfig(), 'ssis');
    await ensureNamespace(plane.kubeConfig(), 'gpu-operator');
  });

  it('serves every Knative CRD of shared/reference/knative-crds, Established, webhook conversion replaced by None', async () => {
    const api = plane.kubeConfig().makeApiClient(ApiextensionsV1Api);
    const served = (await api.listCustomResourceDefinition()).items;
    const expected = loadKnativeCrds().map((crd) => crd.metadata?.name);
    expect(expected).to.have.length(26);
    expect(served.map((crd) => crd.metadata?.name).sort()).to.deep.equal([...expected].sort());
    for (const crd of served) {
      expect(crd.status?.conditions?.find((c) => c.type === 'Established')?.status, crd.metadata?.name).to.equal('True');
      expect(crd.spec.conversion?.strategy ?? 'None', crd.metadata?.name).to.equal('None');
    }
  });

  it('kubectl apply --dry-run=server -k knative/ admits every rendered object', () => {
    const rendered = kubectl(plane, ['kustomize', 'knative/']);
    expect(rendered.status, rendered.stderr).to.equal(0);
    const objects = rendered.stdout.split(/^---$/m).filter((doc) => /^kind:/m.test(doc)).length;

    const run = kubectl(plane, ['apply', '--dry-run=server', '-k', 'knative/']);
    expect(run.status, `${run.stdout}\n${run.stderr}`).to.equal(0);
    const admitted = run.stdout.split('\n').filter((line) => line.endsWith('(server dry run)'));
    expect(admitted, run.stdout).to.have.length(objects);
    expect(run.stderr).to.not.match(/error/i);
  });

  it('refuses what the Knative schemas forbid (the dry run really validates)', () => {
    // nodeName is a PodSpec field outside the subset Knative Serving's schema allows.
    const service = [
      'apiVersion: serving.knative.dev/v1',
      'kind: Service',
      'metadata: {name: ssis-probe, namespace: ssis}',
      'spec:',
      '  template:',
      '    spec:',
      '      nodeName: gpu-node-1',
      '      containers: [{image: ssis-functions}]',
      '',
    ].join('\n');
    const run = kubectl(plane, ['apply', '--dry-run=server', '-f', '-'], { input: service });
    expect(run.status).to.not.equal(0);
    expect(run.stderr).to.match(/unknown field "spec\.template\.spec\.nodeName"/);

    // KafkaSource at its storage version, without the required bootstrapServers and topics.
    const source = ['apiVersion: sources.knative.dev/v1beta1', 'kind: KafkaSource', 'metadata: {name: ssis-probe, namespace: ssis}', 'spec:', '  sink: {ref: {apiVersion: v1, kind: Service, name: x}}', ''].join('\n');
    const refused = kubectl(plane, ['apply', '--dry-run=server', '-f', '-'], { input: source });
    expect(refused.status).to.not.equal(0);
    expect(refused.stderr).to.match(/bootstrapServers: Required value/);
  });
});
