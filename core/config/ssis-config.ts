/**
 * SSIS's own settings: ConfigMap `ssis-config`, key `ssis.yaml`. Units are in the field names.
 * The `cluster` block describes the simulated cluster and is read by the embedded mode only.
 */
import { FieldReader } from '../common/fields';
import { validationError } from '../errors';
import { findGpuModel } from '../mig/geometry';

/** How the evaluate stage scales the services of a class. */
export const SCALING_POLICIES = ['inferno', 'ssis-ladder'] as const;
export type ScalingPolicyName = (typeof SCALING_POLICIES)[number];

/** Inferno's best-effort policies when capacity runs out (notes/inferno.md §5.2). */
export const SATURATION_POLICY_NAMES = ['None', 'PriorityExhaustive', 'PriorityRoundRobin', 'RoundRobin'] as const;

export interface ModelSloConfig {
  readonly modelId: string;
  /** ms; 0 = not considered. */
  readonly ttftMs: number;
  /** ms; 0 = not considered. */
  readonly itlMs: number;
}

/** A service class (Inferno's): a priority, a scaling policy and the SLOs of its models. */
export interface ServiceClassConfig {
  readonly name: string;
  /** 1 = highest … 100 = lowest. */
  readonly priority: number;
  readonly policy: ScalingPolicyName;
  /** SLOs of the class's models unless a model entry overrides them. */
  readonly ttftMs: number;
  readonly itlMs: number;
  /** Models that belong to this class (others belong to ingress.defaultServiceClass), with their SLOs. */
  readonly models: readonly ModelSloConfig[];
}

export interface OptimizerConfig {
  /** Offer MIG profiles as accelerator types. */
  readonly mig: boolean;
  /** MPS client counts per GPU to offer (the cluster must run MPS); empty = none. */
  readonly mpsClients: readonly number[];
  readonly saturationPolicy: (typeof SATURATION_POLICY_NAMES)[number];
  /** cents/hour per whole GPU, overriding the built-in table. */
  readonly gpuCostCentsPerHour: Readonly<Record<string, number>>;
  /** Samples older than this are left out of the joint optimization (the service went quiet). */
  readonly sampleMaxAgeSec: number;
  /** Waiting requests count as demand that must clear within this long (core/scaling/inferno-policy). */
  readonly backlogDrainSec: number;
  /** Capacity planned above the measured demand, as a fraction (0.2 = size for 120 %): room for bursts. */
  readonly headroom: number;
}

export interface SimulatedNodeConfig {
  readonly name: string;
  readonly gpus: readonly { readonly model: string; readonly count: number }[];
}

export interface SsisConfig {
  readonly namespace: string;
  readonly ingress: {
    readonly capacityWaitTimeoutSec: number;
    readonly retryAfterSec: number;
    readonly upstreamTimeoutSec: number;
    readonly defaultServiceClass: string;
    readonly maxBodyBytes: number;
    /**
     * Most requests waiting for one service, whatever its capacity (the admission queue's bound is
     * the smaller of this and what the capacity clears within the class's TTFT SLO); while the
     * service cold-starts, all of it may wait.
     */
    readonly maxQueuedPerService: number;
  };
  readonly sampler: { readonly windowSec: number };
  readonly scaler: {
    readonly minReplicas: number;
    readonly maxReplicas: number;
    readonly stabilizationWindowSec: number;
    readonly upCooldownSec: number;
    readonly pendingTimeoutSec: number;
    readonly placementBackoffSec: number;
    readonly scaleToZeroAfterSec: number;
    /**
     * A rollout whose service shows no change (no replica started, ready or gone, no traffic moved)
     * for this long is failed and its rollout released, so that a lost slice-reconfigured cannot
     * hold the service in "rollout in progress" for good. Longer than the slowest model load.
     */
    readonly rolloutTimeoutSec: number;
  };
  readonly cluster: { readonly loadTimeScale: number; readonly nodes: readonly SimulatedNodeConfig[] };
  readonly serviceClasses: readonly ServiceClassConfig[];
  readonly optimizer: OptimizerConfig;
}

