/**
 * A simulation scenario: the cluster, the services (a model each, with its SLOs), the workload and
 * the control-plane delays. Scenario files are JSON or YAML (decoded by the caller); every problem
 * is reported at once, each naming its field (SSIS_INVALID_CONFIG), like the ConfigMaps.
 */
import { FieldReader } from '../core/common/fields';
import { validationError } from '../core/errors';
import { findGpuModel } from '../core/mig/geometry';

export interface TokenDistribution {
  /** Mean tokens per request. */
  readonly mean: number;
  /** Coefficient of variation (log-normal); 0 = every request has the mean. */
  readonly cv: number;
  readonly min: number;
  readonly max: number;
}

export interface BurstSpec {
  /** A burst starts every `everySec` seconds, first at `offsetSec`. */
  readonly everySec: number;
  readonly durationSec: number;
  /** Rate multiplier during a burst. */
  readonly factor: number;
  readonly offsetSec: number;
}

export interface ServiceMix {
  readonly services: readonly string[];
  /** Share of the requests per service (normalised); equal when absent. */
  readonly weights: readonly number[];
}

export interface GammaWorkload extends ServiceMix {
  readonly kind: 'gamma';
  readonly name: string;
  readonly ratePerSec: number;
  /** Coefficient of variation of the inter-arrival times (1 = Poisson, > 1 bursty). */
  readonly cv: number;
  readonly inputTokens: TokenDistribution;
  readonly outputTokens: TokenDistribution;
  readonly bursts: BurstSpec | null;
}

export type AzureTraceName = 'code' | 'conv';

export interface AzureWorkload extends ServiceMix {
  readonly kind: 'azure';
  readonly name: string;
  readonly trace: AzureTraceName;
  /** Time compression: 2 replays the trace twice as fast (twice the rate, half the duration). */
  readonly speedup: number;
  /** Seconds into the trace where the replay starts. */
  readonly startSec: number;
}

export type WorkloadSpec = GammaWorkload | AzureWorkload;

export interface ServiceSpec {
  readonly name: string;
  readonly model: string;
  readonly slo: { readonly ttftMs: number; readonly itlMs: number };
  /** Whole GPUs this service gets under static-gpu (a), and the GPUs static-mig (c) partitions. */
  readonly staticGpus: number;
}

/** Control-plane delays (notes/perf.md §2.8 item 4, §5.3–5.4). */
export interface ControlDelays {
  /** Metrics sampling period: Prometheus scrape and the sample function's PingSource. */
  readonly metricIntervalSec: number;
  /** From a sample to the decision being acted on (evaluate + broker hops). */
  readonly decisionSec: number;
  /** Creating MIG instances on a GPU (mig-manager relabel, device-plugin re-advertise): no published number, swept. */
  readonly migRepartitionSec: number;
  /** Pod scheduled and containers started (Kubernetes p99 SLO, image present). */
  readonly podStartSec: number;
  /** Multiplier on the catalog's model load time (loadSeconds). */
  readonly loadTimeScale: number;
}

export interface PolicyOptions {
  readonly hpa: {
    readonly targetWaitingPerReplica: number;
    readonly tolerance: number;
    readonly syncSec: number;
    readonly scaleDownStabilizationSec: number;
  };
  readonly maxReplicas: number | null;
  /** Full SSIS: extra capacity over the measured demand, and how long a lower demand must hold before capacity is removed. */
  readonly ssis: { readonly headroom: number; readonly scaleDownStabilizationSec: number };
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly seed: number;
  /** Arrivals stop at this time. */
  readonly durationSec: number;
  /** Extra time allowed for queued requests to finish; the rest are reported unfinished. */
  readonly drainLimitSec: number;
  readonly cluster: { readonly gpus: readonly { readonly model: string; readonly count: number }[]; readonly gpusPerNode: number };
  readonly services: readonly ServiceSpec[];
  readonly workload: readonly WorkloadSpec[];
  readonly delays: ControlDelays;
  readonly policies: PolicyOptions;
  /** Folder of the Azure trace CSVs, relative to the scenario file or absolute; null = the default. */
  readonly traceDir: string | null;
}

