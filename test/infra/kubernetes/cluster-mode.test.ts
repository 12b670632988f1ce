/**
 * Cluster mode end to end against the REAL local control plane: the whole stack (ingress,
 * broker, the five functions) with the Kubernetes cluster adapter, authenticated as the
 * ServiceAccount of knative/rbac.yaml (a bound token; RBAC enforced by kube-apiserver). STAND-INS
 * for what cannot run here, as the adapter would meet them in a cluster: KWOK GPU nodes, the GPU
 * operator's mig-manager, Knative Serving's controller with an emulated inference server per
 * ready replica. The real kube-scheduler binds each replica's pod by its MIG resource.
 */
import { expect } from 'chai';
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1ConfigMap, type V1Node } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { sequentialIds } from '../../../core/common/ports';
import { createEvent } from '../../../events/create';
import type { PlacementFailed } from '../../../events/placement-failed';
import type { SsisEvent } from '../../../events/envelope';
import { SCALE_DECIDED, type ScaleDecided } from '../../../events/scale-decided';
import { kubeCluster } from '../../../app/kube-stack';
import { startEmbeddedStack, type RunningStack } from '../../../app/embedded-stack';
import { KubernetesCluster } from '../../../infra/kubernetes/cluster-port';
import { withConflictRetry } from '../../../infra/kubernetes/conflict-retry';
import { MIG_CONFIG_STATE_LABEL, MIG_LAYOUT_ANNOTATION, MIG_PARTED_CONFIGMAP } from '../../../infra/kubernetes/contract';
import { loadKubeConfig } from '../../../infra/kubernetes/kubeconfig';
import type { LocalControlPlane } from '../../../infra/kubernetes/local-control-plane';
import { createJsonLogger } from '../../../infra/logging/json-logger';
import { ROOT, postJson, gpt2 } from '../../e2e/helpers';
import { clearModels, sharedControlPlane, waitFor } from './control-plane-fixture';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const NS = 'ssis';
const NODE = 'gpu-node-a';
const A100 = 'A100-SXM4-40GB';
const HF_TOKEN = 'hf_clusterModeSecret0123456789';
const KSVC = { group: 'serving.knative.dev', version: 'v1', namespace: NS };

interface Ksvc {
  spec: { template: { metadata: { name: string }; spec: { containers: { resources: { limits: Record<string, string> } }[]; nodeSelector: Record<string, string> } }; traffic: { revisionName: string; percent: number }[] };
}

