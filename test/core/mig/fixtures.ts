/** Builders for MIG test states. */
import { getGpuModel } from '../../../core/mig/geometry.js';
import { instanceId, type GpuState, type MigInstance } from '../../../core/mig/layout.js';

export const NODE = 'node-a';

/** An instance; its id is the deterministic one SSIS would give it unless `id` is passed. */
export function inst(profile: string, start: number, owner: string | null = null, id?: string): MigInstance {
  return { id: id ?? `${profile}@${start}`, profile, start, owner };
}

export function gpu(model: string, instances: MigInstance[] = [], options: { node?: string; index?: number; migEnabled?: boolean } = {}): GpuState {
  const node = options.node ?? NODE;
  const index = options.index ?? 0;
  return {
    node,
    index,
    model,
    migEnabled: options.migEnabled ?? true,
    instances: instances.map((i) => ({ ...i, id: i.id === `${i.profile}@${i.start}` ? instanceId(node, index, i.profile, i.start) : i.id })),
  };
}

/** Freezes a value and everything inside it, so a test fails if code under test mutates it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** The models with 8 memory slots and 7 compute slices (§1.1); the A30 is the 4-slot variant. */
export const EIGHT_SLOT_MODELS = ['A100-SXM4-40GB', 'A100-SXM4-80GB', 'H100-80GB', 'H200-141GB'] as const;

/** A model's profile names by role, the generic names §1.7 uses ("2s" = two-slot 1g). */
export interface Roles {
  readonly g1: string;
  readonly me: string;
  readonly s2: string;
  readonly g2: string;
  readonly g3: string;
  readonly g4: string;
  readonly g7: string;
}

export function roles(model: string): Roles {
  const byShape = (compute: number, memory: number, mediaExtensions = false): string => {
    const found = getGpuModel(model).profiles.find(
      (p) => p.shape.computeSlices === compute && p.shape.memorySlots === memory && p.mediaExtensions === mediaExtensions,
    );
    if (found === undefined) throw new Error(`${model} has no ${compute}c${memory}m profile`);
    return found.name;
  };
  return { g1: byShape(1, 1), me: byShape(1, 1, true), s2: byShape(1, 2), g2: byShape(2, 2), g3: byShape(3, 4), g4: byShape(4, 4), g7: byShape(7, 8) };
}
