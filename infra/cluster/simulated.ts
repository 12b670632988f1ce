/**
 * The simulated MIG cluster (embedded cluster adapter; a FAKE of what cannot run here: GPU nodes,
 * the MIG driver, Knative Serving's control plane). GPU and MIG state follow the exact geometry
 * of core/mig; services have revisions, traffic splits and replicas; every replica is a real
 * emulated inference server on loopback, so the data path is real HTTP.
 *
 * With a state file, the cluster outlives its process: every change is saved (coalesced, atomic;
 * state-file.ts) and a new cluster on the same file starts where the last one stopped, its
 * replicas started again (restore.ts says what happens to a rollout that was under way).
 */
import { EventEmitter } from 'node:events';
import type { ModelCatalog } from '../../core/catalog/model-catalog';
import { engineConfigFor } from '../../core/catalog/engine-config';
import type { EngineConfig } from '../../core/perf/batching-engine';
import type { Logger } from '../../core/common/ports';
import { silentLogger } from '../../core/common/ports';
import { SsisError } from '../../core/errors';
import { assertValidCluster, type GpuState } from '../../core/mig/layout';
import { EmulatedInferenceServer } from '../emulator/inference-server';
import { CoalescingSaver } from './coalescing-saver';
import { planRestore } from './restore';
import { CLUSTER_STATE_FORMAT, CLUSTER_STATE_VERSION, compatibilityIssues, readClusterState, writeFileAtomically, type ClusterState } from './state-file';
import type {
  ClusterPort, ReadyOutcome, ReplicaView, RevisionView, RouteLease, ScrapeTarget, ServiceCondition, ServiceView, TrafficTarget,
} from '../../core/ports/cluster';

export interface SimulatedNode {
  readonly name: string;
  readonly gpus: readonly { readonly model: string; readonly count: number }[];
}

export interface SimulatedClusterOptions {
  readonly namespace: string;
  readonly nodes: readonly SimulatedNode[];
  readonly catalog: ModelCatalog;
  /** Multiplies each model's loadSeconds (tests use a small factor). */
  readonly loadTimeScale?: number;
  readonly random?: () => number;
  readonly logger?: Logger;
  /**
   * Where the cluster keeps its state across restarts (the embedded stack's
   * `<stateDir>/cluster-state.json`); absent = the cluster lives only as long as the process.
   */
  readonly stateFile?: string;
  /** Most time a change waits before it is saved (default 200 ms); changes meanwhile share the write. */
  readonly saveDelayMs?: number;
}

interface Replica {
  id: string;
  revision: string;
  sliceId: string;
  node: string;
  gpu: number;
  phase: 'starting' | 'ready' | 'draining';
  server: EmulatedInferenceServer | null;
  started: Promise<ReplicaView> | null;
  outstanding: number;
}

interface Revision {
  name: string;
  profile: string;
  gpuModel: string;
  decisionId: string;
  maxBatchSize?: number;
  replicas: Map<string, Replica>;
}

interface Service {
  name: string;
  modelId: string;
  generation: number;
  revisions: Map<string, Revision>;
  traffic: TrafficTarget[];
  condition: ServiceCondition;
  rollout: string | null;
}

const NO_CAPACITY: ServiceCondition = { ready: false, reason: 'NoCapacity', message: 'no replica yet (scaled to zero)' };

export class SimulatedCluster implements ClusterPort {
  readonly namespace: string;
  private readonly services = new Map<string, Service>();
  private gpuStates: GpuState[];
  private readonly changes = new EventEmitter();
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly saver: CoalescingSaver | null = null;

