/**
 * STAND-IN for Knative Serving's controllers, activator and ingress, which cannot run here (no
 * Knative Serving install, no container runtime): a small controller on the real API server that
 * does for SSIS's Knative Services what Knative would, with every replica an emulated inference
 * server on loopback. In one namespace it watches Services, Revisions and their Pods and:
 *
 * - Service: for its `spec.template` it creates the Revision the template names (or Knative's
 *   `<service>-<00001>` when unnamed) if it does not exist, as the Configuration controller does,
 *   also when that Revision was deleted while the template still names it. It gets the labels
 *   `serving.knative.dev/{service,serviceUID,configuration,configurationGeneration}` and the
 *   template's labels and annotations, the template's spec, and the Service as controller owner.
 * - Revision: one Pod (the revision's Deployment at min-scale = max-scale = 1, see
 *   revision-objects.ts), which the real kube-scheduler binds by its MIG resources and KWOK runs.
 *   Once the pod is Running it starts the replica's emulated server (replica-engine.ts), annotates
 *   the pod with `ssis.dev/stand-in-endpoint=http://127.0.0.1:<port>`, and after the model's load
 *   time marks the Revision Ready. A pod not bound within `unschedulableAfterMs` makes it
 *   Ready=False `Unschedulable` (the scheduler's message); bound but not running within
 *   `progressDeadlineMs`, `ProgressDeadlineExceeded`; a model it cannot serve, `ExitCode1`.
 *   Either turns Ready when the pod runs after all (a slice freed).
 * - Routing: one loopback proxy per Service (traffic-proxy.ts), its URL in `status.url` and
 *   `status.address.url`. It routes by the Service's traffic once every target is Ready, and
 *   until then by the split it routed before (as Knative's Route moves traffic only to ready
 *   revisions); `status.traffic` shows what it routes by.
 * - Deletion (no garbage collector runs here): a deleted Revision's pod is deleted and its server
 *   stopped; a deleted Service's Revisions and pods go, and its proxy closes. Revisions whose
 *   owner Service is gone are deleted.
 *
 * Not done: Knative's webhook (defaults, validation), queue-proxy and concurrency limits,
 * autoscaling (every revision keeps its one pod, routed or not), tags' own URLs, request
 * buffering in the activator (no routable revision: 503).
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import type { ModelCatalog } from '../../../core/catalog/model-catalog';
import { silentLogger, type Logger } from '../../../core/common/ports';
import { EmulatedInferenceServer } from '../../emulator/inference-server';
import { createIfAbsent } from '../api-status';
import { GPU_PRODUCT_LABEL, KNATIVE_GROUP, KNATIVE_REVISION_LABEL, KNATIVE_SERVICE_LABEL, KNATIVE_VERSION, REPLICA_ANNOTATIONS, STAND_IN_ENDPOINT_ANNOTATION } from '../contract';
import { ensureServiceAccount } from '../service-accounts';
import { ignoringNotFound, MERGE_PATCH } from './api-writes';
import { CONFIGURATION_GENERATION_LABEL, isReady, owningServiceUid, REVISION_UID_LABEL, sameJson, withTransitionTimes, type Condition, type KnativeRevision, type KnativeService } from '../knative-objects';
import { resolveTraffic, revisionStatus, serviceStatus, type ReplicaState, type ResolvedTarget } from './knative-status';
import { ReconcileQueue } from './reconcile-queue';
import { replicaEngineFor } from './replica-engine';
import { podFor, revisionFor, templateRevisionName } from './revision-objects';
import { TrafficProxy } from './traffic-proxy';
import { watchObjects, type WatchedObjects } from './watched-objects';

export interface KnativeServingStandInOptions {
  readonly kubeConfig: KubeConfig;
  /** The namespace whose Knative Services it serves (SSIS's models namespace). */
  readonly namespace: string;
  /** The model catalog the emulated servers take their performance from. */
  readonly catalog: ModelCatalog;
  /** Multiplies each model's catalog `loadSeconds` (default 1; tests use a small factor). */
  readonly loadTimeScale?: number;
  /** How long a pod may stay unbound before its Revision is Ready=False `Unschedulable` (default 5000 ms). */
  readonly unschedulableAfterMs?: number;
  /** How long a bound pod may stay Pending before its Revision is Ready=False `ProgressDeadlineExceeded` (default 60 s). */
  readonly progressDeadlineMs?: number;
  /**
   * KWOK's delay per pod stage (created, running, deleted), a Go duration, without KWOK's random
   * jitter (default `500ms`: a pod runs about a second after it is bound); null for KWOK's own
   * timing (1 s plus up to 5 s of jitter per stage).
   */
  readonly kwokStageDelay?: string | null;
  /** Picks the revision per request (default Math.random). */
  readonly random?: () => number;
  readonly logger?: Logger;
}

