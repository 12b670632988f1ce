/**
 * The cluster port on Kubernetes (@kubernetes/client-node): Knative Serving for the model
 * services, the GPU operator's node labels for MIG. contract.ts says what maps to what. Reads
 * answer from watch caches (nodes, service records, Knative Services, Revisions, Pods); writes go
 * to the API server with optimistic concurrency (a 409 is re-read and retried), and the same
 * write twice changes nothing.
 */
import { EventEmitter } from 'node:events';
import {
  CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject, type V1ConfigMap,
  type V1Node, type V1Pod,
} from '@kubernetes/client-node';
import type { ModelCatalog } from '../../core/catalog/model-catalog';
import type { Logger } from '../../core/common/ports';
import { silentLogger } from '../../core/common/ports';
import { SsisError } from '../../core/errors';
import type { GpuState } from '../../core/mig/layout';
import type {
  ClusterPort, ReadyOutcome, ReplicaPhase, ReplicaView, RevisionView, RouteLease, ScrapeTarget, ServiceCondition, ServiceView, TrafficTarget,
} from '../../core/ports/cluster';
import { isApiStatus } from './api-status';
import { withConflictRetry } from './conflict-retry';
import {
  ENGINE_PORT, KNATIVE_GROUP, KNATIVE_REVISION_LABEL, KNATIVE_SERVICE_LABEL, KNATIVE_VERSION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, REPLICA_ANNOTATIONS, SSIS_REVISION_LABEL,
  STAND_IN_ENDPOINT_ANNOTATION, serviceRecordName,
} from './contract';
import { MigRepartitioner, type RepartitionOptions } from './mig-repartition';
import { nodeGpus } from './node-gpus';
import { DEFAULT_ENGINE, replicaTemplate, type EngineImage } from './replica-template';
import { NO_CAPACITY, configMapFromRecord, recordFromConfigMap, type ServiceRecord } from './service-record';
import { WatchCache } from './watch-cache';
import { conditionOf, isReady, type KnativeRevision, type KnativeService, type RevisionTemplate, type TrafficTarget as KnativeTrafficTarget } from './knative-objects';

export interface KubernetesClusterOptions {
  readonly kubeConfig: KubeConfig;
  /** The models namespace: Knative Services and service records live here. */
  readonly namespace: string;
  readonly catalog: ModelCatalog;
  readonly engine?: EngineImage;
  readonly logger?: Logger;
  /** Longest wait for a replica's Revision to turn Ready (image pull + model load); default 15 min. */
  readonly replicaReadyTimeoutMs?: number;
  readonly repartition?: RepartitionOptions;
  /** Runs after the watches stop, for what was started along with the adapter (stand-ins, a local plane). */
  readonly onShutdown?: () => Promise<void>;
}

const MANAGED = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;
const DEFAULT_REPLICA_READY_TIMEOUT_MS = 15 * 60_000;

export class KubernetesCluster implements ClusterPort {
  readonly namespace: string;
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly logger: Logger;
  private readonly nodes: WatchCache<V1Node>;
  private readonly records: WatchCache<V1ConfigMap>;
  private readonly ksvcs: WatchCache<KnativeService>;
  private readonly revisions: WatchCache<KnativeRevision>;
  private readonly pods: WatchCache<V1Pod>;
  private readonly repartitioner: MigRepartitioner;
  private readonly reportedDisagreements = new Map<string, string>();
  /** Template changes of one Knative Service are made one at a time: each must become its own Revision. */
  private readonly templateLocks = new Map<string, Promise<unknown>>();

  private constructor(
    private readonly opts: KubernetesClusterOptions,
    caches: Caches,
    /** Emits 'change' whenever a watched object changes: what every wait of the adapter listens to. */
    private readonly changes: EventEmitter,
  ) {
    this.namespace = opts.namespace;
    this.core = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.custom = opts.kubeConfig.makeApiClient(CustomObjectsApi);
    this.logger = opts.logger ?? silentLogger;
    this.changes.setMaxListeners(0);
    ({ nodes: this.nodes, records: this.records, ksvcs: this.ksvcs, revisions: this.revisions, pods: this.pods } = caches);
    this.repartitioner = new MigRepartitioner(opts.kubeConfig, this.nodes, this.changes, this.logger, opts.repartition ?? {});
  }