  constructor(private readonly opts: SimulatedClusterOptions) {
    this.namespace = opts.namespace;
    this.logger = opts.logger ?? silentLogger;
    this.random = opts.random ?? Math.random;
    this.gpuStates = opts.nodes.flatMap((n) => {
      let index = 0;
      return n.gpus.flatMap((g) => Array.from({ length: g.count }, (): GpuState => ({ node: n.name, index: index++, model: g.model, migEnabled: true, instances: [] })));
    });
    assertValidCluster(this.gpuStates);
    this.changes.setMaxListeners(0);
    const stateFile = opts.stateFile;
    if (stateFile !== undefined) {
      const state = readClusterState(stateFile, this.logger, (st) => compatibilityIssues(st, this.namespace, this.gpuStates));
      this.saver = new CoalescingSaver({
        save: () => writeFileAtomically(stateFile, `${JSON.stringify(this.snapshot())}\n`),
        delayMs: opts.saveDelayMs ?? 200,
        onError: (err) => this.logger.error({ path: stateFile, error: String(err) }, 'cluster state not saved'),
      });
      if (state) this.restore(state);
    }
  }

  /** The state as the state file holds it. */
  private snapshot(): ClusterState {
    const services = [...this.services.values()].map(view).map((s) => ({
      ...s,
      revisions: s.revisions.map((r) => ({ ...r, replicas: r.replicas.map((x) => ({ id: x.id, sliceId: x.sliceId, node: x.node, gpu: x.gpu, phase: x.phase })) })),
    }));
    return { format: CLUSTER_STATE_FORMAT, version: CLUSTER_STATE_VERSION, savedAt: new Date().toISOString(), namespace: this.namespace, gpus: this.gpuStates, services };
  }

  listServices(): readonly ServiceView[] {
    return [...this.services.values()].map(view);
  }

  getService(name: string): ServiceView | undefined {
    const s = this.services.get(name);
    return s ? view(s) : undefined;
  }

  ensureService(name: string, modelId: string): Promise<ServiceView> {
    return settled(() => {
      let s = this.services.get(name);
      if (!s) {
        s = { name, modelId, generation: 0, revisions: new Map(), traffic: [], condition: NO_CAPACITY, rollout: null };
        this.services.set(name, s);
        this.changed(s);
      }
      return view(s);
    });
  }

  gpus(): readonly GpuState[] {
    return this.gpuStates;
  }

  applyGpuLayouts(layouts: readonly GpuState[]): Promise<void> {
    return settled(() => {
      const next = this.gpuStates.map((g) => layouts.find((l) => l.node === g.node && l.index === g.index) ?? g);
      for (const l of layouts) {
        if (!this.gpuStates.some((g) => g.node === l.node && g.index === l.index)) {
          throw new SsisError('SSIS_GEOMETRY_VIOLATION', `no GPU ${l.node}/gpu${l.index} in the cluster`, { issues: [{ field: `${l.node}/gpu${l.index}`, message: 'unknown GPU' }] });
        }
      }
      assertValidCluster(next);
      // A slice still used by a running replica may not disappear (the driver refuses: "In use").
      for (const g of this.gpuStates) {
        const after = next.find((n) => n.node === g.node && n.index === g.index)!;
        for (const inst of g.instances) {
          if (inst.owner === null || !this.replicaExists(inst.owner)) continue;
          const kept = after.instances.find((i) => i.id === inst.id);
          if (!kept || kept.owner !== inst.owner) {
            throw new SsisError('SSIS_GEOMETRY_VIOLATION', `slice ${inst.id} on ${g.node}/gpu${g.index} is in use by ${inst.owner}`, { issues: [{ field: inst.id, message: 'in use' }] });
          }
        }
      }
      this.gpuStates = next;
      this.saver?.changed();
    });
  }

  beginDecision(service: string, decisionId: string, fromGeneration: number): Promise<boolean> {
    return settled(() => {
      const s = this.require(service);
      if (s.generation !== fromGeneration) return false;
      s.generation += 1;
      s.rollout = decisionId;
      // A new attempt clears an earlier placement failure, so held requests wait for this one.
      if (s.condition.reason === 'Unschedulable') s.condition = { ready: false, reason: 'Deploying', message: `applying ${decisionId}` };
      this.changed(s);
      return true;
    });
  }