/** The emulated container of one revision's pod. */
interface Replica {
  readonly podUid: string;
  server: EmulatedInferenceServer | null;
  url: string | undefined;
  loaded: boolean;
  failure: string | undefined;
  loadTimer: NodeJS.Timeout | undefined;
}

const DEFAULT_KWOK_STAGE_DELAY = '500ms';
const SERVICE_KEY = 'service/';
const REVISION_KEY = 'revision/';

/** A timestamp as the typed list (Date) or the raw watch stream (string) gives it. */
function timeMs(value: Date | string | undefined): number {
  return value === undefined ? Date.now() : new Date(value).getTime();
}

function withoutNulls(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined));
}

export class KnativeServingStandIn {
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly logger: Logger;
  private readonly queue: ReconcileQueue;
  private services: WatchedObjects<KnativeService> | null = null;
  private revisions: WatchedObjects<KnativeRevision> | null = null;
  private pods: WatchedObjects<V1Pod> | null = null;
  /** Keys seen before every cache is filled; reconciled once they all are. */
  private early: Set<string> | null = new Set();
  private readonly proxies = new Map<string, { uid: string; proxy: TrafficProxy }>();
  private readonly programmed = new Map<string, readonly ResolvedTarget[]>();
  private readonly replicas = new Map<string, Replica>();
  private readonly accounts = new Set<string>();

  constructor(private readonly opts: KnativeServingStandInOptions) {
    this.core = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.custom = opts.kubeConfig.makeApiClient(CustomObjectsApi);
    this.logger = (opts.logger ?? silentLogger).child({ standIn: 'knative-serving', namespace: opts.namespace });
    this.queue = new ReconcileQueue((key) => this.reconcile(key), this.logger);
  }

  /** Lists and watches Services, Revisions and their Pods; resolves once all three caches are filled. */
  async start(): Promise<this> {
    const { kubeConfig, namespace } = this.opts;
    const knativePath = (plural: string): string => `/apis/${KNATIVE_GROUP}/${KNATIVE_VERSION}/namespaces/${namespace}/${plural}`;
    this.services = await watchObjects<KnativeService>({
      kubeConfig,
      path: knativePath('services'),
      list: () => this.listKnative<KnativeService>('services'),
      onEvent: (_, service) => this.enqueue(SERVICE_KEY + (service.metadata.name ?? '')),
      logger: this.logger,
    });
    this.revisions = await watchObjects<KnativeRevision>({
      kubeConfig,
      path: knativePath('revisions'),
      list: () => this.listKnative<KnativeRevision>('revisions'),
      onEvent: (_, revision) => {
        this.enqueue(REVISION_KEY + (revision.metadata.name ?? ''));
        const service = revision.metadata.labels?.[KNATIVE_SERVICE_LABEL];
        if (service !== undefined) this.enqueue(SERVICE_KEY + service);
      },
      logger: this.logger,
    });
    this.pods = await watchObjects<V1Pod>({
      kubeConfig,
      path: `/api/v1/namespaces/${namespace}/pods`,
      list: () => this.core.listNamespacedPod({ namespace, labelSelector: KNATIVE_REVISION_LABEL }),
      labelSelector: KNATIVE_REVISION_LABEL,
      onEvent: (_, pod) => this.enqueue(REVISION_KEY + (pod.metadata?.labels?.[KNATIVE_REVISION_LABEL] ?? '')),
      logger: this.logger,
    });
    const early = this.early ?? new Set<string>();
    this.early = null;
    for (const key of early) this.queue.add(key);
    return this;
  }

  /** Stops the watches, then the proxies and servers; what is in the cluster stays. */
  async stop(): Promise<void> {
    await Promise.all([this.services?.stop(), this.revisions?.stop(), this.pods?.stop()]);
    await this.queue.stop();
    await Promise.all([...this.proxies.values()].map((p) => p.proxy.stop()));
    this.proxies.clear();
    await Promise.all([...this.replicas.keys()].map((name) => this.stopReplica(name)));
  }