  /** Connects and waits for the first list of every watched kind. */
  static async connect(opts: KubernetesClusterOptions): Promise<KubernetesCluster> {
    const changes = new EventEmitter();
    const caches = createCaches(opts, () => changes.emit('change'));
    const cluster = new KubernetesCluster(opts, caches, changes);
    await Promise.all(Object.values(caches).map((c: WatchCache<KubernetesObject>) => c.start()));
    return cluster;
  }

  /** Stops watching; the cluster's objects stay as they are. */
  async shutdown(): Promise<void> {
    await Promise.all([this.nodes, this.records, this.ksvcs, this.revisions, this.pods].map((c) => c.stop()));
    await this.opts.onShutdown?.();
  }

  // ── reads ────────────────────────────────────────────────────────────────────────────────

  private record(service: string): ServiceRecord | undefined {
    const cm = this.records.get(serviceRecordName(service));
    return cm === undefined ? undefined : (recordFromConfigMap(cm) ?? undefined);
  }

  private replicasOf(revision: string): ReplicaView[] {
    return this.revisions
      .list()
      .filter((r) => r.metadata?.labels?.[SSIS_REVISION_LABEL] === revision)
      .map((r) => this.replicaView(r, revision))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private replicaView(r: KnativeRevision, revision: string): ReplicaView {
    const a = r.metadata?.annotations ?? {};
    const id = r.metadata?.name ?? '';
    const phase: ReplicaPhase = r.metadata?.deletionTimestamp !== undefined ? 'draining' : isReady(r) ? 'ready' : 'starting';
    return { id, revision, sliceId: a[REPLICA_ANNOTATIONS.slice] ?? '', node: a[REPLICA_ANNOTATIONS.node] ?? '', gpu: Number(a[REPLICA_ANNOTATIONS.gpu] ?? '0'), phase, url: this.endpointOf(id) };
  }

  /** Where the replica's engine listens: a stand-in's loopback address, else the pod's IP. */
  private endpointOf(replica: string): string | null {
    const pod = this.pods.list().find((p) => p.metadata?.labels?.[KNATIVE_REVISION_LABEL] === replica && p.status?.phase === 'Running');
    if (pod === undefined) return null;
    const standIn = pod.metadata?.annotations?.[STAND_IN_ENDPOINT_ANNOTATION];
    if (standIn !== undefined) return standIn;
    return pod.status?.podIP ? `http://${pod.status.podIP}:${ENGINE_PORT}` : null;
  }

  private view(record: ServiceRecord): ServiceView {
    const revisions: RevisionView[] = record.revisions.map((r) => ({ ...r, replicas: this.replicasOf(r.name) }));
    return { name: record.name, modelId: record.modelId, generation: record.generation, revisions, traffic: record.traffic, condition: record.condition, rollout: record.rollout };
  }

  listServices(): readonly ServiceView[] {
    return this.records
      .list()
      .map((cm) => recordFromConfigMap(cm))
      .filter((r): r is ServiceRecord => r !== null)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((r) => this.view(r));
  }

  getService(name: string): ServiceView | undefined {
    const record = this.record(name);
    return record === undefined ? undefined : this.view(record);
  }

  gpus(): readonly GpuState[] {
    const out: GpuState[] = [];
    const nodes = this.nodes.list().sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1));
    for (const node of nodes) {
      const { gpus, disagreement } = nodeGpus(node);
      const name = node.metadata?.name ?? '';
      if (disagreement !== null && this.reportedDisagreements.get(name) !== disagreement) {
        this.reportedDisagreements.set(name, disagreement);
        this.logger.warn({ node: name }, disagreement);
      } else if (disagreement === null) this.reportedDisagreements.delete(name);
      out.push(...gpus);
    }
    // Each replica says which instance it runs on: an owner the node's record lost (a layout
    // rebuilt from the node's counts) is taken from there, so a running replica's slice is never
    // planned as free.
    const slices = new Map(this.revisions.list().flatMap((r) => {
      const slice = r.metadata?.annotations?.[REPLICA_ANNOTATIONS.slice];
      return slice === undefined || r.metadata?.name === undefined ? [] : [[slice, r.metadata.name] as const];
    }));
    for (const g of out) for (const i of g.instances) if (i.owner === null) i.owner = slices.get(i.id) ?? null;
    return out;
  }

  acquireRoute(service: string): RouteLease | null {
    const record = this.record(service);
    if (record === undefined || !record.traffic.some((t) => t.percent > 0)) return null;
    const ksvc = this.ksvcs.get(service);
    const url = ksvc?.status?.address?.url ?? ksvc?.status?.url;
    if (url === undefined || !isReady(ksvc)) return null;
    // Knative's activator and queue-proxy pick the replica; the port only knows the Service.
    return { url, replica: service, release: () => undefined };
  }

  waitForReady(service: string, timeoutMs: number): Promise<ReadyOutcome> {
    return this.waitUntil<ReadyOutcome>(timeoutMs, 'timeout', () => {
      if (this.acquireRoute(service) !== null) return 'ready';
      return this.record(service)?.condition.reason === 'Unschedulable' ? 'failed' : undefined;
    });
  }

  scrapeTargets(): readonly ScrapeTarget[] {
    const out: ScrapeTarget[] = [];
    for (const s of this.listServices()) {
      for (const rev of s.revisions) {
        for (const r of rev.replicas) {
          if (r.phase !== 'ready' || r.url === null) continue;
          out.push({ url: `${r.url}/metrics`, labels: { namespace: this.namespace, service: s.name, revision: rev.name, pod: r.id, node: r.node, gpu: String(r.gpu), profile: rev.profile } });
        }
      }
    }
    return out;
  }

  // ── the service record ───────────────────────────────────────────────────────────────────

  /** Read-modify-write of the record with its resourceVersion; `change` returning null writes nothing. */
  private async updateRecord(service: string, change: (r: ServiceRecord) => ServiceRecord | null): Promise<ServiceRecord | null> {
    const name = serviceRecordName(service);
    return withConflictRetry(`record of ${service}`, async () => {
      const current = await this.core.readNamespacedConfigMap({ name, namespace: this.namespace }).catch((err: unknown) => {
        if (isApiStatus(err, 404)) throw new SsisError('SSIS_NOT_FOUND', `service ${service} does not exist`);
        throw err;
      });
      this.records.apply(current);
      const record = recordFromConfigMap(current);
      if (record === null) throw new SsisError('SSIS_INVALID_CONFIG', `ConfigMap ${name} is not an SSIS service record`, { issues: [{ field: name, message: 'missing labels or modelId' }] });
      const next = change(record);
      if (next === null) return null;
      const written = await this.core.replaceNamespacedConfigMap({ name, namespace: this.namespace, body: configMapFromRecord(this.namespace, next, current.metadata?.resourceVersion) });
      this.records.apply(written);
      return next;
    });
  }

  async ensureService(name: string, modelId: string): Promise<ServiceView> {
    const existing = this.record(name);
    if (existing !== undefined) return this.view(existing);
    const record: ServiceRecord = { name, modelId, generation: 0, rollout: null, condition: NO_CAPACITY, revisions: [], traffic: [] };
    try {
      this.records.apply(await this.core.createNamespacedConfigMap({ namespace: this.namespace, body: configMapFromRecord(this.namespace, record) }));
    } catch (err) {
      if (!isApiStatus(err, 409)) throw err;
      // Another ingress created it first: read what it wrote.
      this.records.apply(await this.core.readNamespacedConfigMap({ name: serviceRecordName(name), namespace: this.namespace }));
    }
    return this.getService(name)!;
  }

  async beginDecision(service: string, decisionId: string, fromGeneration: number): Promise<boolean> {
    const accepted = await this.updateRecord(service, (r) => {
      if (r.generation !== fromGeneration) return null;
      const condition = r.condition.reason === 'Unschedulable' ? { ready: false, reason: 'Deploying', message: `applying ${decisionId}` } : r.condition;
      return { ...r, generation: r.generation + 1, rollout: decisionId, condition };
    });
    return accepted !== null;
  }

  async endRollout(service: string, decisionId: string): Promise<void> {
    await this.updateRecord(service, (r) => (r.rollout === decisionId ? { ...r, rollout: null } : null));
  }

  async createRevision(service: string, revision: { name: string; profile: string; gpuModel: string; decisionId: string; maxBatchSize?: number }): Promise<void> {
    await this.updateRecord(service, (r) => (r.revisions.some((x) => x.name === revision.name) ? null : { ...r, revisions: [...r.revisions, { ...revision }] }));
  }

  async setCondition(service: string, condition: ServiceCondition): Promise<void> {
    await this.updateRecord(service, (r) => (JSON.stringify(r.condition) === JSON.stringify(condition) ? null : { ...r, condition }));
  }

  async setTraffic(service: string, traffic: readonly TrafficTarget[]): Promise<void> {
    const total = traffic.reduce((sum, t) => sum + t.percent, 0);
    if (traffic.length > 0 && total !== 100) throw new SsisError('SSIS_INVALID_CONFIG', `traffic of ${service} sums to ${total}, must be 100`, { issues: [{ field: 'traffic', message: 'must sum to 100' }] });
    const record = this.record(service);
    for (const t of traffic) {
      if (!record?.revisions.some((r) => r.name === t.revision)) throw new SsisError('SSIS_NOT_FOUND', `traffic names unknown revision ${t.revision}`);
    }
    await this.writeKnativeTraffic(service, traffic);
    const condition: ServiceCondition | null = traffic.length > 0 ? { ready: true, reason: 'Ready', message: `serving ${traffic.map((t) => `${t.revision} ${t.percent}%`).join(', ')}` } : null;
    await this.updateRecord(service, (r) => ({ ...r, traffic: [...traffic], condition: condition ?? r.condition }));
  }

  // ── Knative Services and Revisions ───────────────────────────────────────────────────────

  private ksvcApi(): { group: string; version: string; namespace: string; plural: string } {
    return { group: KNATIVE_GROUP, version: KNATIVE_VERSION, namespace: this.namespace, plural: 'services' };
  }

  /**
   * Knative traffic: each SSIS revision's share split evenly over its ready replicas (one Knative
   * Revision each), and every other replica of the service at 0 % under a tag of its name.
   * Knative scales a Revision no route references to zero whatever its min-scale, so a replica
   * starting (or kept) outside the split must still be referenced to come up and stay up.
   */
  private knativeTraffic(service: string, traffic: readonly TrafficTarget[], current: readonly KnativeTrafficTarget[] = [], leaving?: string): KnativeTrafficTarget[] {
    const entries: KnativeTrafficTarget[] = [];
    const targets = traffic
      .filter((t) => t.percent > 0)
      .map((t) => ({ t, replicas: this.replicasOf(t.revision).filter((r) => r.phase === 'ready' && r.id !== leaving) }));
    for (const { t, replicas } of targets) {
      if (replicas.length === 0) throw new SsisError('SSIS_INVALID_CONFIG', `revision ${t.revision} has no ready replica to receive ${t.percent} % of traffic`);
      const base = Math.floor(t.percent / replicas.length);
      replicas.forEach((r, i) => entries.push({ revisionName: r.id, percent: base + (i < t.percent - base * replicas.length ? 1 : 0) }));
    }
    if (entries.length === 0) {
      // No SSIS traffic yet (a cold start in progress): Knative keeps routing where it did.
      const kept = current.filter((t) => t.revisionName !== leaving && (t.percent ?? 0) > 0);
      const total = kept.reduce((sum, t) => sum + (t.percent ?? 0), 0);
      if (kept.length > 0) kept.forEach((t, i) => entries.push({ revisionName: t.revisionName!, percent: i === 0 ? (t.percent ?? 0) + 100 - total : (t.percent ?? 0) }));
    }
    const routed = new Set(entries.map((e) => e.revisionName));
    for (const r of this.knativeRevisionsOf(service)) {
      const name = r.metadata?.name;
      if (name !== undefined && name !== leaving && !routed.has(name) && r.metadata?.deletionTimestamp === undefined) entries.push({ revisionName: name, percent: 0, tag: name });
    }
    // Knative wants the shares to sum to 100: with none left, the first replica takes it all.
    if (entries.length > 0 && !entries.some((e) => (e.percent ?? 0) > 0)) entries[0] = { revisionName: entries[0]!.revisionName!, percent: 100 };
    return entries;
  }

  /** Rewrites the Knative Service's traffic from the SSIS record: after a replica turned Ready, or before one goes. */
  private async syncTraffic(service: string, leaving?: string, change?: (ksvc: KnativeService) => KnativeService): Promise<void> {
    const record = this.record(service);
    await this.replaceKsvc(service, (ksvc) => {
      const entries = this.knativeTraffic(service, record?.traffic ?? [], ksvc.spec?.traffic ?? [], leaving);
      const next = change ? change(ksvc) : ksvc;
      if (change === undefined && JSON.stringify(ksvc.spec?.traffic ?? []) === JSON.stringify(entries)) return null;
      return { ...next, spec: { ...next.spec, traffic: entries } };
    });
  }

  private knativeRevisionsOf(service: string): KnativeRevision[] {
    return this.revisions
      .list()
      .filter((r) => r.metadata?.labels?.[KNATIVE_SERVICE_LABEL] === service)
      .sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1));
  }

  private async writeKnativeTraffic(service: string, traffic: readonly TrafficTarget[]): Promise<void> {
    if (traffic.length === 0) return; // no traffic = no replica left: the Knative Service goes with the last one
    await this.replaceKsvc(service, (ksvc) => {
      const entries = this.knativeTraffic(service, traffic, ksvc.spec?.traffic ?? []);
      if (JSON.stringify(ksvc.spec?.traffic ?? []) === JSON.stringify(entries)) return null;
      return { ...ksvc, spec: { ...ksvc.spec, traffic: entries } };
    });
  }

  /** Read-modify-write of the Knative Service; `change` returning null writes nothing. Resolves false when it does not exist. */
  private async replaceKsvc(service: string, change: (ksvc: KnativeService) => KnativeService | null): Promise<boolean> {
    return withConflictRetry(`Knative Service ${service}`, async () => {
      let current: KnativeService;
      try {
        current = (await this.custom.getNamespacedCustomObject({ ...this.ksvcApi(), name: service })) as KnativeService;
      } catch (err) {
        if (isApiStatus(err, 404)) return false;
        throw err;
      }
      this.ksvcs.apply(current);
      const next = change(current);
      if (next === null) return true;
      this.ksvcs.apply((await this.custom.replaceNamespacedCustomObject({ ...this.ksvcApi(), name: service, body: next })) as KnativeService);
      return true;
    });
  }

  private serialised<T>(service: string, work: () => Promise<T>): Promise<T> {
    const before = this.templateLocks.get(service) ?? Promise.resolve();
    const run = before.then(work, work);
    this.templateLocks.set(service, run.catch(() => undefined));
    return run;
  }

  async startReplica(service: string, revision: string, replica: { id: string; sliceId: string; node: string; gpu: number }): Promise<ReplicaView> {
    const record = this.record(service);
    const rev = record?.revisions.find((r) => r.name === revision);
    if (record === undefined || rev === undefined) throw new SsisError('SSIS_NOT_FOUND', `revision ${revision} of ${service} does not exist`);
    const spec = this.opts.catalog.get(record.modelId);
    if (spec === undefined) throw new SsisError('SSIS_UNKNOWN_MODEL', `model ${record.modelId} is not in the catalog`);
    if (this.revisions.get(replica.id) === undefined) {
      const template = replicaTemplate(
        { service, revision, replica: replica.id, sliceId: replica.sliceId, node: replica.node, gpu: replica.gpu, profile: rev.profile, gpuModel: rev.gpuModel, decisionId: rev.decisionId, ...(rev.maxBatchSize === undefined ? {} : { maxBatchSize: rev.maxBatchSize }) },
        spec,
        this.opts.engine ?? DEFAULT_ENGINE,
      );
      await this.serialised(service, async () => {
        if (this.revisions.get(replica.id) !== undefined) return;
        const withReplica = (ksvc: KnativeService): KnativeService | null => {
          const name = ksvc.spec?.template?.metadata?.name;
          if (name === replica.id) return null;
          const traffic = (ksvc.spec?.traffic ?? []).filter((t) => t.revisionName !== replica.id);
          return { ...ksvc, spec: { ...ksvc.spec, template, traffic: [...traffic, { revisionName: replica.id, percent: 0, tag: replica.id }] } };
        };
        if (!(await this.replaceKsvc(service, withReplica))) {
          const body: KnativeService = {
            apiVersion: `${KNATIVE_GROUP}/${KNATIVE_VERSION}`,
            kind: 'Service',
            metadata: { name: service, namespace: this.namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } },
            // Traffic pinned to this replica from the start, so later template changes never move traffic by themselves.
            spec: { template, traffic: [{ revisionName: replica.id, percent: 100 }] },
          };
          try {
            this.ksvcs.apply((await this.custom.createNamespacedCustomObject({ ...this.ksvcApi(), body })) as KnativeService);
          } catch (err) {
            // Created by someone else in between: add this replica to theirs.
            if (!isApiStatus(err, 409) || !(await this.replaceKsvc(service, withReplica))) throw err;
          }
        }
        // Knative makes a Revision per template it observes: the next change waits until this one has its own.
        await this.waitUntil(this.opts.replicaReadyTimeoutMs ?? DEFAULT_REPLICA_READY_TIMEOUT_MS, undefined, () => (this.revisions.get(replica.id) !== undefined ? true : undefined));
      });
    }
    const outcome = await this.waitUntil<'ready' | 'failed' | 'timeout'>(this.opts.replicaReadyTimeoutMs ?? DEFAULT_REPLICA_READY_TIMEOUT_MS, 'timeout', () => {
      const ready = conditionOf(this.revisions.get(replica.id), 'Ready');
      if (ready?.status === 'True') return 'ready';
      return ready?.status === 'False' && ready.reason !== undefined && ready.reason !== 'Deploying' ? 'failed' : undefined;
    });
    if (outcome !== 'ready') {
      const ready = conditionOf(this.revisions.get(replica.id), 'Ready');
      throw new SsisError('SSIS_PLACEMENT_INFEASIBLE', `replica ${replica.id} of ${service} did not become ready (${outcome}${ready?.message ? `: ${ready.message}` : ''})`);
    }
    // A replica of a revision that already serves takes its share now (scale out, a move).
    if (record.traffic.some((t) => t.revision === revision && t.percent > 0)) await this.serialised(service, () => this.syncTraffic(service));
    this.logger.info({ service, revision, replica: replica.id, slice: replica.sliceId }, 'replica ready');
    return this.replicaView(this.revisions.get(replica.id)!, revision);
  }

  async stopReplica(service: string, replicaId: string): Promise<void> {
    await this.serialised(service, async () => {
      // A replica whose Revision Knative has not made yet (a start that timed out) is still named
      // by the Service's template or traffic: those references go too, or it would appear later.
      const ksvc = this.ksvcs.get(service);
      const templateName = ksvc?.spec?.template?.metadata?.name;
      const referenced = templateName === replicaId || (ksvc?.spec?.traffic ?? []).some((t) => t.revisionName === replicaId);
      if (this.revisions.get(replicaId) === undefined && !referenced) return;
      const survivors = this.knativeRevisionsOf(service).filter((r) => r.metadata?.name !== replicaId);
      if (survivors.length === 0) {
        // The last replica: the Knative Service goes too (a Service always runs its template's Revision).
        await this.custom.deleteNamespacedCustomObject({ ...this.ksvcApi(), name: service }).catch((err: unknown) => {
          if (!isApiStatus(err, 404)) throw err;
        });
      } else {
        // Its share goes to the revision's other ready replicas; a template naming the deleted
        // Revision would make Knative create it again, so it is pointed at a survivor's.
        const survivor = survivors[0]!;
        await this.syncTraffic(service, replicaId, (ksvc) => {
          const templateName = ksvc.spec?.template?.metadata?.name;
          const template = templateName === replicaId ? templateOf(survivor) : ksvc.spec?.template;
          return { ...ksvc, spec: { ...ksvc.spec, template } };
        });
      }
      await this.custom
        .deleteNamespacedCustomObject({ group: KNATIVE_GROUP, version: KNATIVE_VERSION, namespace: this.namespace, plural: 'revisions', name: replicaId })
        .catch((err: unknown) => {
          if (!isApiStatus(err, 404)) throw err;
        });
      await this.waitUntil(60_000, undefined, () => (this.revisions.get(replicaId) === undefined ? true : undefined));
    });
    // Its instance stays (a repartition is the planner's call) but is free again.
    await this.repartitioner.releaseOwner(replicaId);
    this.logger.info({ service, replica: replicaId }, 'replica stopped');
  }

  async deleteRevision(service: string, revision: string): Promise<void> {
    const record = this.record(service);
    if (!record?.revisions.some((r) => r.name === revision)) return;
    if (record.traffic.some((t) => t.revision === revision && t.percent > 0)) throw new SsisError('SSIS_INVALID_CONFIG', `revision ${revision} still receives traffic`);
    for (const r of this.replicasOf(revision)) await this.stopReplica(service, r.id);
    await this.updateRecord(service, (r) => ({ ...r, revisions: r.revisions.filter((x) => x.name !== revision), traffic: r.traffic.filter((t) => t.revision !== revision) }));
  }

  // ── MIG ──────────────────────────────────────────────────────────────────────────────────

  applyGpuLayouts(layouts: readonly GpuState[]): Promise<void> {
    return this.repartitioner.apply(this.gpus(), layouts);
  }

  // ── waiting on the caches ────────────────────────────────────────────────────────────────

  private waitUntil<T>(timeoutMs: number, onTimeout: T | undefined, probe: () => T | undefined): Promise<T> {
    const now = probe();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const onChange = (): void => {
        const v = probe();
        if (v !== undefined) finish(() => resolve(v));
      };
      const timer = setTimeout(() => finish(() => (onTimeout !== undefined ? resolve(onTimeout) : reject(new SsisError('SSIS_CAPACITY_TIMEOUT', `gave up waiting after ${timeoutMs} ms`)))), timeoutMs);
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        this.changes.off('change', onChange);
        settle();
      };
      this.changes.on('change', onChange);
    });
  }
}

