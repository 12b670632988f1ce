/**
 * MIG geometry as data: one table per GPU model, copied from shared/reference/notes/mig.md §1.2–§1.6
 * and nowhere else (§1.9: go-nvml's mock tables and third-party copies are wrong).
 *
 * A placement is `(start, size)` on the MEMORY-slot axis (§0 fact 1, §1.1). Capacity is keyed on
 * memory slots and compute slices; `memoryMiB` and `sms` are attributes only, because they drift
 * between drivers and form factors (§1.9).
 */
import { SsisError } from '../errors.js';

/** Canonical shape of a profile (§1.1: match by shape, names drift between drivers). */
export interface ProfileShape {
  readonly computeSlices: number;
  readonly memorySlots: number;
}

/** One row of a §1.2–§1.6 table. */
export interface MigProfileSpec {
  /** The name as current drivers spell it (`nvidia-smi mig -lgip`). */
  readonly name: string;
  /** Other spellings seen in the wild for the same profile (§1.1), accepted by the lookups. */
  readonly nameAliases?: readonly string[];
  readonly shape: ProfileShape;
  /** Allowed start memory slots (`nvidia-smi mig -lgipp`). */
  readonly starts: readonly number[];
  /** Most instances of this profile on one GPU. */
  readonly maxCount: number;
  /** NVML MiB where the notes give it (A100-40GB), else lgip GiB × 1024 rounded to whole MiB. */
  readonly memoryMiB: number;
  readonly sms: number;
  /** `+me` profiles carry the media engines; at most one per GPU (§1.8 rule 6). */
  readonly mediaExtensions: boolean;
}

export interface GpuModelSpec {
  /** Canonical SSIS name of the model. */
  readonly name: string;
  /** Other names meaning the same geometry AND the same SM counts. */
  readonly modelAliases?: readonly string[];
  /** 8 on A100/H100/H200, 4 on A30. */
  readonly memorySlots: number;
  /** 7 on A100/H100/H200, 4 on A30. */
  readonly computeSlices: number;
  /** Nominal capacity from the SKU name; what the whole GPU offers with MIG disabled. */
  readonly memoryGiB: number;
  /** SMs with MIG disabled (A100: 108, of which MIG exposes 98, §1.2). */
  readonly fullGpuSms: number;
  readonly profiles: readonly MigProfileSpec[];
}

/** Pseudo-profile: the whole GPU with MIG disabled (memory = the GPU's, compute fraction 1). */
export const WHOLE_GPU_PROFILE = 'gpu';

/** A profile as the lookups return it: a MIG row, or the whole-GPU pseudo-profile. */
export interface ProfileSpec extends MigProfileSpec {
  /** True only for WHOLE_GPU_PROFILE, which covers every memory slot and needs MIG disabled. */
  readonly wholeGpu: boolean;
}

const ALL_ONE_SLOT_STARTS = [0, 1, 2, 3, 4, 5, 6] as const;
const TWO_SLOT_STARTS = [0, 2, 4, 6] as const;
const TWO_G_STARTS = [0, 2, 4] as const;
const THREE_G_STARTS = [0, 4] as const;
const ONLY_START_0 = [0] as const;

/** §1.2 (also A100-PCIE-40GB). memoryMiB are the NVML values of the table. */
export const A100_SXM4_40GB = {
  name: 'A100-SXM4-40GB',
  modelAliases: ['A100-PCIE-40GB', 'A100-40GB'],
  memorySlots: 8,
  computeSlices: 7,
  memoryGiB: 40,
  fullGpuSms: 108,
  profiles: [
    { name: '1g.5gb', shape: { computeSlices: 1, memorySlots: 1 }, starts: ALL_ONE_SLOT_STARTS, maxCount: 7, memoryMiB: 4864, sms: 14, mediaExtensions: false },
    { name: '1g.5gb+me', shape: { computeSlices: 1, memorySlots: 1 }, starts: ALL_ONE_SLOT_STARTS, maxCount: 1, memoryMiB: 4864, sms: 14, mediaExtensions: true },
    // Two memory slots despite NVIDIA's "1/8" typo (§1.2 caveats); needs R525+.
    { name: '1g.10gb', shape: { computeSlices: 1, memorySlots: 2 }, starts: TWO_SLOT_STARTS, maxCount: 4, memoryMiB: 9856, sms: 14, mediaExtensions: false },
    { name: '2g.10gb', shape: { computeSlices: 2, memorySlots: 2 }, starts: TWO_G_STARTS, maxCount: 3, memoryMiB: 9856, sms: 28, mediaExtensions: false },
    { name: '3g.20gb', shape: { computeSlices: 3, memorySlots: 4 }, starts: THREE_G_STARTS, maxCount: 2, memoryMiB: 19968, sms: 42, mediaExtensions: false },
    { name: '4g.20gb', shape: { computeSlices: 4, memorySlots: 4 }, starts: ONLY_START_0, maxCount: 1, memoryMiB: 19968, sms: 56, mediaExtensions: false },
    { name: '7g.40gb', shape: { computeSlices: 7, memorySlots: 8 }, starts: ONLY_START_0, maxCount: 1, memoryMiB: 40192, sms: 98, mediaExtensions: false },
  ],
} as const satisfies GpuModelSpec;