export const DEFAULT_TTFT_SLO_MS = 1000;
export const DEFAULT_ITL_SLO_MS = 50;

/** The class of a model: the one listing it, else the ingress's default class. */
export function serviceClassOf(config: Pick<SsisConfig, 'serviceClasses' | 'ingress'>, modelId: string): ServiceClassConfig {
  const listed = config.serviceClasses.find((c) => c.models.some((m) => m.modelId === modelId));
  return listed ?? config.serviceClasses.find((c) => c.name === config.ingress.defaultServiceClass) ?? config.serviceClasses[0]!;
}

/** The SLOs of a model in a class. */
export function sloOf(serviceClass: ServiceClassConfig, modelId: string): { ttftMs: number; itlMs: number } {
  const m = serviceClass.models.find((x) => x.modelId === modelId);
  return { ttftMs: m?.ttftMs ?? serviceClass.ttftMs, itlMs: m?.itlMs ?? serviceClass.itlMs };
}

function parseServiceClasses(r: FieldReader, raw: unknown, defaultName: string): ServiceClassConfig[] {
  if (raw === undefined) {
    return [{ name: defaultName, priority: 1, policy: 'inferno', ttftMs: DEFAULT_TTFT_SLO_MS, itlMs: DEFAULT_ITL_SLO_MS, models: [] }];
  }
  const out: ServiceClassConfig[] = [];
  const owner = new Map<string, string>();
  (r.array(raw, 'serviceClasses') ?? []).forEach((item, k) => {
    const f = r.child('serviceClasses').child(k);
    const o = f.object(item, '');
    if (!o) return;
    f.unknownKeys(o, ['name', 'priority', 'policy', 'ttftMs', 'itlMs', 'models']);
    const name = f.string(o, 'name');
    const priority = f.number(o, 'priority', { optional: true, min: 1, max: 100, integer: true }) ?? 1;
    const policy = f.string(o, 'policy', { optional: true }) ?? 'inferno';
    if (!(SCALING_POLICIES as readonly string[]).includes(policy)) f.fail('policy', `must be one of ${SCALING_POLICIES.join(', ')}, got "${policy}"`);
    const ttftMs = f.number(o, 'ttftMs', { optional: true, min: 0 }) ?? DEFAULT_TTFT_SLO_MS;
    const itlMs = f.number(o, 'itlMs', { optional: true, min: 0 }) ?? DEFAULT_ITL_SLO_MS;
    const models: ModelSloConfig[] = [];
    (o['models'] === undefined ? [] : (f.array(o['models'], 'models') ?? [])).forEach((m, mi) => {
      const mf = f.child('models').child(mi);
      const mo = mf.object(m, '');
      if (!mo) return;
      mf.unknownKeys(mo, ['modelId', 'ttftMs', 'itlMs']);
      const modelId = mf.string(mo, 'modelId');
      const mt = mf.number(mo, 'ttftMs', { optional: true, min: 0 });
      const mi2 = mf.number(mo, 'itlMs', { optional: true, min: 0 });
      if (modelId === undefined) return;
      const before = owner.get(modelId);
      if (before !== undefined) mf.fail('modelId', `${modelId} is already in service class "${before}"; a model belongs to one class`);
      if (name !== undefined) owner.set(modelId, name);
      models.push({ modelId, ttftMs: mt ?? ttftMs, itlMs: mi2 ?? itlMs });
    });
    if (name === undefined) return;
    if (out.some((c) => c.name === name)) f.fail('name', `duplicate service class "${name}"`);
    out.push({ name, priority, policy: policy as ScalingPolicyName, ttftMs, itlMs, models });
  });
  if (out.length === 0) r.fail('serviceClasses', 'must define at least one class');
  else if (!out.some((c) => c.name === defaultName)) r.fail('serviceClasses', `must define the ingress.defaultServiceClass "${defaultName}"`);
  return out;
}

