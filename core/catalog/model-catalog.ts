/**
 * The model catalog: what each servable model needs (memory) and how fast it runs (Inferno Gen 2
 * iteration parameters per GPU model, for a whole GPU). It is the ConfigMap `ssis-model-catalog`,
 * key `models.yaml`; the emulated inference servers, the cold-start sizing and the optimizer read it.
 */
import { FieldReader } from '../common/fields';
import { validationError } from '../errors';
import type { IterationParams } from '../perf/iteration-model';

export interface ModelSpec {
  readonly modelId: string;
  readonly weightsGiB: number;
  /** KV-cache bytes per token (2 · layers · kv heads · head dim · bytes per element). */
  readonly kvBytesPerToken: number;
  readonly maxModelLen: number;
  readonly maxBatchSize: number;
  /** Fixed runtime overhead on the device (CUDA context, activations, graphs). */
  readonly runtimeOverheadGiB: number;
  /** Fraction of the slice's memory the engine may use (vLLM gpu_memory_utilization). */
  readonly gpuMemoryUtilization: number;
  /** Time from replica start to ready: image present, weights loaded, engine warmed up. */
  readonly loadSeconds: number;
  readonly defaultMaxNewTokens: number;
  /** Whole-GPU iteration parameters per GPU model name (e.g. `A100-SXM4-40GB`). */
  readonly perf: Readonly<Record<string, IterationParams>>;
}

const GiB = 1024 ** 3;

/** The smallest device memory that holds the weights plus one full-length request's KV cache. */
export function minimumMemoryGiB(m: ModelSpec): number {
  const oneSequenceKvGiB = (m.maxModelLen * m.kvBytesPerToken) / GiB;
  return (m.weightsGiB + m.runtimeOverheadGiB + oneSequenceKvGiB) / m.gpuMemoryUtilization;
}

/** KV-cache capacity in tokens on a device slice with `memoryGiB`; 0 when the model does not fit. */
export function kvCapacityTokens(m: ModelSpec, memoryGiB: number): number {
  const freeGiB = memoryGiB * m.gpuMemoryUtilization - m.weightsGiB - m.runtimeOverheadGiB;
  return freeGiB <= 0 ? 0 : Math.floor((freeGiB * GiB) / m.kvBytesPerToken);
}

export type ModelCatalog = ReadonlyMap<string, ModelSpec>;

const FIELDS = ['modelId', 'weightsGiB', 'kvBytesPerToken', 'maxModelLen', 'maxBatchSize', 'runtimeOverheadGiB', 'gpuMemoryUtilization', 'loadSeconds', 'defaultMaxNewTokens', 'perf'] as const;

/** Parses the catalog document (already YAML-decoded); every problem is reported with its field. */
export function parseModelCatalog(doc: unknown, where = 'models.yaml'): ModelCatalog {
  const r = new FieldReader(where);
  const catalog = new Map<string, ModelSpec>();
  const root = r.object(doc, 'models') && (doc as Record<string, unknown>);
  const list = root ? r.array(root['models'], 'models') : undefined;
  list?.forEach((item, i) => {
    const f = r.child('models').child(i);
    const o = f.object(item, '');
    if (!o) return;
    f.unknownKeys(o, FIELDS);
    const modelId = f.string(o, 'modelId');
    const perfRaw = f.object(o['perf'], 'perf');
    const perf: Record<string, IterationParams> = {};
    if (perfRaw) {
      for (const [gpu, p] of Object.entries(perfRaw)) {
        const g = f.child('perf').child(gpu);
        const po = g.object(p, '');
        if (!po) continue;
        g.unknownKeys(po, ['alpha', 'beta', 'gamma']);
        const alpha = g.number(po, 'alpha', { min: 0 });
        const beta = g.number(po, 'beta', { min: 0 });
        const gamma = g.number(po, 'gamma', { min: 0 });
        if (alpha !== undefined && beta !== undefined && gamma !== undefined) perf[gpu] = { alphaMs: alpha, betaMsPerToken: beta, gammaMsPerKvToken: gamma };
      }
      if (Object.keys(perfRaw).length === 0) f.fail('perf', 'must name at least one GPU model');
    }
    const spec = {
      modelId,
      weightsGiB: f.number(o, 'weightsGiB', { exclusiveMin: 0 }),
      kvBytesPerToken: f.number(o, 'kvBytesPerToken', { exclusiveMin: 0 }),
      maxModelLen: f.number(o, 'maxModelLen', { min: 1, integer: true }),
      maxBatchSize: f.number(o, 'maxBatchSize', { min: 1, integer: true }),
      runtimeOverheadGiB: f.number(o, 'runtimeOverheadGiB', { optional: true, min: 0 }) ?? 0.5,
      gpuMemoryUtilization: f.number(o, 'gpuMemoryUtilization', { optional: true, exclusiveMin: 0, max: 1 }) ?? 0.9,
      loadSeconds: f.number(o, 'loadSeconds', { optional: true, min: 0 }) ?? 30,
      defaultMaxNewTokens: f.number(o, 'defaultMaxNewTokens', { optional: true, min: 1, integer: true }) ?? 20,
      perf,
    };
    if (modelId !== undefined && catalog.has(modelId)) f.fail('modelId', `duplicate model "${modelId}"`);
    if (Object.values(spec).every((v) => v !== undefined) && modelId !== undefined) catalog.set(modelId, spec as ModelSpec);
  });
  if (r.issues.length > 0) throw validationError('SSIS_INVALID_CONFIG', `invalid model catalog (${where})`, r.issues);
  return catalog;
}
