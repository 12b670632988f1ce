/**
 * The cluster port: what the functions need from "the cluster". The embedded adapter is the
 * simulated cluster (infra/cluster/simulated.ts); in a real cluster the same calls map to Knative Serving
 * (Services, Revisions, traffic) and node labels for MIG (nvidia.com/mig.config).
 */
import type { GpuState } from '../mig/layout';

export interface TrafficTarget {
  readonly revision: string;
  readonly percent: number;
}

export type ReplicaPhase = 'starting' | 'ready' | 'draining';

export interface ReplicaView {
  readonly id: string;
  readonly revision: string;
  readonly sliceId: string;
  readonly node: string;
  readonly gpu: number;
  readonly phase: ReplicaPhase;
  readonly url: string | null;
}

export interface RevisionView {
  readonly name: string;
  readonly profile: string;
  readonly gpuModel: string;
  readonly decisionId: string;
  /** Most requests a replica batches (vLLM `--max-num-seqs`); absent = the model's catalog limit. */
  readonly maxBatchSize?: number;
  readonly replicas: readonly ReplicaView[];
}

export interface ServiceCondition {
  readonly ready: boolean;
  readonly reason: string;
  readonly message: string;
}

export interface ServiceView {
  readonly name: string;
  readonly modelId: string;
  readonly generation: number;
  readonly revisions: readonly RevisionView[];
  readonly traffic: readonly TrafficTarget[];
  readonly condition: ServiceCondition;
  /** Decision whose rollout is under way, if any. */
  readonly rollout: string | null;
}

/** A replica's metrics endpoint; its labels are those Prometheus would attach: namespace, service, revision, pod, node, gpu, profile. */
export interface ScrapeTarget {
  readonly url: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface RouteLease {
  readonly url: string;
  readonly replica: string;
  release(): void;
}

export type ReadyOutcome = 'ready' | 'failed' | 'timeout';

/**
 * Reads are synchronous: they answer from the adapter's view of the cluster (the simulated
 * cluster's state; a Kubernetes adapter's watch cache, which its own writes update at once).
 * Writes are asynchronous: against a real API server each is a request that may conflict, be
 * refused or wait for a controller (a repartition waits for the mig-manager).
 */
export interface ClusterPort {
  readonly namespace: string;
  listServices(): readonly ServiceView[];
  getService(name: string): ServiceView | undefined;
  /** Creates the service (no revision, generation 0) if it does not exist; returns it. */
  ensureService(name: string, modelId: string): Promise<ServiceView>;
  gpus(): readonly GpuState[];
  /**
   * Applies the given layouts of the GPUs they name (instances created and destroyed at their
   * positions) and resolves once the cluster reports them applied; rejects with a
   * non-retriable SsisError when the node could not be repartitioned.
   */
  applyGpuLayouts(layouts: readonly GpuState[]): Promise<void>;
  /**
   * Accepts a decision computed from `fromGeneration`: bumps the generation and marks the rollout.
   * Resolves false (and changes nothing) when the generation moved on: the decision is stale or a duplicate.
   */
  beginDecision(service: string, decisionId: string, fromGeneration: number): Promise<boolean>;
  endRollout(service: string, decisionId: string): Promise<void>;
  createRevision(service: string, revision: { name: string; profile: string; gpuModel: string; decisionId: string; maxBatchSize?: number }): Promise<void>;
  /** Starts a replica on a slice and resolves when it is ready (model loaded). Idempotent per id. */
  startReplica(service: string, revision: string, replica: { id: string; sliceId: string; node: string; gpu: number }): Promise<ReplicaView>;
  /** Drains a replica (in-flight requests finish), stops it and frees its slice. */
  stopReplica(service: string, replicaId: string): Promise<void>;
  setTraffic(service: string, traffic: readonly TrafficTarget[]): Promise<void>;
  deleteRevision(service: string, revision: string): Promise<void>;
  setCondition(service: string, condition: ServiceCondition): Promise<void>;
  /** Picks where to send one request: a ready replica by traffic split and least outstanding requests (activator + queue-proxy), or the service's own address. */
  acquireRoute(service: string): RouteLease | null;
  waitForReady(service: string, timeoutMs: number): Promise<ReadyOutcome>;
  scrapeTargets(): readonly ScrapeTarget[];
}
