/**
 * The stand-ins for what cannot run here, against the real control plane: the mig-manager
 * stand-in turns a node's `nvidia.com/mig.config` label into MIG capacity the real
 * kube-scheduler counts, and the Knative Serving stand-in turns Knative Services into Revisions,
 * pods on KWOK nodes and emulated inference servers behind a per-Service proxy. Both run with the
 * admin's credentials, as the cluster components they stand in for.
 */
import { expect } from 'chai';
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { buildMigPartedPlan, MIG_CONFIG_LABEL } from '../../../core/mig/mig-parted';
import { instanceId, type GpuState } from '../../../core/mig/layout';
import { configurationFrom } from '../../../infra/config/from-configmaps';
import { loadManifests } from '../../../infra/knative/manifests';
import { isApiStatus } from '../../../infra/kubernetes/api-status';
import {
  GPU_COUNT_LABEL, GPU_OPERATOR_NAMESPACE, GPU_PRODUCT_LABEL, HF_TOKEN_SECRET, HF_TOKEN_SECRET_KEY, HOSTNAME_LABEL, KNATIVE_REVISION_LABEL, KNATIVE_SERVICE_LABEL,
  MAX_SCALE_ANNOTATION, MIG_CONFIG_STATE_LABEL, MIG_PARTED_CONFIGMAP, MIG_PARTED_CONFIGMAP_KEY, MIN_SCALE_ANNOTATION, REPLICA_ANNOTATIONS, REPLICA_LABEL,
  STAND_IN_ENDPOINT_ANNOTATION,
} from '../../../infra/kubernetes/contract';
import { KWOK_NODE_ANNOTATION, type LocalControlPlane } from '../../../infra/kubernetes/local-control-plane';
import { ensureNamespace } from '../../../infra/kubernetes/service-accounts';
import { MERGE_PATCH } from '../../../infra/kubernetes/stand-ins/api-writes';
import { KnativeServingStandIn } from '../../../infra/kubernetes/stand-ins/knative-serving';
import type { KnativeRevision, KnativeService } from '../../../infra/kubernetes/knative-objects';
import { MigManagerStandIn, STAND_IN_FAIL_ANNOTATION } from '../../../infra/kubernetes/stand-ins/mig-manager';
import { SERVED_BY_HEADER } from '../../../infra/kubernetes/stand-ins/traffic-proxy';
import { ROOT, sharedControlPlane, waitFor } from './control-plane-fixture';

const NODE = 'stand-in-gpu-1';
/** Made before the stand-in starts, already reporting success for a config its ConfigMap lacks. */
const PRECONFIGURED_NODE = 'stand-in-gpu-2';
const A100 = 'A100-SXM4-40GB';
const PRODUCT = `NVIDIA-${A100}`;
const MIG_1G = 'nvidia.com/mig-1g.5gb';
const MIG_3G = 'nvidia.com/mig-3g.20gb';
/** Only the nodes of this file: other suites' nodes carry mig.config labels of their own. */
const TEST_NODE_LABEL = 'ssis.dev/stand-ins-test';
const MODELS = 'stand-in-models';
const SERVICE = 'gpt2';
const GPT2 = 'openai-community/gpt2';
const KSVC = { group: 'serving.knative.dev', version: 'v1', namespace: MODELS, plural: 'services' } as const;
const KREV = { ...KSVC, plural: 'revisions' } as const;