export const DEFAULT_DELAYS: ControlDelays = {
  metricIntervalSec: 15,
  decisionSec: 1,
  migRepartitionSec: 30,
  podStartSec: 5,
  loadTimeScale: 1,
};

export const SWEEPABLE_DELAYS = Object.keys(DEFAULT_DELAYS) as (keyof ControlDelays)[];

type Obj = Record<string, unknown>;

function tokens(f: FieldReader, o: Obj, name: string): TokenDistribution | undefined {
  const t = f.child(name);
  const d = t.object(o[name], '');
  if (!d) return undefined;
  t.unknownKeys(d, ['mean', 'cv', 'min', 'max']);
  const mean = t.number(d, 'mean', { exclusiveMin: 0 });
  const cv = t.number(d, 'cv', { optional: true, min: 0 }) ?? 0;
  const min = t.number(d, 'min', { optional: true, min: 1, integer: true }) ?? 1;
  const max = t.number(d, 'max', { optional: true, min: 1, integer: true }) ?? 1_000_000;
  if (max < min) t.fail('max', `must be >= min (${min})`);
  return mean === undefined ? undefined : { mean, cv, min, max };
}

function mix(f: FieldReader, o: Obj, serviceNames: ReadonlySet<string>): ServiceMix | undefined {
  const list = f.array(o['services'], 'services');
  if (!list) return undefined;
  const services: string[] = [];
  list.forEach((s, i) => {
    if (typeof s !== 'string' || !serviceNames.has(s)) f.child('services').fail(i, `must name a service of the scenario, got ${JSON.stringify(s)}`);
    else services.push(s);
  });
  if (list.length === 0) f.fail('services', 'must name at least one service');
  let weights = services.map(() => 1);
  if (o['weights'] !== undefined) {
    const w = f.array(o['weights'], 'weights');
    if (w && w.length !== list.length) f.fail('weights', `must have one weight per service (${list.length}), got ${w.length}`);
    else if (w) {
      weights = w.map((x, i) => {
        if (typeof x !== 'number' || !(x > 0)) f.child('weights').fail(i, `must be a number > 0, got ${JSON.stringify(x)}`);
        return typeof x === 'number' ? x : 1;
      });
    }
  }
  return { services, weights };
}

function workloadItem(f: FieldReader, item: unknown, serviceNames: ReadonlySet<string>, index: number): WorkloadSpec | undefined {
  const o = f.object(item, '');
  if (!o) return undefined;
  const kind = o['kind'];
  const name = typeof o['name'] === 'string' ? o['name'] : `workload-${index}`;
  if (kind === 'gamma') {
    f.unknownKeys(o, ['kind', 'name', 'services', 'weights', 'ratePerSec', 'cv', 'inputTokens', 'outputTokens', 'bursts']);
    const m = mix(f, o, serviceNames);
    const ratePerSec = f.number(o, 'ratePerSec', { exclusiveMin: 0 });
    const cv = f.number(o, 'cv', { optional: true, exclusiveMin: 0 }) ?? 1;
    const inputTokens = tokens(f, o, 'inputTokens');
    const outputTokens = tokens(f, o, 'outputTokens');
    let bursts: BurstSpec | null = null;
    if (o['bursts'] !== undefined) {
      const b = f.child('bursts');
      const bo = b.object(o['bursts'], '');
      if (bo) {
        b.unknownKeys(bo, ['everySec', 'durationSec', 'factor', 'offsetSec']);
        const everySec = b.number(bo, 'everySec', { exclusiveMin: 0 });
        const durationSec = b.number(bo, 'durationSec', { exclusiveMin: 0 });
        const factor = b.number(bo, 'factor', { exclusiveMin: 0 });
        const offsetSec = b.number(bo, 'offsetSec', { optional: true, min: 0 }) ?? 0;
        if (everySec !== undefined && durationSec !== undefined && durationSec >= everySec) b.fail('durationSec', `must be < everySec (${everySec})`);
        if (everySec !== undefined && durationSec !== undefined && factor !== undefined) bursts = { everySec, durationSec, factor, offsetSec };
      }
    }
    if (!m || ratePerSec === undefined || !inputTokens || !outputTokens) return undefined;
    return { kind, name, ...m, ratePerSec, cv, inputTokens, outputTokens, bursts };
  }
  if (kind === 'azure') {
    f.unknownKeys(o, ['kind', 'name', 'services', 'weights', 'trace', 'speedup', 'startSec']);
    const m = mix(f, o, serviceNames);
    const trace = o['trace'];
    if (trace !== 'code' && trace !== 'conv') f.fail('trace', `must be "code" or "conv", got ${JSON.stringify(trace)}`);
    const speedup = f.number(o, 'speedup', { optional: true, exclusiveMin: 0 }) ?? 1;
    const startSec = f.number(o, 'startSec', { optional: true, min: 0 }) ?? 0;
    if (!m || (trace !== 'code' && trace !== 'conv')) return undefined;
    return { kind, name, ...m, trace, speedup, startSec };
  }
  f.fail('kind', `must be "gamma" or "azure", got ${JSON.stringify(kind)}`);
  return undefined;
}