/** §1.3: placements of §1.2, 80GB names; memory is lgip GiB × 1024. */
export const A100_SXM4_80GB = {
  name: 'A100-SXM4-80GB',
  modelAliases: ['A100-PCIE-80GB', 'A100-80GB'],
  memorySlots: 8,
  computeSlices: 7,
  memoryGiB: 80,
  fullGpuSms: 108,
  profiles: [
    { name: '1g.10gb', shape: { computeSlices: 1, memorySlots: 1 }, starts: ALL_ONE_SLOT_STARTS, maxCount: 7, memoryMiB: 9728, sms: 14, mediaExtensions: false }, // 9.50 GiB
    { name: '1g.10gb+me', shape: { computeSlices: 1, memorySlots: 1 }, starts: ALL_ONE_SLOT_STARTS, maxCount: 1, memoryMiB: 9728, sms: 14, mediaExtensions: true }, // 9.50 GiB
    { name: '1g.20gb', shape: { computeSlices: 1, memorySlots: 2 }, starts: TWO_SLOT_STARTS, maxCount: 4, memoryMiB: 19968, sms: 14, mediaExtensions: false }, // 19.50 GiB
    { name: '2g.20gb', shape: { computeSlices: 2, memorySlots: 2 }, starts: TWO_G_STARTS, maxCount: 3, memoryMiB: 19968, sms: 28, mediaExtensions: false }, // 19.50 GiB
    // mig-parted saw `3g.39gb` on drivers 535/545 (§1.1).
    { name: '3g.40gb', nameAliases: ['3g.39gb'], shape: { computeSlices: 3, memorySlots: 4 }, starts: THREE_G_STARTS, maxCount: 2, memoryMiB: 40192, sms: 42, mediaExtensions: false }, // 39.25 GiB
    { name: '4g.40gb', shape: { computeSlices: 4, memorySlots: 4 }, starts: ONLY_START_0, maxCount: 1, memoryMiB: 40192, sms: 56, mediaExtensions: false }, // 39.25 GiB
    // nos and HAMi configs spell it `7g.79gb` (§1.1).
    { name: '7g.80gb', nameAliases: ['7g.79gb'], shape: { computeSlices: 7, memorySlots: 8 }, starts: ONLY_START_0, maxCount: 1, memoryMiB: 80896, sms: 98, mediaExtensions: false }, // 79.00 GiB
  ],
} as const satisfies GpuModelSpec;

/**
 * §1.4, SXM5 SM counts. H100 PCIe has the same placements and names but FEWER SMs per profile
 * (14/14/14/30/46/62/114), so it must get its own table rather than an alias here (§1.9).
 * Memory: lgip GiB of recent drivers × 1024.
 */
export const H100_80GB = {
  name: 'H100-80GB',
  modelAliases: ['H100-SXM5-80GB'],
  memorySlots: 8,
  computeSlices: 7,
  memoryGiB: 80,
  fullGpuSms: 132,
  profiles: [
    { name: '1g.10gb', shape: { computeSlices: 1, memorySlots: 1 }, starts: ALL_ONE_SLOT_STARTS, maxCount: 7, memoryMiB: 9984, sms: 16, mediaExtensions: false }, // 9.75 GiB
    { name: '1g.10gb+me', shape: { computeSlices: 1, memorySlots: 1 }, starts: ALL_ONE_SLOT_STARTS, maxCount: 1, memoryMiB: 9984, sms: 16, mediaExtensions: true }, // 9.75 GiB
    // Hopper SMs are not proportional to slices: two-slot 1g has 26, 3g has 60 (§1.4 notes).
    { name: '1g.20gb', shape: { computeSlices: 1, memorySlots: 2 }, starts: TWO_SLOT_STARTS, maxCount: 4, memoryMiB: 20091, sms: 26, mediaExtensions: false }, // 19.62 GiB
    { name: '2g.20gb', shape: { computeSlices: 2, memorySlots: 2 }, starts: TWO_G_STARTS, maxCount: 3, memoryMiB: 20091, sms: 32, mediaExtensions: false }, // 19.62 GiB
    { name: '3g.40gb', shape: { computeSlices: 3, memorySlots: 4 }, starts: THREE_G_STARTS, maxCount: 2, memoryMiB: 40448, sms: 60, mediaExtensions: false }, // 39.50 GiB
    { name: '4g.40gb', shape: { computeSlices: 4, memorySlots: 4 }, starts: ONLY_START_0, maxCount: 1, memoryMiB: 40448, sms: 64, mediaExtensions: false }, // 39.50 GiB
    { name: '7g.80gb', shape: { computeSlices: 7, memorySlots: 8 }, starts: ONLY_START_0, maxCount: 1, memoryMiB: 81152, sms: 132, mediaExtensions: false }, // 79.25 GiB
  ],
} as const satisfies GpuModelSpec;

