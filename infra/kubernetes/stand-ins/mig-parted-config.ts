/**
 * The mig-manager stand-in's reading of a mig-parted config file (notes/mig.md §2.1, API `v1`)
 * and what applying one of its named configs to a node makes the device plugin advertise
 * (mixed strategy, §2.3): per profile `nvidia.com/mig-<profile>` summed over the node's GPUs,
 * and `nvidia.com/gpu` for each GPU with MIG disabled.
 *
 * Like mig-parted it refuses a whole file that breaks the format, and a config that cannot be
 * created on the hardware (a profile the GPU model lacks, counts no placement realises). The
 * stand-in knows the GPUs only from the node's gpu-feature-discovery labels, so:
 * - a GPU no spec names is taken as MIG-disabled (the Operator's `all-disabled` default), where
 *   the real one would keep whatever it had;
 * - `device-filter` (PCI device ids) is refused rather than guessed: SSIS never writes one.
 */
import { parse as parseYaml } from 'yaml';
import { findGpuModel, findProfile, type GpuModelSpec } from '../../../core/mig/geometry';
import { feasiblePatterns, patternKey, patternProfiles } from '../../../core/mig/patterns';
import { migResourceName, WHOLE_GPU_RESOURCE } from '../contract';

export interface DeviceSpec {
  readonly devices: 'all' | readonly number[];
  readonly migEnabled: boolean;
  /** Profile name as written → count. */
  readonly migDevices: Readonly<Record<string, number>>;
}

export type MigPartedConfigs = ReadonlyMap<string, readonly DeviceSpec[]>;

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
const refused = <T>(reason: string): Outcome<T> => ({ ok: false, reason });

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

function parseSpec(raw: unknown, field: string): Outcome<DeviceSpec> {
  if (!isRecord(raw)) return refused(`${field} must be a map`);
  if ('device-filter' in raw) return refused(`${field}.device-filter is not supported by the stand-in`);
  const unknown = Object.keys(raw).filter((k) => !['devices', 'mig-enabled', 'mig-devices'].includes(k));
  if (unknown.length > 0) return refused(`${field} has unknown keys: ${unknown.join(', ')}`);
  const devices = raw['devices'];
  if (devices !== 'all' && !(Array.isArray(devices) && devices.length > 0 && devices.every(isCount))) {
    return refused(`${field}.devices must be 'all' or a non-empty list of GPU indices`);
  }
  const migEnabled = raw['mig-enabled'];
  if (typeof migEnabled !== 'boolean') return refused(`${field}.mig-enabled must be true or false`);
  const migDevices = raw['mig-devices'] ?? {};
  if (!isRecord(migDevices)) return refused(`${field}.mig-devices must be a map of profile to count`);
  if (migEnabled && raw['mig-devices'] === undefined) return refused(`${field}.mig-devices is required when mig-enabled is true`);
  if (!migEnabled && Object.keys(migDevices).length > 0) return refused(`${field}.mig-devices must be empty when mig-enabled is false`);
  const counts: Record<string, number> = {};
  for (const [profile, count] of Object.entries(migDevices)) {
    if (!isCount(count)) return refused(`${field}.mig-devices.${profile} must be a non-negative integer`);
    counts[profile] = count;
  }
  return ok({ devices: devices === 'all' ? 'all' : [...devices], migEnabled, migDevices: counts });
}

