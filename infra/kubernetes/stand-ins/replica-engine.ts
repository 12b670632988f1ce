/**
 * What the Knative stand-in runs in place of a replica's vLLM/TGI container: the emulated
 * inference server's settings, from the same sources the real container would take them. The
 * model is the template's `ssis.dev/model-id` annotation (the real one reads MODEL_ID/args); the
 * slice is its `ssis.dev/profile` and `ssis.dev/gpu-model` annotations, or else what the pod asks
 * for (`nvidia.com/mig-<profile>`, `nvidia.com/gpu`) on the GPU product of the node it runs on;
 * the batch limit is vLLM's `--max-num-seqs` or TGI's `--max-batch-size` among the args.
 * A model that is not in the catalog, or does not fit the slice, is a container that exits.
 */
import { canServe, engineConfigFor } from '../../../core/catalog/engine-config';
import type { ModelCatalog } from '../../../core/catalog/model-catalog';
import { WHOLE_GPU_PROFILE } from '../../../core/mig/geometry';
import type { EngineConfig } from '../../../core/perf/batching-engine';
import { gpuModelOfProduct, profileOfResource, REPLICA_ANNOTATIONS, WHOLE_GPU_RESOURCE } from '../contract';
import type { RevisionContainer } from '../knative-objects';
import type { Outcome } from './mig-parted-config';

export interface ReplicaEngine {
  readonly modelId: string;
  readonly engine: EngineConfig;
  readonly maxModelLen: number;
  readonly defaultMaxNewTokens: number;
  /** The model's load time (catalog `loadSeconds`, scaled) before the replica is Ready. */
  readonly loadMs: number;
}

/** The slice a container asks for, from its limits (extended resources are set there). */
export function profileRequested(containers: readonly RevisionContainer[]): string | undefined {
  for (const container of containers) {
    for (const resource of Object.keys({ ...container.resources?.requests, ...container.resources?.limits })) {
      const profile = profileOfResource(resource);
      if (profile !== null) return profile;
      if (resource === WHOLE_GPU_RESOURCE) return WHOLE_GPU_PROFILE;
    }
  }
  return undefined;
}

const BATCH_FLAGS = ['--max-num-seqs', '--max-batch-size'];

/** `--max-num-seqs 8` or `--max-num-seqs=8` in any container's args. */
export function batchLimitOf(containers: readonly RevisionContainer[]): number | undefined {
  for (const args of containers.map((c) => [...(c.command ?? []), ...(c.args ?? [])])) {
    for (const [i, arg] of args.entries()) {
      const [flag, inline] = arg.split('=', 2);
      if (flag === undefined || !BATCH_FLAGS.includes(flag)) continue;
      const value = Number(inline ?? args[i + 1]);
      if (Number.isInteger(value) && value > 0) return value;
    }
  }
  return undefined;
}

export interface ReplicaSource {
  readonly annotations: Readonly<Record<string, string>>;
  readonly containers: readonly RevisionContainer[];
  /** `nvidia.com/gpu.product` of the node the pod was bound to, when known. */
  readonly nodeGpuProduct?: string;
}

export function replicaEngineFor(source: ReplicaSource, catalog: ModelCatalog, loadTimeScale: number): Outcome<ReplicaEngine> {
  const modelId = source.annotations[REPLICA_ANNOTATIONS.modelId];
  if (modelId === undefined) return { ok: false, reason: `no ${REPLICA_ANNOTATIONS.modelId} annotation on the revision` };
  const spec = catalog.get(modelId);
  if (!spec) return { ok: false, reason: `model ${modelId} is not in the model catalog` };
  const profile = source.annotations[REPLICA_ANNOTATIONS.profile] ?? profileRequested(source.containers);
  const gpuModel = source.annotations[REPLICA_ANNOTATIONS.gpuModel] ?? (source.nodeGpuProduct === undefined ? undefined : gpuModelOfProduct(source.nodeGpuProduct));
  if (profile === undefined || gpuModel === undefined) return { ok: false, reason: 'no GPU slice: neither annotations nor resources and node name one' };
  let fits: boolean;
  try {
    fits = canServe(spec, gpuModel, profile);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  if (!fits) return { ok: false, reason: `model ${modelId} does not fit ${profile} on ${gpuModel} (or has no performance data for it)` };
  const engine = engineConfigFor(spec, gpuModel, profile);
  const limit = batchLimitOf(source.containers);
  return {
    ok: true,
    value: {
      modelId,
      engine: limit === undefined ? engine : { ...engine, maxBatchSize: Math.max(1, Math.min(engine.maxBatchSize, limit)) },
      maxModelLen: spec.maxModelLen,
      defaultMaxNewTokens: spec.defaultMaxNewTokens,
      loadMs: spec.loadSeconds * 1000 * loadTimeScale,
    },
  };
}
