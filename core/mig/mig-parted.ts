/**
 * The NVIDIA mig-parted config (mig.md §2.1, API `v1`) and the per-node `nvidia.com/mig.config`
 * label that makes the GPU Operator's mig-manager apply it (§2.2).
 *
 * mig-parted works on COUNTS per profile and lets the driver choose placements, retrying creation
 * orders until one succeeds (§1.8 rule 7). The placement decides what stays placeable
 * (§1.8 rule 8), so SSIS places explicitly (NVML create-with-placement, §5.1) and uses this config
 * only where a whole GPU is (re)initialised: mig-parted clears every instance of a GPU whose layout
 * differs (§0 fact 7), so it can never add one slice next to running tenants.
 */
import { getProfile } from './geometry.js';
import { assertValidCluster, compareGpus, type GpuState } from './layout.js';

export const MIG_CONFIG_LABEL = 'nvidia.com/mig.config';

export interface MigPartedDeviceSpec {
  devices: number[];
  'mig-enabled': boolean;
  /** Profile → count; empty when MIG is disabled (§2.1), and may be empty when enabled (`all-enabled`). */
  'mig-devices': Record<string, number>;
}

export interface MigPartedConfig {
  version: 'v1';
  'mig-configs': Record<string, MigPartedDeviceSpec[]>;
}

export interface MigPartedPlan {
  readonly config: MigPartedConfig;
  /** Node → value of its `nvidia.com/mig.config` label, a key of `config['mig-configs']`. */
  readonly nodeLabels: Readonly<Record<string, string>>;
}

/** Kubernetes label values: at most 63 characters of [A-Za-z0-9._-], alphanumeric at both ends. */
const LABEL_VALUE_MAX_CHARS = 63;
const CONFIG_NAME_PREFIX = 'ssis-';
const HASH_HEX_CHARS = 8;

/** Counts of the GPU's instances (free ones too: they exist on the device) per profile, sorted by name. */
function migDeviceCounts(gpu: GpuState): Record<string, number> {
  const counts = new Map<string, number>();
  for (const instance of gpu.instances) {
    const profile = getProfile(gpu.model, instance.profile);
    if (profile.wholeGpu) continue;
    counts.set(profile.name, (counts.get(profile.name) ?? 0) + 1);
  }
  return Object.fromEntries([...counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The specs of one node's GPUs; GPUs with the same mode and counts share one entry. */
export function nodeMigPartedSpecs(gpusOfNode: readonly GpuState[]): MigPartedDeviceSpec[] {
  const byLayout = new Map<string, MigPartedDeviceSpec>();
  for (const gpu of [...gpusOfNode].sort(compareGpus)) {
    const migDevices = gpu.migEnabled ? migDeviceCounts(gpu) : {};
    const key = JSON.stringify([gpu.migEnabled, migDevices]);
    const existing = byLayout.get(key);
    if (existing !== undefined) existing.devices.push(gpu.index);
    else byLayout.set(key, { devices: [gpu.index], 'mig-enabled': gpu.migEnabled, 'mig-devices': migDevices });
  }
  return [...byLayout.values()];
}

/** 32-bit FNV-1a, as 8 hex digits: a short, stable, dependency-free digest. */
function fnv1aHex(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(HASH_HEX_CHARS, '0');
}

/**
 * `ssis-<node>-<hash>`: the node part is made label-safe and cut to fit 63 characters; the hash
 * covers the full specs (devices, mode, counts), so one name never stands for two layouts.
 */
export function migConfigName(node: string, specs: readonly MigPartedDeviceSpec[]): string {
  const nodeRoom = LABEL_VALUE_MAX_CHARS - CONFIG_NAME_PREFIX.length - 1 - HASH_HEX_CHARS;
  const safeNode = node.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, nodeRoom);
  return `${CONFIG_NAME_PREFIX}${safeNode}-${fnv1aHex(JSON.stringify(specs))}`;
}

/** One mig-parted config per node, and the label value selecting it. Throws on an invalid layout. */
export function buildMigPartedPlan(gpus: readonly GpuState[]): MigPartedPlan {
  assertValidCluster(gpus);
  const nodes = [...new Set(gpus.map((g) => g.node))].sort();
  const config: MigPartedConfig = { version: 'v1', 'mig-configs': {} };
  const nodeLabels: Record<string, string> = {};
  for (const node of nodes) {
    const specs = nodeMigPartedSpecs(gpus.filter((g) => g.node === node));
    const name = migConfigName(node, specs);
    config['mig-configs'][name] = specs;
    nodeLabels[node] = name;
  }
  return { config, nodeLabels };
}