  /** The base URL of a revision's running server (what the pod annotation says), if any. */
  endpointOf(revision: string): string | undefined {
    const replica = this.replicas.get(revision);
    return replica?.server && replica.failure === undefined ? replica.url : undefined;
  }

  private enqueue(key: string): void {
    if (this.early) this.early.add(key);
    else this.queue.add(key);
  }

  private reconcile(key: string): Promise<void> {
    if (key.startsWith(SERVICE_KEY)) return this.reconcileService(key.slice(SERVICE_KEY.length));
    return this.reconcileRevision(key.slice(REVISION_KEY.length));
  }

  private get ns(): string {
    return this.opts.namespace;
  }

  private async listKnative<T extends KubernetesObject>(plural: 'services' | 'revisions'): Promise<KubernetesListObject<T>> {
    return (await this.custom.listNamespacedCustomObject(this.knative(plural))) as KubernetesListObject<T>;
  }

  private knative(plural: 'services' | 'revisions'): { group: string; version: string; namespace: string; plural: string } {
    return { group: KNATIVE_GROUP, version: KNATIVE_VERSION, namespace: this.ns, plural };
  }

  // ---- Services -------------------------------------------------------------------------------

  private async reconcileService(name: string): Promise<void> {
    const service = this.services?.get(name, this.ns);
    if (!service) {
      await this.removeService(name);
      return;
    }
    const uid = service.metadata.uid ?? '';
    const url = await this.proxyOf(name, uid);
    const allRevisions = this.revisions?.list(this.ns) ?? [];
    // A Service deleted and made again under its name: the old one's revisions are orphans.
    for (const r of allRevisions) {
      if (r.metadata.labels?.[KNATIVE_SERVICE_LABEL] === name && owningServiceUid(r) !== uid) this.queue.add(REVISION_KEY + (r.metadata.name ?? ''));
    }

    const latestCreated = templateRevisionName(service);
    const latestRevision = this.revisions?.get(latestCreated, this.ns);
    if (!latestRevision) {
      await createIfAbsent(() => this.custom.createNamespacedCustomObject({ ...this.knative('revisions'), body: revisionFor(service) }));
      this.logger.info({ service: name, revision: latestCreated }, 'revision created');
    }
    const owned = allRevisions.filter((r) => owningServiceUid(r) === uid);
    const latestReady = owned
      .filter(isReady)
      .sort((a, b) => Number(b.metadata.labels?.[CONFIGURATION_GENERATION_LABEL] ?? 0) - Number(a.metadata.labels?.[CONFIGURATION_GENERATION_LABEL] ?? 0))[0]?.metadata.name;

    const traffic = resolveTraffic(service, (n) => this.revisions?.get(n, this.ns), latestReady);
    if (traffic.ok) this.programmed.set(name, traffic.targets);
    else if (!this.programmed.has(name) && service.status?.traffic) {
      // After a restart: what the Service last routed by, while its new traffic is not ready.
      this.programmed.set(name, service.status.traffic.flatMap((t) => (t.revisionName ? [{ revisionName: t.revisionName, percent: t.percent ?? 0, latestRevision: t.latestRevision ?? false }] : [])));
    }

    const status = serviceStatus(service, {
      url,
      latestCreated,
      latestCreatedNotOwned: latestRevision !== undefined && owningServiceUid(latestRevision) !== uid,
      latestCreatedRevision: latestRevision,
      latestReady,
      traffic,
      programmed: this.programmed.get(name),
    });
    await this.writeStatus('services', name, service.status, status);
  }

  /** The Service's proxy URL, starting the proxy on first sight (or anew for a new Service of that name). */
  private async proxyOf(name: string, uid: string): Promise<string> {
    const existing = this.proxies.get(name);
    if (existing?.uid === uid) return existing.proxy.url;
    if (existing) {
      await existing.proxy.stop();
      this.programmed.delete(name);
    }
    const proxy = new TrafficProxy({
      targets: () => this.programmed.get(name) ?? [],
      endpointOf: (revision) => this.endpointOf(revision),
      ...(this.opts.random ? { random: this.opts.random } : {}),
    });
    this.proxies.set(name, { uid, proxy });
    return proxy.start();
  }