/**
 * §1.5. Placements are [inferred] from H100 (no H200 lgipp was found): assert them with
 * `nvidia-smi mig -lgipp` on the first H200 node. Memory: lgip GiB × 1024.
 */
export const H200_141GB = {
  name: 'H200-141GB',
  memorySlots: 8,
  computeSlices: 7,
  memoryGiB: 141,
  fullGpuSms: 132,
  profiles: [
    { name: '1g.18gb', shape: { computeSlices: 1, memorySlots: 1 }, starts: ALL_ONE_SLOT_STARTS, maxCount: 7, memoryMiB: 16384, sms: 16, mediaExtensions: false }, // 16.00 GiB
    { name: '1g.18gb+me', shape: { computeSlices: 1, memorySlots: 1 }, starts: ALL_ONE_SLOT_STARTS, maxCount: 1, memoryMiB: 16384, sms: 16, mediaExtensions: true }, // 16.00 GiB
    { name: '1g.35gb', shape: { computeSlices: 1, memorySlots: 2 }, starts: TWO_SLOT_STARTS, maxCount: 4, memoryMiB: 33024, sms: 26, mediaExtensions: false }, // 32.25 GiB
    { name: '2g.35gb', shape: { computeSlices: 2, memorySlots: 2 }, starts: TWO_G_STARTS, maxCount: 3, memoryMiB: 33024, sms: 32, mediaExtensions: false }, // 32.25 GiB
    { name: '3g.71gb', shape: { computeSlices: 3, memorySlots: 4 }, starts: THREE_G_STARTS, maxCount: 2, memoryMiB: 71168, sms: 60, mediaExtensions: false }, // 69.50 GiB
    { name: '4g.71gb', shape: { computeSlices: 4, memorySlots: 4 }, starts: ONLY_START_0, maxCount: 1, memoryMiB: 71168, sms: 64, mediaExtensions: false }, // 69.50 GiB
    { name: '7g.141gb', shape: { computeSlices: 7, memorySlots: 8 }, starts: ONLY_START_0, maxCount: 1, memoryMiB: 143104, sms: 132, mediaExtensions: false }, // 139.75 GiB
  ],
} as const satisfies GpuModelSpec;

/** §1.6: the 4-slot variant (4 memory slots, 4 compute slices). Memory: lgip GiB × 1024. */
export const A30_24GB = {
  name: 'A30-24GB',
  memorySlots: 4,
  computeSlices: 4,
  memoryGiB: 24,
  fullGpuSms: 56,
  profiles: [
    { name: '1g.6gb', shape: { computeSlices: 1, memorySlots: 1 }, starts: [0, 1, 2, 3], maxCount: 4, memoryMiB: 5949, sms: 14, mediaExtensions: false }, // 5.81 GiB
    { name: '1g.6gb+me', shape: { computeSlices: 1, memorySlots: 1 }, starts: [0, 1, 2, 3], maxCount: 1, memoryMiB: 5949, sms: 14, mediaExtensions: true }, // 5.81 GiB
    { name: '2g.12gb', shape: { computeSlices: 2, memorySlots: 2 }, starts: [0, 2], maxCount: 2, memoryMiB: 11971, sms: 28, mediaExtensions: false }, // 11.69 GiB
    // Placement not seen, presumably {0,2}:2 (§1.6); R525+.
    { name: '2g.12gb+me', shape: { computeSlices: 2, memorySlots: 2 }, starts: [0, 2], maxCount: 1, memoryMiB: 11971, sms: 28, mediaExtensions: true }, // 11.69 GiB
    // Drivers report 23.44–23.50 GiB; the lower bound keeps fit decisions conservative.
    { name: '4g.24gb', shape: { computeSlices: 4, memorySlots: 4 }, starts: [0], maxCount: 1, memoryMiB: 24003, sms: 56, mediaExtensions: false }, // 23.44 GiB
  ],
} as const satisfies GpuModelSpec;

export const GPU_MODELS: readonly GpuModelSpec[] = [A100_SXM4_40GB, A100_SXM4_80GB, H100_80GB, H200_141GB, A30_24GB];