  endRollout(service: string, decisionId: string): Promise<void> {
    return settled(() => {
      const s = this.require(service);
      if (s.rollout === decisionId) s.rollout = null;
      this.changed(s);
    });
  }

  createRevision(service: string, r: { name: string; profile: string; gpuModel: string; decisionId: string; maxBatchSize?: number }): Promise<void> {
    return settled(() => {
      const s = this.require(service);
      if (s.revisions.has(r.name)) return;
      s.revisions.set(r.name, { ...r, replicas: new Map() });
      this.changed(s);
    });
  }

  startReplica(service: string, revision: string, r: { id: string; sliceId: string; node: string; gpu: number }): Promise<ReplicaView> {
    const s = this.require(service);
    const rev = s.revisions.get(revision);
    if (!rev) throw new SsisError('SSIS_NOT_FOUND', `revision ${revision} of ${service} does not exist`);
    const existing = rev.replicas.get(r.id);
    if (existing?.started) return existing.started;
    const spec = this.opts.catalog.get(s.modelId);
    if (!spec) throw new SsisError('SSIS_UNKNOWN_MODEL', `model ${s.modelId} is not in the catalog`);
    const replica: Replica = { ...r, revision, phase: 'starting', server: null, started: null, outstanding: 0 };
    rev.replicas.set(r.id, replica);
    this.changed(s);
    return this.launch(s, rev, replica);
  }

  /** Starts the replica's inference server and loads its model; the replica is ready after. */
  private launch(s: Service, rev: Revision, replica: Replica): Promise<ReplicaView> {
    const spec = this.opts.catalog.get(s.modelId);
    if (!spec) throw new SsisError('SSIS_UNKNOWN_MODEL', `model ${s.modelId} is not in the catalog`);
    replica.started = (async () => {
      const server = new EmulatedInferenceServer({
        modelId: s.modelId,
        engine: withBatchLimit(engineConfigFor(spec, rev.gpuModel, rev.profile), rev.maxBatchSize),
        maxModelLen: spec.maxModelLen,
        defaultMaxNewTokens: spec.defaultMaxNewTokens,
      });
      replica.server = server;
      await server.start();
      // Model load (image present, weights read, engine warm-up) before the replica is Ready.
      await sleep(spec.loadSeconds * 1000 * (this.opts.loadTimeScale ?? 1));
      replica.phase = 'ready';
      this.logger.info({ service: s.name, revision: rev.name, replica: replica.id, slice: replica.sliceId, url: server.url }, 'replica ready');
      this.changed(s);
      return replicaView(replica);
    })();
    return replica.started;
  }

  async stopReplica(service: string, replicaId: string): Promise<void> {
    const s = this.require(service);
    for (const rev of s.revisions.values()) {
      const replica = rev.replicas.get(replicaId);
      if (!replica) continue;
      replica.phase = 'draining';
      this.changed(s);
      await replica.started?.catch(() => undefined);
      await replica.server?.stop();
      rev.replicas.delete(replicaId);
      this.releaseSlice(replicaId);
      this.changed(s);
      return;
    }
  }

  setTraffic(service: string, traffic: readonly TrafficTarget[]): Promise<void> {
    return settled(() => {
      const s = this.require(service);
      const total = traffic.reduce((sum, t) => sum + t.percent, 0);
      if (traffic.length > 0 && total !== 100) throw new SsisError('SSIS_INVALID_CONFIG', `traffic of ${service} sums to ${total}, must be 100`);
      for (const t of traffic) if (!s.revisions.has(t.revision)) throw new SsisError('SSIS_NOT_FOUND', `traffic names unknown revision ${t.revision}`);
      s.traffic = [...traffic];
      if (traffic.length > 0) s.condition = { ready: true, reason: 'Ready', message: `serving ${traffic.map((t) => `${t.revision} ${t.percent}%`).join(', ')}` };
      this.changed(s);
    });
  }