  /** No garbage collector here: a deleted Service's Revisions and Pods go by hand. */
  private async removeService(name: string): Promise<void> {
    const existing = this.proxies.get(name);
    this.proxies.delete(name);
    this.programmed.delete(name);
    await existing?.proxy.stop();
    for (const revision of this.revisions?.list(this.ns) ?? []) {
      if (revision.metadata.labels?.[KNATIVE_SERVICE_LABEL] !== name) continue;
      await ignoringNotFound(() => this.custom.deleteNamespacedCustomObject({ ...this.knative('revisions'), name: revision.metadata.name ?? '' }));
    }
    for (const pod of this.pods?.list(this.ns) ?? []) {
      if (pod.metadata?.labels?.[KNATIVE_SERVICE_LABEL] === name) await this.deletePod(pod.metadata.name ?? '');
    }
  }

  // ---- Revisions ------------------------------------------------------------------------------

  private async reconcileRevision(name: string): Promise<void> {
    const revision = this.revisions?.get(name, this.ns);
    const pods = (this.pods?.list(this.ns) ?? []).filter((p) => p.metadata?.labels?.[KNATIVE_REVISION_LABEL] === name);
    if (!revision) {
      await this.stopReplica(name);
      for (const pod of pods) await this.deletePod(pod.metadata?.name ?? '');
      return;
    }
    const ownerUid = owningServiceUid(revision);
    const serviceName = revision.metadata.labels?.[KNATIVE_SERVICE_LABEL];
    const service = serviceName === undefined ? undefined : this.services?.get(serviceName, this.ns);
    if (ownerUid !== undefined && service?.metadata.uid !== ownerUid) {
      this.logger.info({ revision: name }, 'revision of a deleted service removed');
      await ignoringNotFound(() => this.custom.deleteNamespacedCustomObject({ ...this.knative('revisions'), name }));
      return;
    }

    const uid = revision.metadata.uid ?? '';
    // Pods of an earlier Revision of this name (deleted and made again) are not this one's.
    for (const stale of pods.filter((p) => p.metadata?.labels?.[REVISION_UID_LABEL] !== uid)) await this.deletePod(stale.metadata?.name ?? '');
    const pod = pods.find((p) => p.metadata?.labels?.[REVISION_UID_LABEL] === uid);
    let state: ReplicaState;
    if (!pod) {
      await this.createPod(revision);
      state = { kind: 'deploying', message: 'creating the pod' };
    } else {
      state = await this.replicaState(revision, pod);
    }
    await this.writeStatus('revisions', name, revision.status, revisionStatus(revision, state));
  }

  private async replicaState(revision: KnativeRevision, pod: V1Pod): Promise<ReplicaState> {
    const name = revision.metadata.name ?? '';
    if (pod.metadata?.deletionTimestamp) {
      await this.stopReplica(name);
      return { kind: 'deploying', message: `pod ${pod.metadata.name ?? ''} is terminating` };
    }
    const phase = pod.status?.phase;
    if (phase === 'Running') return this.runReplica(revision, pod);
    await this.stopReplica(name);
    if (phase === 'Failed' || phase === 'Succeeded') {
      return { kind: 'crashed', reason: pod.status?.reason ?? 'ExitCode1', message: pod.status?.message ?? `pod ${pod.metadata?.name ?? ''} ended (${phase})` };
    }
    const bound = Boolean(pod.spec?.nodeName);
    const boundMs = bound ? (this.opts.progressDeadlineMs ?? 60_000) : (this.opts.unschedulableAfterMs ?? 5000);
    const pendingMs = Date.now() - timeMs(pod.metadata?.creationTimestamp);
    if (pendingMs < boundMs) {
      this.queue.addAfter(REVISION_KEY + name, boundMs - pendingMs + 50);
      return { kind: 'deploying', message: `pod ${pod.metadata?.name ?? ''} is ${bound ? 'starting' : 'waiting to be scheduled'}` };
    }
    if (bound) return { kind: 'stuck', message: `pod ${pod.metadata?.name ?? ''} bound to ${pod.spec?.nodeName ?? ''} is still Pending after ${Math.round(pendingMs)} ms` };
    const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    return { kind: 'unschedulable', message: scheduled?.message ?? `pod ${pod.metadata?.name ?? ''} not scheduled after ${Math.round(pendingMs)} ms` };
  }

