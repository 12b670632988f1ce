/**
 * Shared set-up for the per-stage function tests: the REAL configuration (knative/configmaps.yaml
 * through loadManifests + configurationFrom), a REAL SimulatedCluster with emulated replicas that
 * load fast, deterministic clock and ids, and the few FAKES a handler's context needs (named as
 * such below). Handlers are called directly: fn.onEvent(event, ctx).
 */
import { join, resolve } from 'node:path';
import type { Registry } from 'prom-client';
import type { ModelCatalog, ModelSpec } from '../../core/catalog/model-catalog';
import { ManualClock, sequentialIds, type Clock, type IdSource, type LogFields, type Logger } from '../../core/common/ports';
import { firstFit } from '../../core/mig/first-fit';
import type { GpuState } from '../../core/mig/layout';
import { revisionName } from '../../core/naming';
import { createEvent } from '../../events/create';
import type { SsisEvent } from '../../events/envelope';
import type { ClusterPort, ServiceView } from '../../core/ports/cluster';
import { SimulatedCluster } from '../../infra/cluster/simulated';
import { configurationFrom, type SsisConfiguration } from '../../infra/config/from-configmaps';
import { loadManifests, type KnativeManifests } from '../../infra/knative/manifests';
import type { FunctionContext } from '../../functions/runtime/function';
import type { EventPublisher } from '../../events/publisher';
import { createFunctionRegistry } from '../../functions/runtime/server';

export const ROOT = resolve(__dirname, '..', '..');
/** The shipped manifests and ConfigMaps, read exactly as the embedded stack reads them. */
export const MANIFESTS: KnativeManifests = loadManifests(join(ROOT, 'knative'));
export const CONFIG: SsisConfiguration = configurationFrom(MANIFESTS.configMaps);

export const A100 = 'A100-SXM4-40GB';
export const T0 = Date.parse('2026-03-02T09:00:00.000Z');
export const iso = (ms: number): string => new Date(ms).toISOString();

export const MODELS = {
  gpt2: 'openai-community/gpt2',
  llama1b: 'meta-llama/Llama-3.2-1B-Instruct',
  llama8b: 'meta-llama/Meta-Llama-3-8B',
  mistral: 'mistralai/Mistral-7B-v0.1',
  granite: 'ibm-granite/granite-13b-instruct-v2',
} as const;

export function spec(modelId: string, catalog: ModelCatalog = CONFIG.catalog): ModelSpec {
  const s = catalog.get(modelId);
  if (!s) throw new Error(`${modelId} is not in the catalog`);
  return s;
}

/** The real catalog with some entries added or replaced (for models the shipped catalog lacks). */
export function catalogWith(...specs: ModelSpec[]): ModelCatalog {
  const out = new Map(CONFIG.catalog);
  for (const s of specs) out.set(s.modelId, s);
  return out;
}

/**
 * A REAL simulated cluster: one node (`node-a`) with `count` GPUs of `model`. Model loads take
 * 1 % of their catalog time; routing is deterministic (random() = 0).
 */
export function newCluster(count = 1, model = A100, catalog: ModelCatalog = CONFIG.catalog): SimulatedCluster {
  return new SimulatedCluster({ namespace: CONFIG.ssis.namespace, nodes: [{ name: 'node-a', gpus: [{ model, count }] }], catalog, loadTimeScale: 0.01, random: () => 0 });
}

/** FAKE EventPublisher (stands in for the broker ingress): records every published event, in order. */
export class RecordingPublisher implements EventPublisher {
  readonly events: SsisEvent[] = [];
  publish(event: SsisEvent): Promise<void> {
    this.events.push(event);
    return Promise.resolve();
  }
}

export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly fields: LogFields;
  readonly msg: string;
}

/** FAKE Logger: keeps every line so a test can check what a handler reported. */
export class RecordingLogger implements Logger {
  constructor(readonly lines: LogLine[] = []) {}
  debug(fields: LogFields, msg: string): void {
    this.lines.push({ level: 'debug', fields, msg });
  }
  info(fields: LogFields, msg: string): void {
    this.lines.push({ level: 'info', fields, msg });
  }
  warn(fields: LogFields, msg: string): void {
    this.lines.push({ level: 'warn', fields, msg });
  }
  error(fields: LogFields, msg: string): void {
    this.lines.push({ level: 'error', fields, msg });
  }
  child(): Logger {
    return new RecordingLogger(this.lines);
  }
}