  async deleteRevision(service: string, revision: string): Promise<void> {
    const s = this.require(service);
    const rev = s.revisions.get(revision);
    if (!rev) return;
    // Deleting a revision that still receives traffic would break the route (Knative refuses too).
    if (s.traffic.some((t) => t.revision === revision && t.percent > 0)) {
      throw new SsisError('SSIS_INVALID_CONFIG', `revision ${revision} still receives traffic`);
    }
    await Promise.all([...rev.replicas.keys()].map((id) => this.stopReplica(service, id)));
    s.revisions.delete(revision);
    s.traffic = s.traffic.filter((t) => t.revision !== revision);
    this.changed(s);
  }

  setCondition(service: string, condition: ServiceCondition): Promise<void> {
    return settled(() => {
      const s = this.require(service);
      s.condition = condition;
      this.changed(s);
    });
  }

  acquireRoute(service: string): RouteLease | null {
    const s = this.services.get(service);
    if (!s) return null;
    const candidates = s.traffic
      .filter((t) => t.percent > 0)
      .map((t) => ({ t, ready: [...(s.revisions.get(t.revision)?.replicas.values() ?? [])].filter((r) => r.phase === 'ready') }))
      .filter((c) => c.ready.length > 0);
    if (candidates.length === 0) return null;
    const total = candidates.reduce((sum, c) => sum + c.t.percent, 0);
    let pick = this.random() * total;
    const chosen = candidates.find((c) => (pick -= c.t.percent) < 0) ?? candidates[candidates.length - 1]!;
    const replica = chosen.ready.reduce((best, r) => (r.outstanding < best.outstanding ? r : best));
    replica.outstanding += 1;
    let released = false;
    return {
      url: replica.server!.url,
      replica: replica.id,
      release: () => {
        if (!released) replica.outstanding -= 1;
        released = true;
      },
    };
  }

  waitForReady(service: string, timeoutMs: number): Promise<ReadyOutcome> {
    const routable = (): boolean => {
      const lease = this.acquireRoute(service);
      lease?.release();
      return lease !== null;
    };
    if (routable()) return Promise.resolve('ready');
    return new Promise((resolve) => {
      const onChange = (name: string): void => {
        if (name !== service) return;
        if (routable()) finish('ready');
        else if (this.services.get(service)?.condition.reason === 'Unschedulable') finish('failed');
      };
      const timer = setTimeout(() => finish('timeout'), timeoutMs);
      const finish = (outcome: ReadyOutcome): void => {
        clearTimeout(timer);
        this.changes.off('change', onChange);
        resolve(outcome);
      };
      this.changes.on('change', onChange);
    });
  }

  scrapeTargets(): readonly ScrapeTarget[] {
    const out: ScrapeTarget[] = [];
    for (const s of this.services.values()) {
      for (const rev of s.revisions.values()) {
        for (const r of rev.replicas.values()) {
          if (r.phase !== 'ready' || !r.server) continue;
          out.push({
            url: `${r.server.url}/metrics`,
            labels: { namespace: this.namespace, service: s.name, revision: rev.name, pod: r.id, node: r.node, gpu: String(r.gpu), profile: rev.profile },
          });
        }
      }
    }
    return out;
  }

  /**
   * Saves the state, then stops every replica (used when the embedded stack shuts down). What the
   * stop itself changes is not saved: the next start restores the replicas as they ran.
   */
  async shutdown(): Promise<void> {
    this.saver?.stop();
    const stops: Promise<void>[] = [];
    for (const s of this.services.values()) for (const rev of s.revisions.values()) for (const id of rev.replicas.keys()) stops.push(this.stopReplica(s.name, id));
    await Promise.all(stops);
  }

  private replicaExists(id: string): boolean {
    for (const s of this.services.values()) for (const rev of s.revisions.values()) if (rev.replicas.has(id)) return true;
    return false;
  }

  private releaseSlice(owner: string): void {
    // The MIG instance stays (mig-manager does not destroy idle instances); it becomes free.
    this.gpuStates = this.gpuStates.map((g) =>
      g.instances.some((i) => i.owner === owner) ? { ...g, instances: g.instances.map((i) => (i.owner === owner ? { ...i, owner: null } : i)) } : g,
    );
    this.saver?.changed();
  }

