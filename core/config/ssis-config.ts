/**
 * SSIS's own settings: ConfigMap `ssis-config`, key `ssis.yaml`. Units are in the field names.
 * The `cluster` block describes the simulated cluster and is read by the embedded mode only.
 */
import { FieldReader } from '../common/fields';
import { validationError } from '../errors';

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
  };
  readonly cluster: { readonly loadTimeScale: number; readonly nodes: readonly SimulatedNodeConfig[] };
}

export function parseSsisConfig(doc: unknown, where = 'ssis.yaml'): SsisConfig {
  const r = new FieldReader(where);
  const root = r.object(doc ?? {}, '') ?? {};
  r.unknownKeys(root, ['namespace', 'ingress', 'sampler', 'scaler', 'cluster']);
  const section = (name: string, known: readonly string[]): [FieldReader, Record<string, unknown>] => {
    const f = r.child(name);
    const o = root[name] === undefined ? {} : (f.object(root[name], '') ?? {});
    f.unknownKeys(o, known);
    return [f, o];
  };
  const [i, io] = section('ingress', ['capacityWaitTimeoutSec', 'retryAfterSec', 'upstreamTimeoutSec', 'defaultServiceClass', 'maxBodyBytes']);
  const [sa, so] = section('sampler', ['windowSec']);
  const [sc, sco] = section('scaler', ['minReplicas', 'maxReplicas', 'stabilizationWindowSec', 'upCooldownSec', 'pendingTimeoutSec', 'placementBackoffSec', 'scaleToZeroAfterSec']);
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
    },
    cluster: { loadTimeScale: c.number(co, 'loadTimeScale', { optional: true, min: 0 }) ?? 1, nodes },
  };
  if (config.scaler.maxReplicas < config.scaler.minReplicas) r.child('scaler').fail('maxReplicas', 'must be >= minReplicas');
  if (r.issues.length > 0) throw validationError('SSIS_INVALID_CONFIG', `invalid ${where}`, r.issues);
  return config;
}