describe('cluster mode: the functions drive a real kube-apiserver', function () {
  this.timeout(180_000);
  let plane: LocalControlPlane;
  let admin: KubeConfig;
  let stack: RunningStack;
  const failingNodes = new Set<string>();

  const ksvc = async (name: string): Promise<Ksvc | undefined> => {
    try {
      return (await admin.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ ...KSVC, plural: 'services', name })) as Ksvc;
    } catch {
      return undefined;
    }
  };
  const revisions = async (): Promise<{ metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[]> =>
    ((await admin.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({ ...KSVC, plural: 'revisions' })) as { items: { metadata: { name: string } }[] }).items;
  const node = (): Promise<V1Node> => admin.makeApiClient(CoreV1Api).readNode({ name: NODE });
  const generation = (): number => stack.cluster.getService('gpt2')?.generation ?? -1;
  const decision = (data: Omit<ScaleDecided, 'decidedAt' | 'policy' | 'reason'>): ReturnType<typeof createEvent> =>
    createEvent(SCALE_DECIDED, { ...data, policy: 'ssis-ladder', reason: 'test', decidedAt: new Date().toISOString() } satisfies ScaleDecided, {
      source: '/ssis/functions/evaluate', clock: { nowMs: () => Date.now() }, ids: sequentialIds('test-decision'),
    });

  before(async () => {
    plane = await sharedControlPlane();
    admin = plane.kubeConfig();
    await clearModels(plane, NS, [NODE]);
    stack = await startEmbeddedStack({
      knativeDir: join(ROOT, 'knative'),
      stateDir: mkdtempSync(join(tmpdir(), 'ssis-cluster-mode-')),
      ingressPort: 0,
      logger: createJsonLogger({ level: 'warn', base: { test: 'cluster-mode' } }),
      sampleEverySec: 3600, // decisions in this suite come from the test, not from load
      cluster: kubeCluster({ plane, nodes: [{ name: NODE, gpus: [{ model: A100, count: 1 }] }], loadTimeScale: 0.01, failMigConfigs: (_, n) => failingNodes.has(n) }),
    });
  });
  after(async () => {
    await stack?.stop();
    await clearModels(plane, NS, [NODE]);
  });

  it('cold-starts gpt2: a Knative Service on a 1g.5gb slice of the chosen node, the token only as a Secret reference', async () => {
    const reply = await postJson(stack.ingressUrl, gpt2('What is Deep Learning?', 8, { HF_TOKEN }));
    expect(reply.status, JSON.stringify(reply.body)).to.equal(200);
    expect(String(reply.body['generated_text'])).to.not.equal('');
    const service = (await ksvc('gpt2'))!;
    const container = service.spec.template.spec.containers[0]!;
    expect(container.resources.limits).to.deep.equal({ 'nvidia.com/mig-1g.5gb': '1' });
    expect(service.spec.template.spec.nodeSelector).to.deep.equal({ 'kubernetes.io/hostname': NODE, 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-40GB' });
    expect(service.spec.traffic).to.deep.equal([{ revisionName: service.spec.template.metadata.name, percent: 100 }]);
    // The token the client sent is nowhere in the cluster: not in the Service, its Revisions, Pods or records.
    const everything = JSON.stringify([
      service,
      await revisions(),
      await admin.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: NS }),
      await admin.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: NS }),
      await node(),
    ]);
    expect(everything).to.not.include(HF_TOKEN);
    expect(JSON.stringify(container)).to.include('secretKeyRef');
  });

  it('repartitioned through the GPU operator: mig-parted config, node label, state success, layout annotation with the owner', async () => {
    const n = await node();
    const label = n.metadata!.labels!['nvidia.com/mig.config']!;
    expect(n.metadata!.labels![MIG_CONFIG_STATE_LABEL]).to.equal('success');
    expect(n.status!.allocatable!['nvidia.com/mig-1g.5gb']).to.equal('1');
    const cm: V1ConfigMap = await admin.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace: 'gpu-operator', name: MIG_PARTED_CONFIGMAP });
    const config = parse(cm.data!['config.yaml']!) as { 'mig-configs': Record<string, unknown> };
    expect(config['mig-configs'][label]).to.deep.equal([{ devices: [0], 'mig-enabled': true, 'mig-devices': { '1g.5gb': 1 } }]);
    const layout = JSON.parse(n.metadata!.annotations![MIG_LAYOUT_ANNOTATION]!) as { instances: { profile: string; owner: string }[] }[];
    expect(layout[0]!.instances.map((i) => `${i.profile} ${i.owner}`)).to.deep.equal(['1g.5gb gpt2-00001-1']);
  });

  it('a tier change: a new Revision, 100 % on the old one until the new one is Ready, then shifted, the old deleted', async () => {
    const before = (await ksvc('gpt2'))!;
    const oldReplica = before.spec.traffic[0]!.revisionName;
    const from = generation();
    const snapshots: { traffic: string[]; ready: string[] }[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const [s, revs] = await Promise.all([ksvc('gpt2'), revisions()]);
        if (s) snapshots.push({ traffic: s.spec.traffic.map((t) => `${t.revisionName} ${t.percent}`), ready: revs.filter((r) => r.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((r) => r.metadata.name) });
        await new Promise((r) => setTimeout(r, 30));
      }
    })();
    await stack.broker.publish(decision({ decisionId: 'gpt2-up', service: 'gpt2', modelId: 'openai-community/gpt2', action: 'up', fromGeneration: from, current: { profile: '1g.5gb', gpuModel: A100, replicas: 1 }, target: { profile: '2g.10gb', gpuModel: A100, replicas: 1 } }));
    await waitFor('rollout completed', () => stack.broker.events().find((e) => e.event.type === 'ssis.rollout.completed' && (e.event.data as { decisionId: string }).decisionId === 'gpt2-up'), 60_000);
    watching = false;
    await watcher;
    const after = (await ksvc('gpt2'))!;
    const newReplica = after.spec.traffic[0]!.revisionName;
    expect(newReplica).to.not.equal(oldReplica);
    expect(after.spec.traffic).to.deep.equal([{ revisionName: newReplica, percent: 100 }]);
    expect(after.spec.template.spec.containers[0]!.resources.limits).to.deep.equal({ 'nvidia.com/mig-2g.10gb': '1' });
    // Make-before-break, as seen from outside: traffic names the new replica only once it is Ready.
    // (Before that it is referenced at 0 %, which keeps Knative from scaling it to zero.)
    for (const s of snapshots) if (s.traffic.some((t) => t.startsWith(`${newReplica} `) && !t.endsWith(' 0'))) expect(s.ready, JSON.stringify(s)).to.include(newReplica);
    expect(snapshots.some((s) => s.traffic.includes(`${newReplica} 0`)), 'the new replica was referenced at 0 % while it started').to.equal(true);
    expect(snapshots.some((s) => s.traffic.includes(`${oldReplica} 100`) && s.ready.includes(oldReplica)), 'the old replica served while the new one started').to.equal(true);
    await waitFor('old revision deleted', async () => ((await revisions()).some((r) => r.metadata.name === oldReplica) ? undefined : true), 30_000);
    expect((await postJson(stack.ingressUrl, gpt2('still serving?', 4))).status).to.equal(200);
  });

  it('a replayed decision changes nothing', async () => {
    const generationBefore = generation();
    const revisionsBefore = (await revisions()).map((r) => r.metadata.name).sort();
    const original = stack.broker.events().find((e) => e.event.type === SCALE_DECIDED && (e.event.data as ScaleDecided).decisionId === 'gpt2-up')!.event;
    await stack.broker.publish(original as SsisEvent);
    await stack.broker.idle();
    expect(generation()).to.equal(generationBefore);
    expect((await revisions()).map((r) => r.metadata.name).sort()).to.deep.equal(revisionsBefore);
  });

  it('mig.config.state=failed ends the decision with ssis.placement.failed, and the service keeps serving', async () => {
    const before = await node();
    const labelBefore = before.metadata!.labels!['nvidia.com/mig.config'];
    const layoutBefore = before.metadata!.annotations![MIG_LAYOUT_ANNOTATION]!;
    const ownersBefore = stack.cluster.gpus().flatMap((g) => g.instances.map((i) => i.owner));
    failingNodes.add(NODE);
    try {
      const from = generation();
      await stack.broker.publish(decision({ decisionId: 'gpt2-out', service: 'gpt2', modelId: 'openai-community/gpt2', action: 'out', fromGeneration: from, current: { profile: '2g.10gb', gpuModel: A100, replicas: 1 }, target: { profile: '2g.10gb', gpuModel: A100, replicas: 2 } }));
      const failed = await waitFor('placement-failed', () => stack.broker.events().find((e) => e.event.type === 'ssis.placement.failed' && (e.event.data as PlacementFailed).decisionId === 'gpt2-out')?.event.data as PlacementFailed | undefined, 60_000);
      expect(failed.reason).to.match(/mig\.config\.state=failed/);
      // The node goes back to the config and layout record it had; its replica keeps its slice.
      const n = await node();
      expect(n.metadata!.labels!['nvidia.com/mig.config']).to.equal(labelBefore);
      expect(JSON.parse(n.metadata!.annotations![MIG_LAYOUT_ANNOTATION]!)).to.deep.equal(JSON.parse(layoutBefore));
      expect(stack.cluster.gpus().flatMap((g) => g.instances.map((i) => i.owner))).to.deep.equal(ownersBefore);
      expect(stack.cluster.getService('gpt2')!.rollout, 'the rollout is closed').to.equal(null);
      expect((await postJson(stack.ingressUrl, gpt2('after the failure', 4))).status).to.equal(200);
    } finally {
      failingNodes.delete(NODE);
    }
  });

  it('scale out splits the traffic over both replicas; scale in gives it back and frees the slice', async () => {
    const out = generation();
    await stack.broker.publish(decision({ decisionId: 'gpt2-out-2', service: 'gpt2', modelId: 'openai-community/gpt2', action: 'out', fromGeneration: out, current: { profile: '2g.10gb', gpuModel: A100, replicas: 1 }, target: { profile: '2g.10gb', gpuModel: A100, replicas: 2 } }));
    await waitFor('scale out completed', () => stack.broker.events().find((e) => e.event.type === 'ssis.rollout.completed' && (e.event.data as { decisionId: string }).decisionId === 'gpt2-out-2'), 60_000);
    const split = (await ksvc('gpt2'))!.spec.traffic;
    expect(split.map((t) => t.percent)).to.deep.equal([50, 50]);
    const replicas = split.map((t) => t.revisionName);
    const back = generation();
    await stack.broker.publish(decision({ decisionId: 'gpt2-in-1', service: 'gpt2', modelId: 'openai-community/gpt2', action: 'in', fromGeneration: back, current: { profile: '2g.10gb', gpuModel: A100, replicas: 2 }, target: { profile: '2g.10gb', gpuModel: A100, replicas: 1 } }));
    await waitFor('scale in completed', () => stack.broker.events().find((e) => e.event.type === 'ssis.rollout.completed' && (e.event.data as { decisionId: string }).decisionId === 'gpt2-in-1'), 60_000);
    const kept = (await ksvc('gpt2'))!.spec.traffic;
    expect(kept).to.have.length(1);
    expect(kept[0]!.percent).to.equal(100);
    const gone = replicas.find((r) => r !== kept[0]!.revisionName)!;
    const layout = JSON.parse((await node()).metadata!.annotations![MIG_LAYOUT_ANNOTATION]!) as { instances: { profile: string; owner: string | null }[] }[];
    expect(layout[0]!.instances.map((i) => i.owner)).to.not.include(gone);
    expect(layout[0]!.instances.filter((i) => i.profile === '2g.10gb').map((i) => i.owner).sort()).to.deep.equal([kept[0]!.revisionName, null].sort());
    expect((await postJson(stack.ingressUrl, gpt2('after scale in', 4))).status).to.equal(200);
  });

  it('two writers of one record: each 409 is re-read and retried, and exactly one accepts the decision', async () => {
    const sa = await plane.serviceAccountKubeconfig('ssis', 'ssis-controller');
    const connect = (): Promise<KubernetesCluster> => KubernetesCluster.connect({ kubeConfig: loadKubeConfig(sa.kubeconfigPath), namespace: NS, catalog: stack.configuration.catalog });
    const [a, b] = await Promise.all([connect(), connect()]);
    try {
      const from = a.getService('gpt2')!.generation;
      const results = await Promise.all([a.beginDecision('gpt2', 'race-1', from), b.beginDecision('gpt2', 'race-2', from)]);
      expect(results.filter(Boolean)).to.have.length(1);
      await waitFor('generation seen by the stack', () => (generation() === from + 1 ? true : undefined), 10_000);
      // Both writers' changes land although each one's first write conflicts with the other's.
      await Promise.all([a.setCondition('gpt2', { ready: true, reason: 'Ready', message: 'a' }), b.endRollout('gpt2', results[0] ? 'race-1' : 'race-2')]);
      await waitFor('both writes', () => {
        const s = stack.cluster.getService('gpt2');
        return s?.rollout === null && s.condition.message === 'a' ? true : undefined;
      }, 10_000);
    } finally {
      await Promise.all([a.shutdown(), b.shutdown()]);
    }
  });

  it('the ingress, as its own read-mostly account (func.yaml), routes to the Service and records a new model', async () => {
    const sa = await plane.serviceAccountKubeconfig('ssis', 'ssis-ingress');
    const ingress = await KubernetesCluster.connect({ kubeConfig: loadKubeConfig(sa.kubeconfigPath), namespace: NS, catalog: stack.configuration.catalog });
    try {
      expect(ingress.acquireRoute('gpt2')?.url).to.match(/^http:\/\/127\.0\.0\.1:\d+/);
      expect(ingress.gpus().map((g) => g.node)).to.deep.equal([NODE]);
      const created = await ingress.ensureService('llama321binstruct', 'meta-llama/Llama-3.2-1B-Instruct');
      expect(created.generation).to.equal(0);
      await ingress.setCondition('llama321binstruct', { ready: false, reason: 'Unschedulable', message: 'probe' });
    } finally {
      await ingress.shutdown();
    }
  });

  it('a write that meets the real API server\'s 409 is read again and redone', async () => {
    const core = admin.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'conflict-probe' }, data: { n: '0' } } });
    let attempts = 0;
    await withConflictRetry('conflict-probe', async () => {
      attempts += 1;
      const read = await core.readNamespacedConfigMap({ namespace: NS, name: 'conflict-probe' });
      // Another writer gets in between this read and the write below, once.
      if (attempts === 1) await core.replaceNamespacedConfigMap({ namespace: NS, name: 'conflict-probe', body: { ...read, data: { n: '10' } } });
      await core.replaceNamespacedConfigMap({ namespace: NS, name: 'conflict-probe', body: { ...read, data: { n: String(Number(read.data!['n']) + 1) } } });
    });
    expect(attempts).to.equal(2);
    expect((await core.readNamespacedConfigMap({ namespace: NS, name: 'conflict-probe' })).data).to.deep.equal({ n: '11' });
  });
});