/** Parses the ConfigMap's `config.yaml`; any format error refuses the whole file, as mig-parted does. */
export function parseMigPartedConfigs(text: string): Outcome<MigPartedConfigs> {
  let doc: unknown;
  try {
    doc = parseYaml(text) as unknown;
  } catch (err) {
    return refused(`config.yaml is not valid YAML: ${(err as Error).message}`);
  }
  if (!isRecord(doc)) return refused('config.yaml must be a map');
  if (doc['version'] !== 'v1') return refused(`version must be v1, not ${JSON.stringify(doc['version'])}`);
  const configs = doc['mig-configs'];
  if (!isRecord(configs)) return refused('mig-configs must be a map of config name to specs');
  const parsed = new Map<string, DeviceSpec[]>();
  for (const [name, specs] of Object.entries(configs)) {
    if (!Array.isArray(specs) || specs.length === 0) return refused(`mig-configs.${name} must be a non-empty list`);
    const list: DeviceSpec[] = [];
    for (const [i, raw] of specs.entries()) {
      const spec = parseSpec(raw, `mig-configs.${name}[${i}]`);
      if (!spec.ok) return spec;
      list.push(spec.value);
    }
    parsed.set(name, list);
  }
  return ok(parsed);
}

export interface NodeGpus {
  /** From `nvidia.com/gpu.count`. */
  readonly count: number;
  /** core/mig/geometry's model of `nvidia.com/gpu.product`; undefined when unknown (no geometry check). */
  readonly model: string | undefined;
}

const feasibleByModel = new Map<string, { keys: Set<string>; order: string[] }>();

/** Every realisable multiset of a model's profiles (`+me` ones included), by canonical name. */
function feasibility(model: GpuModelSpec): { keys: Set<string>; order: string[] } {
  let known = feasibleByModel.get(model.name);
  if (!known) {
    const options = { includeMediaExtensions: true };
    const order = patternProfiles(model, options).map((p) => p.name);
    known = { keys: new Set(feasiblePatterns(model, options).map((p) => patternKey(p.counts, order))), order };
    feasibleByModel.set(model.name, known);
  }
  return known;
}

/** Why these counts cannot be created on one GPU of `model`, or null when they can. */
function infeasibility(model: GpuModelSpec, migDevices: Readonly<Record<string, number>>): string | null {
  const canonical: Record<string, number> = {};
  for (const [name, count] of Object.entries(migDevices)) {
    const profile = findProfile(model, name);
    if (!profile || profile.wholeGpu) return `profile ${name} does not exist on ${model.name}`;
    canonical[profile.name] = (canonical[profile.name] ?? 0) + count;
  }
  const { keys, order } = feasibility(model);
  if (!keys.has(patternKey(canonical, order))) return `no placement of ${JSON.stringify(migDevices)} fits one ${model.name}`;
  return null;
}

/**
 * The extended resources a node advertises once `specs` is applied: resource name → count,
 * zero counts left out. Refused when a spec names a GPU the node lacks, two specs name one GPU,
 * or a GPU's counts cannot be created.
 */
export function advertisedResources(specs: readonly DeviceSpec[], gpus: NodeGpus): Outcome<Record<string, number>> {
  const model = gpus.model === undefined ? undefined : findGpuModel(gpus.model);
  const specOfGpu = new Map<number, DeviceSpec>();
  for (const spec of specs) {
    const indices = spec.devices === 'all' ? Array.from({ length: gpus.count }, (_, i) => i) : spec.devices;
    for (const index of indices) {
      if (index >= gpus.count) return refused(`GPU ${index} does not exist (the node has ${gpus.count})`);
      if (specOfGpu.has(index)) return refused(`GPU ${index} is named by two specs`);
      specOfGpu.set(index, spec);
    }
  }
  const resources: Record<string, number> = {};
  const add = (resource: string, count: number): void => {
    if (count > 0) resources[resource] = (resources[resource] ?? 0) + count;
  };
  for (let index = 0; index < gpus.count; index++) {
    const spec = specOfGpu.get(index);
    if (!spec?.migEnabled) {
      add(WHOLE_GPU_RESOURCE, 1);
      continue;
    }
    const why = model ? infeasibility(model, spec.migDevices) : null;
    if (why !== null) return refused(`GPU ${index}: ${why}`);
    for (const [profile, count] of Object.entries(spec.migDevices)) add(migResourceName(profile), count);
  }
  return ok(resources);
}