function parseOptimizer(r: FieldReader, raw: unknown): OptimizerConfig {
  const f = r.child('optimizer');
  const o = raw === undefined ? {} : (f.object(raw, '') ?? {});
  f.unknownKeys(o, ['mig', 'mpsClients', 'saturationPolicy', 'gpuCostCentsPerHour', 'sampleMaxAgeSec', 'backlogDrainSec', 'headroom']);
  const mpsClients: number[] = [];
  (o['mpsClients'] === undefined ? [] : (f.array(o['mpsClients'], 'mpsClients') ?? [])).forEach((n, k) => {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 2 || n > 48) f.child('mpsClients').fail(k, `must be an integer from 2 to 48 (MPS clients per GPU), got ${JSON.stringify(n)}`);
    else mpsClients.push(n);
  });
  // Not Inferno's default (None): a service whose demand exceeds what is left should get what is left,
  // not keep its current, smaller allocation while its queue grows.
  const saturationPolicy = f.string(o, 'saturationPolicy', { optional: true }) ?? 'PriorityExhaustive';
  if (!(SATURATION_POLICY_NAMES as readonly string[]).includes(saturationPolicy)) f.fail('saturationPolicy', `must be one of ${SATURATION_POLICY_NAMES.join(', ')}, got "${saturationPolicy}"`);
  const gpuCostCentsPerHour: Record<string, number> = {};
  const costs = o['gpuCostCentsPerHour'] === undefined ? {} : (f.object(o['gpuCostCentsPerHour'], 'gpuCostCentsPerHour') ?? {});
  for (const model of Object.keys(costs)) {
    const cf = f.child('gpuCostCentsPerHour');
    const canonical = findGpuModel(model)?.name;
    if (canonical === undefined) cf.fail(model, 'unknown GPU model');
    const v = cf.number(costs, model, { exclusiveMin: 0 });
    // Kept under the canonical name, which the optimizer looks up (an alias would lose to the built-in cost).
    if (v !== undefined && canonical !== undefined) gpuCostCentsPerHour[canonical] = v;
  }
  return {
    mig: f.boolean(o, 'mig', true),
    mpsClients,
    saturationPolicy: saturationPolicy as OptimizerConfig['saturationPolicy'],
    gpuCostCentsPerHour,
    sampleMaxAgeSec: f.number(o, 'sampleMaxAgeSec', { optional: true, exclusiveMin: 0 }) ?? 60,
    backlogDrainSec: f.number(o, 'backlogDrainSec', { optional: true, min: 0 }) ?? 20,
    headroom: f.number(o, 'headroom', { optional: true, min: 0, max: 10 }) ?? 0,
  };
}