/** Model name (canonical or alias) → spec, and per model profile name (or alias) → spec. */
const modelsByName = new Map<string, GpuModelSpec>();
const profilesByModel = new Map<string, ReadonlyMap<string, ProfileSpec>>();

function wholeGpuProfile(model: GpuModelSpec): ProfileSpec {
  return {
    name: WHOLE_GPU_PROFILE,
    shape: { computeSlices: model.computeSlices, memorySlots: model.memorySlots },
    starts: [0],
    maxCount: 1,
    memoryMiB: model.memoryGiB * 1024,
    sms: model.fullGpuSms,
    mediaExtensions: false,
    wholeGpu: true,
  };
}

for (const model of GPU_MODELS) {
  for (const name of [model.name, ...(model.modelAliases ?? [])]) modelsByName.set(name, model);
  const profiles = new Map<string, ProfileSpec>();
  for (const row of model.profiles) {
    const spec: ProfileSpec = { ...row, wholeGpu: false };
    for (const name of [row.name, ...(row.nameAliases ?? [])]) profiles.set(name, spec);
  }
  profiles.set(WHOLE_GPU_PROFILE, wholeGpuProfile(model));
  profilesByModel.set(model.name, profiles);
}

export type GpuModelRef = string | GpuModelSpec;
export type ProfileRef = string | ProfileSpec;

export function findGpuModel(name: string): GpuModelSpec | undefined {
  return modelsByName.get(name);
}

/** The spec of a GPU model by canonical name or alias; throws SSIS_GEOMETRY_VIOLATION listing the known ones. */
export function getGpuModel(model: GpuModelRef): GpuModelSpec {
  if (typeof model !== 'string') return model;
  const spec = modelsByName.get(model);
  if (spec === undefined) {
    const known = GPU_MODELS.map((m) => m.name).join(', ');
    throw new SsisError('SSIS_GEOMETRY_VIOLATION', `unknown GPU model "${model}"; known models: ${known}`, {
      details: { model, knownModels: GPU_MODELS.map((m) => m.name) },
    });
  }
  return spec;
}

/** A profile of a model by name, alias or WHOLE_GPU_PROFILE; undefined when the model lacks it. */
export function findProfile(model: GpuModelRef, profileName: string): ProfileSpec | undefined {
  return profilesByModel.get(getGpuModel(model).name)?.get(profileName);
}

/** Like findProfile, but throws SSIS_GEOMETRY_VIOLATION naming the model and its profiles. */
export function getProfile(model: GpuModelRef, profile: ProfileRef): ProfileSpec {
  if (typeof profile !== 'string') return profile;
  const spec = getGpuModel(model);
  const found = findProfile(spec, profile);
  if (found === undefined) {
    const known = [...spec.profiles.map((p) => p.name), WHOLE_GPU_PROFILE].join(', ');
    throw new SsisError('SSIS_GEOMETRY_VIOLATION', `unknown profile "${profile}" for GPU model ${spec.name}; known profiles: ${known}`, {
      details: { model: spec.name, profile },
    });
  }
  return found;
}

/** Share of the GPU's compute: k/7 (k/4 on A30); the whole GPU is 1. */
export function computeFraction(model: GpuModelRef, profile: ProfileRef): number {
  const spec = getGpuModel(model);
  return getProfile(spec, profile).shape.computeSlices / spec.computeSlices;
}

/** Share of memory bandwidth, which follows memory slots (§1.1): m/8 (m/4 on A30); the whole GPU is 1. */
export function memoryBandwidthFraction(model: GpuModelRef, profile: ProfileRef): number {
  const spec = getGpuModel(model);
  return getProfile(spec, profile).shape.memorySlots / spec.memorySlots;
}

/** Memory a replica can use on this profile, GiB (MIB/1024 of the table; the whole GPU's nominal GiB). */
export function profileMemoryGiB(model: GpuModelRef, profile: ProfileRef): number {
  return getProfile(model, profile).memoryMiB / 1024;
}

/** Memory slots an instance of this profile covers (all of them for the whole GPU). */
export function profileMemorySlots(model: GpuModelRef, profile: ProfileRef): number {
  return getProfile(model, profile).shape.memorySlots;
}

/** The canonical shape key of §5.1, e.g. `3c4m`. */
export function shapeKey(shape: ProfileShape): string {
  return `${shape.computeSlices}c${shape.memorySlots}m`;
}

/** True for the two-slot 1g profiles ("2s" in §1.7): one compute slice on two memory slots. */
export function isTwoSlotOneG(profile: MigProfileSpec): boolean {
  return profile.shape.computeSlices === 1 && profile.shape.memorySlots === 2;
}