export interface Harness {
  readonly clock: ManualClock;
  /** Ids of the events the handler makes. */
  readonly ids: IdSource;
  /** Ids of the events a test feeds in (kept apart so that the handler's ids are predictable). */
  readonly inputIds: IdSource;
  readonly publisher: RecordingPublisher;
  readonly logger: RecordingLogger;
  readonly registry: Registry;
  readonly ctx: FunctionContext;
}

export function harness(name: string): Harness {
  const clock = new ManualClock(T0);
  const publisher = new RecordingPublisher();
  const logger = new RecordingLogger();
  const registry = createFunctionRegistry(name);
  return { clock, ids: sequentialIds(name), inputIds: sequentialIds(`in-${name}`), publisher, logger, registry, ctx: { logger, publisher, registry } };
}

/** An input event, made the way its producer makes it (createEvent checks the data against its schema). */
export function eventOf<T extends { readonly service: string }>(type: string, data: T, source: string, h: { clock: Clock; inputIds: IdSource }): SsisEvent<T> {
  return createEvent(type, data, { source, clock: h.clock, ids: h.inputIds });
}

/** A deep copy of the GPUs, to compare before and after. */
export function gpuSnapshot(cluster: ClusterPort): GpuState[] {
  return JSON.parse(JSON.stringify(cluster.gpus())) as GpuState[];
}

/** MIG instance id → owner (null = free) over the whole cluster. */
export function owners(cluster: ClusterPort): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const g of cluster.gpus()) for (const i of g.instances) out[i.id] = i.owner;
  return out;
}

export function service(cluster: ClusterPort, name: string): ServiceView {
  const s = cluster.getService(name);
  if (!s) throw new Error(`service ${name} does not exist`);
  return s;
}

/**
 * Brings `svc` up to `replicas` ready replicas of `profile` in a new revision straight through the
 * cluster port (no function involved): what reconfigure + rollout would leave behind. Replica ids
 * follow reconfigure's `<revision>-<n>`. Returns the revision name.
 */
export async function deploy(cluster: ClusterPort, svc: string, modelId: string, profile: string, replicas: number, gpuModel = A100): Promise<string> {
  const s = await cluster.ensureService(svc, modelId);
  const decisionId = `${svc}-setup-g${s.generation}`;
  if (!(await cluster.beginDecision(svc, decisionId, s.generation))) throw new Error(`could not begin ${decisionId}`);
  const revision = revisionName(svc, s.generation + 1);
  const ownerIds = Array.from({ length: replicas }, (_, k) => `${revision}-${k + 1}`);
  const plan = firstFit(cluster.gpus(), { profile, count: replicas, ownerIds, gpuModels: [gpuModel] });
  if (plan.unplaced > 0) throw new Error(`test set-up cannot place ${svc}: ${plan.reason ?? ''}`);
  await cluster.applyGpuLayouts(plan.gpus);
  await cluster.createRevision(svc, { name: revision, profile, gpuModel, decisionId });
  await Promise.all(plan.placements.map((p) => cluster.startReplica(svc, revision, { id: p.owner, sliceId: p.instanceId, node: p.node, gpu: p.gpuIndex })));
  const old = service(cluster, svc).revisions.filter((r) => r.name !== revision);
  await cluster.setTraffic(svc, [{ revision, percent: 100 }]);
  await Promise.all(old.map((r) => cluster.deleteRevision(svc, r.name)));
  await cluster.endRollout(svc, decisionId);
  return revision;
}

/** POSTs a TGI call straight to a replica. */
export async function generate(url: string, prompt: string, maxNewTokens: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: prompt, parameters: { max_new_tokens: maxNewTokens } }) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Polls until `probe` returns a value (for things that happen on real timers, e.g. a request reaching a replica). */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