/**
 * The template that makes `revision` again: its own labels and annotations without the ones
 * Knative puts on Revisions (`serving.knative.dev/…`, which a template may not carry), and its spec.
 */
function templateOf(revision: KnativeRevision): RevisionTemplate {
  const own = (m: Record<string, string> | undefined): Record<string, string> => Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => !k.startsWith('serving.knative.dev/')));
  return { metadata: { name: revision.metadata.name, labels: own(revision.metadata.labels), annotations: own(revision.metadata.annotations) }, ...(revision.spec ? { spec: revision.spec } : {}) };
}

// ── the watched kinds ──────────────────────────────────────────────────────────────────────

interface Caches {
  readonly nodes: WatchCache<V1Node>;
  readonly records: WatchCache<V1ConfigMap>;
  readonly ksvcs: WatchCache<KnativeService>;
  readonly revisions: WatchCache<KnativeRevision>;
  readonly pods: WatchCache<V1Pod>;
}

function createCaches(opts: KubernetesClusterOptions, notify: () => void): Caches {
  const kc = opts.kubeConfig;
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const logger = opts.logger ?? silentLogger;
  const ns = opts.namespace;
  const knative = <T extends KubernetesObject>(plural: string) => (): Promise<KubernetesListObject<T>> =>
    custom.listNamespacedCustomObject({ group: KNATIVE_GROUP, version: KNATIVE_VERSION, namespace: ns, plural, labelSelector: MANAGED }) as Promise<KubernetesListObject<T>>;
  return {
    nodes: new WatchCache<V1Node>(kc, 'nodes', '/api/v1/nodes', () => core.listNode(), notify, logger),
    records: new WatchCache<V1ConfigMap>(kc, 'service records', `/api/v1/namespaces/${ns}/configmaps`, () => core.listNamespacedConfigMap({ namespace: ns, labelSelector: MANAGED }), notify, logger, MANAGED),
    ksvcs: new WatchCache<KnativeService>(kc, 'Knative Services', `/apis/${KNATIVE_GROUP}/${KNATIVE_VERSION}/namespaces/${ns}/services`, knative<KnativeService>('services'), notify, logger, MANAGED),
    revisions: new WatchCache<KnativeRevision>(kc, 'Knative Revisions', `/apis/${KNATIVE_GROUP}/${KNATIVE_VERSION}/namespaces/${ns}/revisions`, knative<KnativeRevision>('revisions'), notify, logger, MANAGED),
    pods: new WatchCache<V1Pod>(kc, 'pods', `/api/v1/namespaces/${ns}/pods`, () => core.listNamespacedPod({ namespace: ns, labelSelector: MANAGED }), notify, logger, MANAGED),
  };
}