  /** The replica of a Running pod: its server started once per pod, Ready after the model's load time. */
  private async runReplica(revision: KnativeRevision, pod: V1Pod): Promise<ReplicaState> {
    const name = revision.metadata.name ?? '';
    const podUid = pod.metadata?.uid ?? '';
    let replica = this.replicas.get(name);
    if (replica && replica.podUid !== podUid) {
      await this.stopReplica(name);
      replica = undefined;
    }
    if (!replica) replica = await this.startReplica(revision, pod);
    if (replica.url !== undefined && pod.metadata?.annotations?.[STAND_IN_ENDPOINT_ANNOTATION] !== replica.url) {
      await this.core.patchNamespacedPod({ namespace: this.ns, name: pod.metadata?.name ?? '', body: { metadata: { annotations: { [STAND_IN_ENDPOINT_ANNOTATION]: replica.url } } } }, MERGE_PATCH);
    }
    if (replica.failure !== undefined) return { kind: 'crashed', reason: 'ExitCode1', message: replica.failure };
    return replica.loaded ? { kind: 'ready' } : { kind: 'deploying', message: 'loading the model' };
  }

  private async startReplica(revision: KnativeRevision, pod: V1Pod): Promise<Replica> {
    const name = revision.metadata.name ?? '';
    const replica: Replica = { podUid: pod.metadata?.uid ?? '', server: null, url: undefined, loaded: false, failure: undefined, loadTimer: undefined };
    this.replicas.set(name, replica);
    const annotations = revision.metadata.annotations ?? {};
    const nodeGpuProduct = annotations[REPLICA_ANNOTATIONS.gpuModel] === undefined ? await this.gpuProductOf(pod.spec?.nodeName) : undefined;
    const engine = replicaEngineFor(
      { annotations, containers: revision.spec?.containers ?? [], ...(nodeGpuProduct === undefined ? {} : { nodeGpuProduct }) },
      this.opts.catalog,
      this.opts.loadTimeScale ?? 1,
    );
    if (!engine.ok) {
      replica.failure = engine.reason;
      this.logger.warn({ revision: name, reason: engine.reason }, 'replica cannot start');
      return replica;
    }
    const { loadMs, ...settings } = engine.value;
    const server = new EmulatedInferenceServer(settings);
    replica.server = server;
    replica.url = await server.start();
    replica.loadTimer = setTimeout(() => {
      replica.loaded = true;
      this.queue.add(REVISION_KEY + name);
    }, loadMs);
    this.logger.info({ revision: name, url: replica.url, node: pod.spec?.nodeName }, 'replica server started');
    return replica;
  }

  private async stopReplica(name: string): Promise<void> {
    const replica = this.replicas.get(name);
    if (!replica) return;
    this.replicas.delete(name);
    clearTimeout(replica.loadTimer);
    await replica.server?.stop();
    this.logger.info({ revision: name }, 'replica server stopped');
  }

  private async gpuProductOf(node: string | undefined): Promise<string | undefined> {
    if (node === undefined) return undefined;
    return (await this.core.readNode({ name: node })).metadata?.labels?.[GPU_PRODUCT_LABEL];
  }

  private async createPod(revision: KnativeRevision): Promise<void> {
    const delay = this.opts.kwokStageDelay === undefined ? DEFAULT_KWOK_STAGE_DELAY : this.opts.kwokStageDelay;
    const pod = podFor(revision, delay === null ? {} : { kwokStageDelay: delay });
    // No kube-controller-manager here to make a namespace's `default` ServiceAccount.
    const account = pod.spec?.serviceAccountName ?? 'default';
    if (!this.accounts.has(account)) {
      await ensureServiceAccount(this.opts.kubeConfig, this.ns, account);
      this.accounts.add(account);
    }
    await createIfAbsent(() => this.core.createNamespacedPod({ namespace: this.ns, body: pod }));
  }

  /** Immediately (grace 0): KWOK has no containers to stop, and the freed slice is what the next replica waits for. */
  private async deletePod(name: string): Promise<void> {
    await ignoringNotFound(() => this.core.deleteNamespacedPod({ namespace: this.ns, name, gracePeriodSeconds: 0 }));
  }

  // ---- Status ---------------------------------------------------------------------------------

  /** Writes the status subresource when it differs from what is there (never a no-op write: each would trigger another event). */
  private async writeStatus(plural: 'services' | 'revisions', name: string, current: { conditions?: Condition[] } | undefined, next: Record<string, unknown>): Promise<void> {
    const conditions = withTransitionTimes((next['conditions'] ?? []) as Condition[], current?.conditions, new Date().toISOString());
    const desired = { ...next, conditions };
    if (sameJson(withoutNulls(desired), current ?? {})) return;
    await ignoringNotFound(() => this.custom.patchNamespacedCustomObjectStatus({ ...this.knative(plural), name, body: { status: desired } }, MERGE_PATCH));
  }
}