  /** Takes over a saved state: layouts and services as they were, replicas started again. */
  private restore(state: ClusterState): void {
    const plan = planRestore(state, (modelId) => this.opts.catalog.get(modelId) !== undefined);
    for (const note of plan.notes) this.logger.warn({ service: note.service }, note.message);
    this.gpuStates = plan.gpus;
    for (const saved of plan.services) {
      const s: Service = { name: saved.name, modelId: saved.modelId, generation: saved.generation, revisions: new Map(), traffic: [...saved.traffic], condition: saved.condition, rollout: saved.rollout };
      this.services.set(s.name, s);
      for (const r of saved.revisions) {
        const rev: Revision = { name: r.name, profile: r.profile, gpuModel: r.gpuModel, decisionId: r.decisionId, ...(r.maxBatchSize === undefined ? {} : { maxBatchSize: r.maxBatchSize }), replicas: new Map() };
        s.revisions.set(rev.name, rev);
        for (const x of r.replicas) {
          const replica: Replica = { id: x.id, revision: rev.name, sliceId: x.sliceId, node: x.node, gpu: x.gpu, phase: 'starting', server: null, started: null, outstanding: 0 };
          rev.replicas.set(replica.id, replica);
          this.launch(s, rev, replica).catch((err: unknown) => this.restartFailed(s, rev, replica, err));
        }
      }
    }
    const replicas = plan.services.reduce((n, s) => n + s.revisions.reduce((m, r) => m + r.replicas.length, 0), 0);
    this.logger.info({ services: plan.services.length, replicas, savedAt: state.savedAt }, 'cluster state restored');
    this.saver?.changed();
  }

  /** A restored replica whose server could not start again is removed and its slice freed. */
  private restartFailed(s: Service, rev: Revision, replica: Replica, err: unknown): void {
    this.logger.error({ service: s.name, replica: replica.id, error: String(err) }, 'restored replica failed to start: removed');
    if (rev.replicas.get(replica.id) !== replica) return;
    rev.replicas.delete(replica.id);
    this.releaseSlice(replica.id);
    this.changed(s);
  }

  private require(name: string): Service {
    const s = this.services.get(name);
    if (!s) throw new SsisError('SSIS_NOT_FOUND', `service ${name} does not exist`);
    return s;
  }

  private changed(s: Service): void {
    this.saver?.changed();
    this.changes.emit('change', s.name);
  }
}

function replicaView(r: Replica): ReplicaView {
  return { id: r.id, revision: r.revision, sliceId: r.sliceId, node: r.node, gpu: r.gpu, phase: r.phase, url: r.server?.url || null };
}

function view(s: Service): ServiceView {
  const revisions: RevisionView[] = [...s.revisions.values()].map((r) => ({
    name: r.name,
    profile: r.profile,
    gpuModel: r.gpuModel,
    decisionId: r.decisionId,
    ...(r.maxBatchSize === undefined ? {} : { maxBatchSize: r.maxBatchSize }),
    replicas: [...r.replicas.values()].map(replicaView),
  }));
  return { name: s.name, modelId: s.modelId, generation: s.generation, revisions, traffic: [...s.traffic], condition: s.condition, rollout: s.rollout };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The revision's batch limit (the decided `maxBatchSize`), never above what the engine allows. */
function withBatchLimit(engine: EngineConfig, maxBatchSize: number | undefined): EngineConfig {
  return maxBatchSize === undefined ? engine : { ...engine, maxBatchSize: Math.max(1, Math.min(engine.maxBatchSize, maxBatchSize)) };
}

/**
 * The simulated cluster changes its state at once; the port's writes are asynchronous because a
 * real API server's are. A synchronous refusal becomes a rejection, as it would be there.
 */
function settled<T>(change: () => T): Promise<T> {
  try {
    return Promise.resolve(change());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