/** SSIS's own config for seven 1g.5gb slices on the node, as the reconfigure function writes it. */
const sevenSlices: GpuState = {
  node: NODE,
  index: 0,
  model: A100,
  migEnabled: true,
  instances: Array.from({ length: 7 }, (_, start) => ({ id: instanceId(NODE, 0, '1g.5gb', start), profile: '1g.5gb', start, owner: null })),
};
const SSIS_PLAN = buildMigPartedPlan([sevenSlices]);
const SEVEN_1G = SSIS_PLAN.nodeLabels[NODE]!;
const MIG_PARTED_YAML = stringify({
  ...SSIS_PLAN.config,
  'mig-configs': {
    ...SSIS_PLAN.config['mig-configs'],
    'all-3g.20gb': [{ devices: 'all', 'mig-enabled': true, 'mig-devices': { '3g.20gb': 2 } }],
    'all-disabled': [{ devices: 'all', 'mig-enabled': false, 'mig-devices': {} }],
    'eight-1g': [{ devices: [0], 'mig-enabled': true, 'mig-devices': { '1g.5gb': 8 } }],
    'seven-1g-by-hand': [{ devices: 'all', 'mig-enabled': true, 'mig-devices': { '1g.5gb': 7 } }],
  },
});

function gpuNode(): V1Node {
  const resources = { cpu: '32', memory: '256Gi', pods: '110' };
  return {
    metadata: {
      name: NODE,
      annotations: { [KWOK_NODE_ANNOTATION]: 'fake' },
      labels: { [GPU_PRODUCT_LABEL]: PRODUCT, [GPU_COUNT_LABEL]: '1', [HOSTNAME_LABEL]: NODE, [TEST_NODE_LABEL]: 'true' },
    },
    status: { capacity: resources, allocatable: resources },
  };
}

/** A replica's template as the cluster adapter writes it: pinned to the node, asking for one 1g.5gb slice. */
function replicaTemplate(name: string): NonNullable<KnativeService['spec']>['template'] {
  return {
    metadata: {
      name,
      labels: { [REPLICA_LABEL]: name },
      annotations: {
        [MIN_SCALE_ANNOTATION]: '1',
        [MAX_SCALE_ANNOTATION]: '1',
        [REPLICA_ANNOTATIONS.modelId]: GPT2,
        [REPLICA_ANNOTATIONS.profile]: '1g.5gb',
        [REPLICA_ANNOTATIONS.gpuModel]: A100,
        [REPLICA_ANNOTATIONS.node]: NODE,
      },
    },
    spec: {
      nodeSelector: { [HOSTNAME_LABEL]: NODE, [GPU_PRODUCT_LABEL]: PRODUCT },
      containers: [{
        image: 'vllm/vllm-openai:v0.8.5',
        args: ['--model', GPT2, '--max-num-seqs', '8'],
        env: [{ name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: HF_TOKEN_SECRET, key: HF_TOKEN_SECRET_KEY } } }],
        ports: [{ containerPort: 8080 }],
        resources: { limits: { [MIG_1G]: '1' } },
      }],
    },
  };
}

const nodeReady = (node: V1Node): boolean => (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
const readyOf = (o: { status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } } | undefined) => o?.status?.conditions?.find((c) => c.type === 'Ready');