/** Validates a decoded scenario document. @throws SsisError SSIS_INVALID_CONFIG naming every bad field. */
export function parseScenario(doc: unknown, where = 'scenario'): Scenario {
  const r = new FieldReader(where);
  const root = r.object(doc, '') ?? {};
  r.unknownKeys(root, ['name', 'description', 'seed', 'durationSec', 'drainLimitSec', 'cluster', 'services', 'workload', 'delays', 'policies', 'traceDir']);
  const name = r.string(root, 'name');
  const description = r.string(root, 'description', { optional: true }) ?? '';
  const seed = r.number(root, 'seed', { optional: true, min: 0, integer: true }) ?? 1;
  const durationSec = r.number(root, 'durationSec', { exclusiveMin: 0 });
  const drainLimitSec = r.number(root, 'drainLimitSec', { optional: true, min: 0 }) ?? Math.max(600, durationSec ?? 0);
  const traceDir = r.string(root, 'traceDir', { optional: true }) ?? null;

  const c = r.child('cluster');
  const co = c.object(root['cluster'], '') ?? {};
  c.unknownKeys(co, ['gpus', 'gpusPerNode']);
  const gpus: { model: string; count: number }[] = [];
  (c.array(co['gpus'], 'gpus') ?? []).forEach((g, i) => {
    const gf = c.child('gpus').child(i);
    const go = gf.object(g, '');
    if (!go) return;
    gf.unknownKeys(go, ['model', 'count']);
    const model = gf.string(go, 'model');
    const count = gf.number(go, 'count', { min: 1, integer: true });
    if (model !== undefined && findGpuModel(model) === undefined) gf.fail('model', `unknown GPU model "${model}"`);
    if (model !== undefined && count !== undefined) gpus.push({ model, count });
  });
  const gpusPerNode = c.number(co, 'gpusPerNode', { optional: true, min: 1, integer: true }) ?? 8;

  const services: ServiceSpec[] = [];
  (r.array(root['services'], 'services') ?? []).forEach((s, i) => {
    const sf = r.child('services').child(i);
    const so = sf.object(s, '');
    if (!so) return;
    sf.unknownKeys(so, ['name', 'model', 'slo', 'staticGpus']);
    const sName = sf.string(so, 'name');
    const model = sf.string(so, 'model');
    const slf = sf.child('slo');
    const slo = slf.object(so['slo'], '');
    if (slo) slf.unknownKeys(slo, ['ttftMs', 'itlMs']);
    const ttftMs = slo ? slf.number(slo, 'ttftMs', { exclusiveMin: 0 }) : undefined;
    const itlMs = slo ? slf.number(slo, 'itlMs', { exclusiveMin: 0 }) : undefined;
    const staticGpus = sf.number(so, 'staticGpus', { optional: true, min: 1, integer: true }) ?? 1;
    if (sName !== undefined && services.some((x) => x.name === sName)) sf.fail('name', `duplicate service "${sName}"`);
    if (sName !== undefined && model !== undefined && ttftMs !== undefined && itlMs !== undefined) services.push({ name: sName, model, slo: { ttftMs, itlMs }, staticGpus });
  });
  const serviceNames = new Set(services.map((s) => s.name));

  const workload: WorkloadSpec[] = [];
  (r.array(root['workload'], 'workload') ?? []).forEach((w, i) => {
    const item = workloadItem(r.child('workload').child(i), w, serviceNames, i);
    if (item) workload.push(item);
  });

  const d = r.child('delays');
  const dobj = root['delays'] === undefined ? {} : (d.object(root['delays'], '') ?? {});
  d.unknownKeys(dobj, SWEEPABLE_DELAYS);
  const delays: ControlDelays = {
    metricIntervalSec: d.number(dobj, 'metricIntervalSec', { optional: true, exclusiveMin: 0 }) ?? DEFAULT_DELAYS.metricIntervalSec,
    decisionSec: d.number(dobj, 'decisionSec', { optional: true, min: 0 }) ?? DEFAULT_DELAYS.decisionSec,
    migRepartitionSec: d.number(dobj, 'migRepartitionSec', { optional: true, min: 0 }) ?? DEFAULT_DELAYS.migRepartitionSec,
    podStartSec: d.number(dobj, 'podStartSec', { optional: true, min: 0 }) ?? DEFAULT_DELAYS.podStartSec,
    loadTimeScale: d.number(dobj, 'loadTimeScale', { optional: true, min: 0 }) ?? DEFAULT_DELAYS.loadTimeScale,
  };

  const p = r.child('policies');
  const po = root['policies'] === undefined ? {} : (p.object(root['policies'], '') ?? {});
  p.unknownKeys(po, ['hpa', 'maxReplicas', 'ssis']);
  const h = p.child('hpa');
  const ho = po['hpa'] === undefined ? {} : (h.object(po['hpa'], '') ?? {});
  h.unknownKeys(ho, ['targetWaitingPerReplica', 'tolerance', 'syncSec', 'scaleDownStabilizationSec']);
  const sf = p.child('ssis');
  const sso = po['ssis'] === undefined ? {} : (sf.object(po['ssis'], '') ?? {});
  sf.unknownKeys(sso, ['headroom', 'scaleDownStabilizationSec']);
  const policies: PolicyOptions = {
    hpa: {
      targetWaitingPerReplica: h.number(ho, 'targetWaitingPerReplica', { optional: true, exclusiveMin: 0 }) ?? 5,
      tolerance: h.number(ho, 'tolerance', { optional: true, min: 0, max: 1 }) ?? 0.1,
      syncSec: h.number(ho, 'syncSec', { optional: true, exclusiveMin: 0 }) ?? 15,
      scaleDownStabilizationSec: h.number(ho, 'scaleDownStabilizationSec', { optional: true, min: 0 }) ?? 300,
    },
    maxReplicas: p.number(po, 'maxReplicas', { optional: true, min: 1, integer: true }) ?? null,
    ssis: {
      headroom: sf.number(sso, 'headroom', { optional: true, min: 0 }) ?? 0.2,
      // HPA's default scale-down window (policies.hpa), so that hpa-queue, ssis-ladder and ssis-full wait equally long.
      scaleDownStabilizationSec: sf.number(sso, 'scaleDownStabilizationSec', { optional: true, min: 0 }) ?? 300,
    },
  };

  if (services.length === 0 && r.issues.every((i) => !i.field.startsWith(`${where}.services`))) r.fail('services', 'must list at least one service');
  if (workload.length === 0 && r.issues.every((i) => !i.field.startsWith(`${where}.workload`))) r.fail('workload', 'must list at least one workload');
  if (gpus.length === 0 && r.issues.every((i) => !i.field.startsWith(`${where}.cluster`))) c.fail('gpus', 'must list at least one GPU model');
  if (r.issues.length > 0 || name === undefined || durationSec === undefined) throw validationError('SSIS_INVALID_CONFIG', `invalid scenario (${where})`, r.issues);
  return { name, description, seed, durationSec, drainLimitSec, cluster: { gpus, gpusPerNode }, services, workload, delays, policies, traceDir };
}

/** A copy of the scenario with one control delay changed (for sweeps). */
export function withDelay(s: Scenario, key: keyof ControlDelays, value: number): Scenario {
  return { ...s, delays: { ...s.delays, [key]: value } };
}
