/**
 * Cold start: a model with no replica gets one, on the smallest slice whose memory fits it
 * (the reference gave "the smallest slice available" regardless of the model, notes/ssis.md
 * §10.3). Among the GPU models of the cluster, the smallest fitting slice that can be placed now
 * wins; when none can be placed, the smallest fitting one is still chosen so that the placement
 * failure is reported with its reason instead of silently dropping the request.
 */
import { minimumMemoryGiB, type ModelSpec } from '../catalog/model-catalog';
import { canServe } from '../catalog/engine-config';
import { profileMemoryGiB } from '../mig/geometry';
import { tierLadder } from '../mig/tiers';

export interface ColdStartTarget {
  readonly gpuModel: string;
  readonly profile: string;
  readonly memoryGiB: number;
  readonly placeable: boolean;
}

/** The tiers a model can run on for one GPU model, smallest first. */
export function servableTiers(spec: ModelSpec, gpuModel: string): string[] {
  if (spec.perf[gpuModel] === undefined) return [];
  return tierLadder(gpuModel).filter((p) => canServe(spec, gpuModel, p));
}

export function coldStartTarget(spec: ModelSpec, gpuModels: readonly string[], placeable: (gpuModel: string, profile: string) => boolean): ColdStartTarget | null {
  const candidates: ColdStartTarget[] = [];
  for (const gpuModel of new Set(gpuModels)) {
    const profile = servableTiers(spec, gpuModel)[0];
    if (profile === undefined) continue;
    candidates.push({ gpuModel, profile, memoryGiB: profileMemoryGiB(gpuModel, profile), placeable: placeable(gpuModel, profile) });
  }
  if (candidates.length === 0) return null;
  const bySize = (a: ColdStartTarget, b: ColdStartTarget): number => a.memoryGiB - b.memoryGiB;
  return [...candidates.filter((c) => c.placeable)].sort(bySize)[0] ?? [...candidates].sort(bySize)[0]!;
}

export function describeNeed(spec: ModelSpec): string {
  return `${spec.modelId} needs ${minimumMemoryGiB(spec).toFixed(1)} GiB`;
}
