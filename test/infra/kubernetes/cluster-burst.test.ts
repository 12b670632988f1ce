/**
 * A load burst in cluster mode, closed loop: requests through the ingress, the sample function
 * scraping the replicas the Kubernetes adapter lists, the inferno policy deciding more capacity,
 * reconfigure and rollout carrying it out on the REAL local kube-apiserver (STAND-INS for the GPU
 * operator's mig-manager and Knative Serving, as in cluster-mode.test.ts). No decision is
 * injected: the load makes it.
 */
import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { SsisConfiguration } from '../../../infra/config/from-configmaps';
import type { ScaleDecided } from '../../../events/scale-decided';
import { kubeCluster } from '../../../app/kube-stack';
import { startEmbeddedStack, type RunningStack } from '../../../app/embedded-stack';
import type { LocalControlPlane } from '../../../infra/kubernetes/local-control-plane';
import { createJsonLogger } from '../../../infra/logging/json-logger';
import { ROOT, gpt2, postJson } from '../../e2e/helpers';
import { clearModels, sharedControlPlane, waitFor } from './control-plane-fixture';

const NS = 'ssis';
const NODE = 'gpu-node-burst';

/** The shipped configuration with windows that fit a test (as the embedded e2e suite does). */
function fast(c: SsisConfiguration): SsisConfiguration {
  return {
    ...c,
    ssis: { ...c.ssis, sampler: { windowSec: 4 }, scaler: { ...c.ssis.scaler, stabilizationWindowSec: 4, upCooldownSec: 3 } },
    autoscaler: new Map([...c.autoscaler].map(([k, rules]) => [k, rules.map((r) => ({ ...r, query: r.query.replaceAll('[20s]', '[4s]') }))])),
  };
}

describe('cluster mode: a burst scales gpt2 out through Kubernetes', function () {
  this.timeout(180_000);
  let plane: LocalControlPlane;
  let stack: RunningStack;

  before(async () => {
    plane = await sharedControlPlane();
    await clearModels(plane, NS, [NODE]);
    stack = await startEmbeddedStack({
      knativeDir: join(ROOT, 'knative'),
      stateDir: mkdtempSync(join(tmpdir(), 'ssis-cluster-burst-')),
      ingressPort: 0,
      logger: createJsonLogger({ level: 'warn', base: { test: 'cluster-burst' } }),
      sampleEverySec: 1,
      configure: fast,
      cluster: kubeCluster({ plane, nodes: [{ name: NODE, gpus: [{ model: 'A100-SXM4-40GB', count: 1 }] }], loadTimeScale: 0.2 }),
    });
  });
  after(async () => {
    await stack?.stop();
    await clearModels(plane, NS, [NODE]);
  });

  it('decides more capacity from the measured load, rolls it out as Knative Revisions, and loses no request', async () => {
    expect((await postJson(stack.ingressUrl, gpt2('warm up', 4))).status).to.equal(200);
    const decisions = (): ScaleDecided[] => stack.broker.events().filter((e) => e.event.type === 'ssis.scale.decided').map((e) => e.event.data as ScaleDecided);
    const rolledOut = (id: string): boolean => stack.broker.events().some((e) => e.event.type === 'ssis.rollout.completed' && (e.event.data as { decisionId: string }).decisionId === id);
    const results: number[] = [];
    let stop = false;
    const client = async (): Promise<void> => {
      while (!stop) results.push((await postJson(stack.ingressUrl, gpt2('Explain the transformer architecture in detail', 20))).status);
    };
    const clients = Array.from({ length: 24 }, () => client());
    let more: ScaleDecided;
    try {
      more = await waitFor('an inferno scale-up or scale-out', () => decisions().find((d) => d.policy === 'inferno' && (d.action === 'up' || d.action === 'out')), 90_000);
      await waitFor('its rollout', () => (rolledOut(more.decisionId) ? true : undefined), 90_000);
      await new Promise((res) => setTimeout(res, 2000));
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    expect(more.reason).to.match(/^inferno: 1× 1g\.5gb → \d+× \S+ on A100-SXM4-40GB/);
    const custom = plane.kubeConfig().makeApiClient(CustomObjectsApi);
    const service = (await custom.getNamespacedCustomObject({ group: 'serving.knative.dev', version: 'v1', namespace: NS, plural: 'services', name: 'gpt2' })) as { spec: { traffic: { revisionName: string; percent: number }[] } };
    const serving = service.spec.traffic.filter((t) => t.percent > 0);
    expect(serving.length, JSON.stringify(service.spec.traffic)).to.equal(more.target.replicas);
    expect(serving.reduce((sum, t) => sum + t.percent, 0)).to.equal(100);
    expect(results.length).to.be.greaterThan(50);
    expect(results.filter((s) => s !== 200), 'every accepted request answered 200 across the change').to.deep.equal([]);
  });
});
