/**
 * GPU state from Kubernetes Nodes. The GPU operator labels a node with its GPU product and count
 * and advertises each MIG profile as a countable resource; positions are invisible to Kubernetes,
 * so SSIS records the layout it applied in a node annotation. When the node's allocatable
 * disagrees with that record (someone else repartitioned, or the mig-manager has not caught up),
 * the node's own counts win: a layout is rebuilt from them, positions chosen first-fit, owners
 * unknown, and the disagreement is reported.
 */
import type { V1Node } from '@kubernetes/client-node';
import { findGpuModel, findProfile } from '../../core/mig/geometry';
import { instanceId, placeableStarts, type GpuState, type MigInstance } from '../../core/mig/layout';
import { MIG_CONFIG_LABEL } from '../../core/mig/mig-parted';
import {
  GPU_COUNT_LABEL, GPU_PRODUCT_LABEL, MIG_LAYOUT_ANNOTATION, WHOLE_GPU_RESOURCE, gpuModelOfProduct, profileOfResource, type NodeMigLayout,
} from './contract';

export interface NodeGpus {
  readonly gpus: GpuState[];
  /** Why the recorded layout was not used, when it was not. */
  readonly disagreement: string | null;
}

/** Instances per MIG profile the node advertises (allocatable counts every instance, used or free). */
export function advertisedMigCounts(node: V1Node): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [resource, quantity] of Object.entries(node.status?.allocatable ?? {})) {
    const profile = profileOfResource(resource);
    const n = Number(quantity);
    if (profile !== null && Number.isInteger(n) && n > 0) counts.set(profile, n);
  }
  return counts;
}

function recordedLayout(node: V1Node): NodeMigLayout | null {
  const raw = node.metadata?.annotations?.[MIG_LAYOUT_ANNOTATION];
  if (raw === undefined) return null;
  try {
    const parsed = JSON.parse(raw) as unknown;
    return Array.isArray(parsed) ? (parsed as NodeMigLayout) : null;
  } catch {
    return null; // an annotation someone else garbled is no record: the node's counts are used
  }
}

/** Per-profile MIG instance counts of a layout, as the mig-manager advertises them. */
export function migCounts(gpus: readonly GpuState[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const g of gpus) for (const i of g.instances) if (g.migEnabled) counts.set(i.profile, (counts.get(i.profile) ?? 0) + 1);
  return counts;
}

export function sameMigCounts(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function describe(counts: ReadonlyMap<string, number>): string {
  return counts.size === 0 ? 'none' : [...counts].sort().map(([p, n]) => `${p}×${n}`).join(', ');
}

/** A layout holding exactly `counts`, largest profiles first, each at its first free allowed start. */
function layoutFromCounts(node: string, model: string, gpuCount: number, counts: ReadonlyMap<string, number>): GpuState[] {
  const gpus: GpuState[] = Array.from({ length: gpuCount }, (_, index) => ({ node, index, model, migEnabled: counts.size > 0, instances: [] }));
  // A profile this GPU model does not have (a misconfigured node) cannot be placed anywhere.
  const known = [...counts].filter(([profile]) => findProfile(model, profile) !== undefined);
  const slots = (profile: string): number => findProfile(model, profile)?.shape.memorySlots ?? 0;
  const pending = known.flatMap(([profile, n]) => Array.from({ length: n }, () => profile));
  pending.sort((a, b) => slots(b) - slots(a));
  for (const profile of pending) {
    for (const gpu of gpus) {
      const start = placeableStarts(gpu, profile)[0];
      if (start === undefined) continue;
      gpu.instances.push({ id: instanceId(node, gpu.index, profile, start), profile, start, owner: null });
      break;
    }
  }
  return gpus;
}

/** The node's GPUs; none for a node without the GPU operator's labels or with an unknown product. */
export function nodeGpus(node: V1Node): NodeGpus {
  const name = node.metadata?.name ?? '';
  const labels = node.metadata?.labels ?? {};
  const product = labels[GPU_PRODUCT_LABEL];
  const count = Number(labels[GPU_COUNT_LABEL] ?? '0');
  const model = product === undefined ? undefined : findGpuModel(gpuModelOfProduct(product));
  if (model === undefined || !Number.isInteger(count) || count <= 0) return { gpus: [], disagreement: null };
  const advertised = advertisedMigCounts(node);
  const recorded = recordedLayout(node);
  if (recorded !== null) {
    const gpus: GpuState[] = Array.from({ length: count }, (_, index) => {
      const r = recorded.find((g) => g.index === index);
      const instances: MigInstance[] = (r?.instances ?? []).map((i) => ({ ...i }));
      return { node: name, index, model: model.name, migEnabled: r?.migEnabled ?? advertised.size > 0, instances };
    });
    if (sameMigCounts(migCounts(gpus), advertised)) return { gpus, disagreement: null };
    return {
      gpus: layoutFromCounts(name, model.name, count, advertised),
      disagreement: `node ${name} advertises ${describe(advertised)} but SSIS recorded ${describe(migCounts(gpus))}; planning from what the node offers`,
    };
  }
  if (advertised.size === 0) {
    // No instance advertised: whole GPUs (nvidia.com/gpu), or MIG mode with none created yet.
    const migEnabled = labels[MIG_CONFIG_LABEL] !== 'all-disabled' && node.status?.allocatable?.[WHOLE_GPU_RESOURCE] === undefined;
    return { gpus: Array.from({ length: count }, (_, index) => ({ node: name, index, model: model.name, migEnabled, instances: [] })), disagreement: null };
  }
  return { gpus: layoutFromCounts(name, model.name, count, advertised), disagreement: null };
}

/** The node annotation recording `gpus` (one node's). */
export function layoutAnnotation(gpus: readonly GpuState[]): string {
  const layout: NodeMigLayout = [...gpus]
    .sort((a, b) => a.index - b.index)
    .map((g) => ({ index: g.index, migEnabled: g.migEnabled, instances: g.instances.map((i) => ({ id: i.id, profile: i.profile, start: i.start, owner: i.owner })) }));
  return JSON.stringify(layout);
}