describe('stand-ins on the local control plane: mig-manager and Knative Serving', function () {
  this.timeout(180_000);
  let plane: LocalControlPlane;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let migManager: MigManagerStandIn;
  let knative: KnativeServingStandIn;

  const node = (): Promise<V1Node> => core.readNode({ name: NODE });
  const service = async (): Promise<KnativeService | undefined> => {
    try {
      return (await custom.getNamespacedCustomObject({ ...KSVC, name: SERVICE })) as KnativeService;
    } catch (err) {
      if (isApiStatus(err, 404)) return undefined;
      throw err;
    }
  };
  const revision = async (name: string): Promise<KnativeRevision | undefined> => {
    try {
      return (await custom.getNamespacedCustomObject({ ...KREV, name })) as KnativeRevision;
    } catch (err) {
      if (isApiStatus(err, 404)) return undefined;
      throw err;
    }
  };
  const revisions = async (): Promise<KnativeRevision[]> => ((await custom.listNamespacedCustomObject({ ...KREV, labelSelector: `${KNATIVE_SERVICE_LABEL}=${SERVICE}` })) as { items: KnativeRevision[] }).items;
  const podsOf = async (revisionName: string): Promise<V1Pod[]> => (await core.listNamespacedPod({ namespace: MODELS, labelSelector: `${KNATIVE_REVISION_LABEL}=${revisionName}` })).items;
  const patchService = (body: object) => custom.patchNamespacedCustomObject({ ...KSVC, name: SERVICE, body }, MERGE_PATCH);

  /**
   * Labels the node and records every mig.config.state it passes through until `until`. The
   * state label is cleared with the relabelling (unless kept), so that only the new run's states count.
   */
  async function relabel(config: string, until: (state: string | undefined, node: V1Node) => boolean, opts: { keepState?: boolean; timeoutMs?: number } = {}): Promise<{ states: string[]; node: V1Node }> {
    const labels = opts.keepState ? { [MIG_CONFIG_LABEL]: config } : { [MIG_CONFIG_LABEL]: config, [MIG_CONFIG_STATE_LABEL]: null };
    await core.patchNode({ name: NODE, body: { metadata: { labels } } }, MERGE_PATCH);
    const states: string[] = [];
    const final = await waitFor(`${NODE} labelled ${config} to settle`, async () => {
      const current = await node();
      const state = current.metadata?.labels?.[MIG_CONFIG_STATE_LABEL];
      if (state !== undefined && states[states.length - 1] !== state) states.push(state);
      return until(state, current) ? current : undefined;
    }, opts.timeoutMs ?? 20_000, 40);
    return { states, node: final };
  }

  /** Points the Service's template at a new replica and waits for its Revision to exist. */
  async function addReplica(name: string): Promise<KnativeRevision> {
    await patchService({ spec: { template: replicaTemplate(name) } });
    return waitFor(`revision ${name}`, () => revision(name), 20_000, 100);
  }

  before(async () => {
    plane = await sharedControlPlane();
    kc = plane.kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    await ensureNamespace(kc, GPU_OPERATOR_NAMESPACE);
    await ensureNamespace(kc, MODELS);
    // Another suite may have left its own version of the ConfigMap.
    const configMap = { metadata: { name: MIG_PARTED_CONFIGMAP, namespace: GPU_OPERATOR_NAMESPACE }, data: { [MIG_PARTED_CONFIGMAP_KEY]: MIG_PARTED_YAML } };
    try {
      await core.createNamespacedConfigMap({ namespace: GPU_OPERATOR_NAMESPACE, body: configMap });
    } catch (err) {
      if (!isApiStatus(err, 409)) throw err;
      await core.replaceNamespacedConfigMap({ namespace: GPU_OPERATOR_NAMESPACE, name: MIG_PARTED_CONFIGMAP, body: configMap });
    }
    await core.createNode({ body: gpuNode() });
    await core.createNode({ body: { metadata: { name: PRECONFIGURED_NODE, labels: { [TEST_NODE_LABEL]: 'true', [GPU_PRODUCT_LABEL]: PRODUCT, [MIG_CONFIG_LABEL]: 'all-enabled', [MIG_CONFIG_STATE_LABEL]: 'success' } } } });
    await waitFor(`${NODE} Ready`, async () => (nodeReady(await node()) ? true : undefined), 60_000);

    migManager = await new MigManagerStandIn({ kubeConfig: kc, applyDelayMs: 300, nodeSelector: `${TEST_NODE_LABEL}=true` }).start();
    const catalog = configurationFrom(loadManifests(join(ROOT, 'knative')).configMaps).catalog;
    knative = await new KnativeServingStandIn({ kubeConfig: kc, namespace: MODELS, catalog, loadTimeScale: 0.01, unschedulableAfterMs: 3000, kwokStageDelay: '100ms' }).start();
  });

  after(async () => {
    await knative?.stop();
    await migManager?.stop();
    for (const name of [NODE, PRECONFIGURED_NODE]) await core?.deleteNode({ name }).catch(() => undefined);
  });

  describe('mig-manager', () => {
    it('applies the config the label names: pending, then success, with capacity and allocatable summed per profile', async () => {
      const { states, node: applied } = await relabel('all-3g.20gb', (state) => state === 'success');
      expect(states).to.deep.equal(['pending', 'success']);
      expect(applied.status?.allocatable?.[MIG_3G]).to.equal('2');
      expect(applied.status?.capacity?.[MIG_3G]).to.equal('2');
      expect(applied.status?.allocatable?.cpu, 'other resources are kept').to.equal('32');
    });

    it("applies SSIS's own config (seven 1g.5gb) and removes the resources no longer there", async () => {
      const { states, node: applied } = await relabel(SEVEN_1G, (state, n) => state === 'success' && n.status?.allocatable?.[MIG_1G] !== undefined);
      expect(states).to.deep.equal(['pending', 'success']);
      expect(applied.status?.allocatable?.[MIG_1G]).to.equal('7');
      expect(applied.status?.capacity?.[MIG_1G]).to.equal('7');
      expect(applied.status?.allocatable).not.to.have.property(MIG_3G);
      expect(applied.status?.capacity).not.to.have.property(MIG_3G);

      // Another name for what the GPU already has: no teardown, the state stays success.
      const started = Date.now();
      const same = await relabel('seven-1g-by-hand', () => Date.now() - started > 1500, { keepState: true });
      expect(same.states).to.deep.equal(['success']);
      expect(same.node.status?.allocatable?.[MIG_1G]).to.equal('7');
    });

    it('takes the label a relabelling during a run ends with, and never reports the earlier one', async () => {
      await core.patchNode({ name: NODE, body: { metadata: { labels: { [MIG_CONFIG_LABEL]: 'all-3g.20gb', [MIG_CONFIG_STATE_LABEL]: null } } } }, MERGE_PATCH);
      await waitFor('pending', async () => ((await node()).metadata?.labels?.[MIG_CONFIG_STATE_LABEL] === 'pending' ? true : undefined), 10_000, 20);
      const { node: applied } = await relabel(SEVEN_1G, (state, n) => state === 'success' && n.metadata?.labels?.[MIG_CONFIG_LABEL] === SEVEN_1G, { keepState: true });
      expect(applied.status?.allocatable?.[MIG_1G]).to.equal('7');
      expect(applied.status?.allocatable).not.to.have.property(MIG_3G);
    });

    it('leaves a node it finds reporting success for a config its ConfigMap lacks (set up before it started)', async () => {
      await new Promise((r) => setTimeout(r, 500));
      expect((await core.readNode({ name: PRECONFIGURED_NODE })).metadata?.labels?.[MIG_CONFIG_STATE_LABEL]).to.equal('success');
    });

    it('fails on demand, on an unknown config and on counts no placement fits, leaving the capacity as it was', async () => {
      await core.patchNode({ name: NODE, body: { metadata: { annotations: { [STAND_IN_FAIL_ANNOTATION]: 'true' } } } }, MERGE_PATCH);
      const onDemand = await relabel('all-3g.20gb', (state) => state === 'failed');
      expect(onDemand.states).to.deep.equal(['pending', 'failed']);
      await core.patchNode({ name: NODE, body: { metadata: { annotations: { [STAND_IN_FAIL_ANNOTATION]: null } } } }, MERGE_PATCH);

      for (const config of ['no-such-config', 'eight-1g']) {
        const refused = await relabel(config, (state) => state === 'failed');
        expect(refused.states, config).to.deep.equal(['failed']);
      }
      const after = await node();
      expect(after.status?.allocatable?.[MIG_1G]).to.equal('7');
      expect(after.status?.allocatable).not.to.have.property(MIG_3G);

      await relabel(SEVEN_1G, (state) => state === 'success');
      expect((await node()).status?.allocatable?.[MIG_1G]).to.equal('7');
    });
  });

  describe('Knative Serving', () => {
    it('serves a replica on a MIG slice: Revision Ready, pod Running on the node, a completion through status.url', async () => {
      await custom.createNamespacedCustomObject({
        ...KSVC,
        body: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: SERVICE, namespace: MODELS }, spec: { template: replicaTemplate('gpt2-r1') } },
      });
      const ready = await waitFor('gpt2-r1 Ready', async () => {
        const r = await revision('gpt2-r1');
        return readyOf(r)?.status === 'True' ? r : undefined;
      }, 60_000);
      const svc = (await service())!;
      expect(ready.metadata.labels).to.include({ [KNATIVE_SERVICE_LABEL]: SERVICE, 'serving.knative.dev/configuration': SERVICE, [REPLICA_LABEL]: 'gpt2-r1' });
      expect(ready.metadata.annotations).to.include({ [REPLICA_ANNOTATIONS.modelId]: GPT2 });
      expect(ready.metadata.ownerReferences?.[0]).to.include({ kind: 'Service', name: SERVICE, uid: svc.metadata.uid, controller: true });
      expect(ready.spec?.containers[0]?.resources?.limits).to.deep.equal({ [MIG_1G]: '1' });

      const [pod] = await podsOf('gpt2-r1');
      expect(pod?.status?.phase).to.equal('Running');
      expect(pod?.spec?.nodeName).to.equal(NODE);
      expect(pod?.spec?.containers[0]?.env?.find((e) => e.name === 'HF_TOKEN')?.valueFrom?.secretKeyRef).to.deep.equal({ name: HF_TOKEN_SECRET, key: HF_TOKEN_SECRET_KEY });
      const endpoint = pod?.metadata?.annotations?.[STAND_IN_ENDPOINT_ANNOTATION];
      expect(endpoint).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);

      const routed = await waitFor('gpt2 Ready', async () => {
        const s = await service();
        return readyOf(s)?.status === 'True' ? s : undefined;
      }, 20_000);
      expect(routed.status).to.include({ latestCreatedRevisionName: 'gpt2-r1', latestReadyRevisionName: 'gpt2-r1', observedGeneration: routed.metadata.generation });
      expect(routed.status?.traffic).to.deep.equal([{ revisionName: 'gpt2-r1', percent: 100, latestRevision: true }]);
      expect(routed.status?.address?.url).to.equal(routed.status?.url);

      const answer = await fetch(`${routed.status!.url!}/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: 'The capital of France is', parameters: { max_new_tokens: 5 } }) });
      expect(answer.status).to.equal(200);
      expect(answer.headers.get(SERVED_BY_HEADER)).to.equal('gpt2-r1');
      const completion = (await answer.json()) as { generated_text: string; details: { generated_tokens: number } };
      expect(completion.generated_text).to.be.a('string').and.not.empty;
      expect(completion.details.generated_tokens).to.equal(5);
      // The pod's own endpoint answers too (what scraping and direct routing use).
      expect((await fetch(`${endpoint!}/metrics`)).status).to.equal(200);

      // Settled means settled: no status rewritten without a change (each write is a watch event).
      const versions = async (): Promise<string[]> => [(await service())!.metadata.resourceVersion!, (await revision('gpt2-r1'))!.metadata.resourceVersion!];
      const settled = await versions();
      await new Promise((r) => setTimeout(r, 1500));
      expect(await versions()).to.deep.equal(settled);
    });

    it('keeps an eighth replica on a seven-slice node not Ready: Unschedulable, with the scheduler\'s message', async () => {
      for (let i = 2; i <= 8; i++) await addReplica(`gpt2-r${i}`);
      const outcome = await waitFor('seven replicas Ready and one Unschedulable', async () => {
        const all = await revisions();
        const ready = all.filter((r) => readyOf(r)?.status === 'True');
        const unschedulable = all.filter((r) => readyOf(r)?.status === 'False' && readyOf(r)?.reason === 'Unschedulable');
        return ready.length === 7 && unschedulable.length === 1 ? { ready, unschedulable: unschedulable[0]! } : undefined;
      }, 90_000);
      expect(readyOf(outcome.unschedulable)?.message).to.match(/Insufficient nvidia\.com\/mig-1g\.5gb/);
      const [pending] = await podsOf(outcome.unschedulable.metadata.name!);
      expect(pending?.status?.phase).to.equal('Pending');
    });

    it('splits traffic 50/50 over two revisions and reports the split it routes by', async () => {
      await patchService({ spec: { traffic: [{ revisionName: 'gpt2-r1', percent: 50 }, { revisionName: 'gpt2-r2', percent: 50 }] } });
      const routed = await waitFor('the 50/50 split routed', async () => {
        const s = await service();
        return s?.status?.traffic?.length === 2 && readyOf(s)?.status === 'True' && s.status.observedGeneration === s.metadata.generation ? s : undefined;
      }, 20_000);
      expect(routed.status?.traffic).to.deep.equal([
        { revisionName: 'gpt2-r1', percent: 50, latestRevision: false },
        { revisionName: 'gpt2-r2', percent: 50, latestRevision: false },
      ]);
      const servedBy = new Map<string, number>();
      for (let i = 0; i < 30; i++) {
        const answer = await fetch(`${routed.status!.url!}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: `question ${i}`, parameters: { max_new_tokens: 1 } }) });
        expect(answer.status).to.equal(200);
        await answer.arrayBuffer();
        const by = answer.headers.get(SERVED_BY_HEADER) ?? '';
        servedBy.set(by, (servedBy.get(by) ?? 0) + 1);
      }
      expect([...servedBy.keys()].sort()).to.deep.equal(['gpt2-r1', 'gpt2-r2']);
    });

    it('deleting a revision deletes its pod and stops its server; the freed slice lets the pending replica run', async () => {
      await patchService({ spec: { traffic: [{ revisionName: 'gpt2-r1', percent: 100 }] } });
      await waitFor('traffic back on gpt2-r1', async () => ((await service())?.status?.traffic?.length === 1 ? true : undefined), 20_000);
      const [pod] = await podsOf('gpt2-r2');
      const endpoint = pod!.metadata!.annotations![STAND_IN_ENDPOINT_ANNOTATION]!;
      expect((await fetch(`${endpoint}/health`)).status).to.equal(200);

      await custom.deleteNamespacedCustomObject({ ...KREV, name: 'gpt2-r2' });
      await waitFor('gpt2-r2 pod gone', async () => ((await podsOf('gpt2-r2')).length === 0 ? true : undefined), 20_000);
      let refusedError: unknown;
      try {
        await fetch(`${endpoint}/health`);
      } catch (err) {
        refusedError = err;
      }
      expect(refusedError, 'the deleted revision\'s server no longer listens').to.be.instanceOf(Error);

      await waitFor('all remaining replicas Ready', async () => {
        const all = await revisions();
        return all.length === 7 && all.every((r) => readyOf(r)?.status === 'True') ? true : undefined;
      }, 60_000);
    });

    it('makes the Revision the template still names again when it is deleted, as the Configuration controller does', async () => {
      const before = (await revision('gpt2-r8'))!;
      await custom.deleteNamespacedCustomObject({ ...KREV, name: 'gpt2-r8' });
      const again = await waitFor('gpt2-r8 made again', async () => {
        const r = await revision('gpt2-r8');
        return r && r.metadata.uid !== before.metadata.uid ? r : undefined;
      }, 20_000);
      expect(again.metadata.labels?.[KNATIVE_SERVICE_LABEL]).to.equal(SERVICE);
    });

    it('deleting the Service deletes its revisions and pods (no garbage collector here) and closes its proxy', async () => {
      const url = (await service())!.status!.url!;
      await custom.deleteNamespacedCustomObject({ ...KSVC, name: SERVICE });
      await waitFor('revisions and pods gone', async () => {
        const pods = (await core.listNamespacedPod({ namespace: MODELS, labelSelector: `${KNATIVE_SERVICE_LABEL}=${SERVICE}` })).items;
        return (await revisions()).length === 0 && pods.length === 0 ? true : undefined;
      }, 30_000);
      let refusedError: unknown;
      try {
        await fetch(`${url}/`, { method: 'POST', body: '{}' });
      } catch (err) {
        refusedError = err;
      }
      expect(refusedError, 'the proxy is closed').to.be.instanceOf(Error);
    });
  });
});