export function parseSsisConfig(doc: unknown, where = 'ssis.yaml'): SsisConfig {
  const r = new FieldReader(where);
  const root = r.object(doc ?? {}, '') ?? {};
  r.unknownKeys(root, ['namespace', 'ingress', 'sampler', 'scaler', 'cluster', 'serviceClasses', 'optimizer']);
  const section = (name: string, known: readonly string[]): [FieldReader, Record<string, unknown>] => {
    const f = r.child(name);
    const o = root[name] === undefined ? {} : (f.object(root[name], '') ?? {});
    f.unknownKeys(o, known);
    return [f, o];
  };
  const [i, io] = section('ingress', ['capacityWaitTimeoutSec', 'retryAfterSec', 'upstreamTimeoutSec', 'defaultServiceClass', 'maxBodyBytes', 'maxQueuedPerService']);
  const [sa, so] = section('sampler', ['windowSec']);
  const [sc, sco] = section('scaler', ['minReplicas', 'maxReplicas', 'stabilizationWindowSec', 'upCooldownSec', 'pendingTimeoutSec', 'placementBackoffSec', 'scaleToZeroAfterSec', 'rolloutTimeoutSec']);
  const [c, co] = section('cluster', ['loadTimeScale', 'nodes']);
  const nodes: SimulatedNodeConfig[] = [];
  const nodeList = co['nodes'] === undefined ? [] : (c.array(co['nodes'], 'nodes') ?? []);
  nodeList.forEach((n, k) => {
    const nf = c.child('nodes').child(k);
    const no = nf.object(n, '');
    if (!no) return;
    nf.unknownKeys(no, ['name', 'gpus']);
    const name = nf.string(no, 'name');
    const gpus: { model: string; count: number }[] = [];
    (nf.array(no['gpus'], 'gpus') ?? []).forEach((g, gi) => {
      const gf = nf.child('gpus').child(gi);
      const go = gf.object(g, '');
      if (!go) return;
      gf.unknownKeys(go, ['model', 'count']);
      const model = gf.string(go, 'model');
      const count = gf.number(go, 'count', { min: 1, integer: true });
      if (model !== undefined && count !== undefined) gpus.push({ model, count });
    });
    if (name !== undefined) nodes.push({ name, gpus });
  });
  const config: SsisConfig = {
    namespace: r.string(root, 'namespace', { optional: true }) ?? 'ssis',
    ingress: {
      capacityWaitTimeoutSec: i.number(io, 'capacityWaitTimeoutSec', { optional: true, exclusiveMin: 0 }) ?? 60,
      retryAfterSec: i.number(io, 'retryAfterSec', { optional: true, min: 1, integer: true }) ?? 5,
      upstreamTimeoutSec: i.number(io, 'upstreamTimeoutSec', { optional: true, exclusiveMin: 0 }) ?? 300,
      defaultServiceClass: i.string(io, 'defaultServiceClass', { optional: true }) ?? 'default',
      maxBodyBytes: i.number(io, 'maxBodyBytes', { optional: true, min: 1024, integer: true }) ?? 1 << 20,
      maxQueuedPerService: i.number(io, 'maxQueuedPerService', { optional: true, min: 1, integer: true }) ?? 256,
    },
    sampler: { windowSec: sa.number(so, 'windowSec', { optional: true, exclusiveMin: 0 }) ?? 20 },
    scaler: {
      minReplicas: sc.number(sco, 'minReplicas', { optional: true, min: 1, integer: true }) ?? 1,
      maxReplicas: sc.number(sco, 'maxReplicas', { optional: true, min: 1, integer: true }) ?? 4,
      stabilizationWindowSec: sc.number(sco, 'stabilizationWindowSec', { optional: true, min: 0 }) ?? 30,
      upCooldownSec: sc.number(sco, 'upCooldownSec', { optional: true, min: 0 }) ?? 10,
      pendingTimeoutSec: sc.number(sco, 'pendingTimeoutSec', { optional: true, exclusiveMin: 0 }) ?? 180,
      placementBackoffSec: sc.number(sco, 'placementBackoffSec', { optional: true, min: 0 }) ?? 30,
      scaleToZeroAfterSec: sc.number(sco, 'scaleToZeroAfterSec', { optional: true, min: 0 }) ?? 0,
      rolloutTimeoutSec: sc.number(sco, 'rolloutTimeoutSec', { optional: true, exclusiveMin: 0 }) ?? 600,
    },
    cluster: { loadTimeScale: c.number(co, 'loadTimeScale', { optional: true, min: 0 }) ?? 1, nodes },
    serviceClasses: [],
    optimizer: parseOptimizer(r, root['optimizer']),
  };
  const withClasses: SsisConfig = { ...config, serviceClasses: parseServiceClasses(r, root['serviceClasses'], config.ingress.defaultServiceClass) };
  if (config.scaler.maxReplicas < config.scaler.minReplicas) r.child('scaler').fail('maxReplicas', 'must be >= minReplicas');
  if (r.issues.length > 0) throw validationError('SSIS_INVALID_CONFIG', `invalid ${where}`, r.issues);
  return withClasses;
}
