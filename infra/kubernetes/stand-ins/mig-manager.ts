/**
 * STAND-IN for the NVIDIA GPU Operator's mig-manager and device plugin (notes/mig.md §2.2, §2.3),
 * which need GPUs and cannot run here. A small controller on the real API server: it watches
 * Nodes and, when a node's `nvidia.com/mig.config` label names a config other than the one it
 * last took up, does what the real one shows from outside:
 *
 * 1. reads the mig-parted config (ConfigMap `ssis-mig-parted-config`, key `config.yaml`, namespace
 *    `gpu-operator`) and checks it: a broken file, an unknown config name or counts the GPUs
 *    cannot hold end in `nvidia.com/mig.config.state=failed`;
 * 2. leaves the node as it is when its state is already `success` and it advertises exactly
 *    what the config makes (as mig-parted skips GPUs whose layout matches: no `pending`, no write);
 * 3. otherwise sets `nvidia.com/mig.config.state=pending`, waits `applyDelayMs` (the real round
 *    trip of operand teardown, `mig-parted apply` and device-plugin restart takes seconds to
 *    minutes), then writes the node's status capacity and allocatable, as the device plugin
 *    would: `nvidia.com/mig-<profile>` summed over the node's GPUs and `nvidia.com/gpu` for GPUs
 *    with MIG disabled, removing the ones no longer there; then sets `state=success`.
 *
 * Failure on demand, for tests of the failure path: the `failConfigs` option or the node
 * annotation `ssis.dev/stand-in-fail=true` make step 3 end in `failed`, capacity untouched.
 * As the real one, a label value is taken up once: a failed config is tried again only when the
 * label changes (or the stand-in restarts). Every state is written with a JSON-patch `test` that
 * the label still names its config, so a late state of a config relabelled away never lands.
 * Unlike the real one, a node found at start reporting `success` for a config the ConfigMap lacks
 * is left alone (it was set up before, e.g. created as `all-enabled`). The GPUs are known from
 * gpu-feature-discovery's labels (`nvidia.com/gpu.count`, `nvidia.com/gpu.product`). Not done: the
 * `nvidia.com/gpu.deploy.*` pausing of operands, reboots, the `all-disabled` default for
 * unlabelled nodes (they are left alone).
 */
import { CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { silentLogger, type Logger } from '../../../core/common/ports';
import { MIG_CONFIG_LABEL } from '../../../core/mig/mig-parted';
import { isApiStatus } from '../api-status';
import {
  GPU_COUNT_LABEL, GPU_OPERATOR_NAMESPACE, GPU_PRODUCT_LABEL, gpuModelOfProduct, MIG_CONFIG_STATE_LABEL, MIG_PARTED_CONFIGMAP, MIG_PARTED_CONFIGMAP_KEY,
  profileOfResource, WHOLE_GPU_RESOURCE, type MigConfigState,
} from '../contract';
import { JSON_PATCH, jsonPointerKey, MERGE_PATCH } from './api-writes';
import { advertisedResources, parseMigPartedConfigs, type DeviceSpec, type Outcome } from './mig-parted-config';
import { ReconcileQueue } from './reconcile-queue';
import { watchObjects, type WatchedObjects } from './watched-objects';

/** Node annotation that makes the stand-in fail the next config it applies to the node. */
export const STAND_IN_FAIL_ANNOTATION = 'ssis.dev/stand-in-fail';

export interface MigManagerStandInOptions {
  readonly kubeConfig: KubeConfig;
  /** Between `pending` and the new capacity (default 200 ms). */
  readonly applyDelayMs?: number;
  /** Configs to fail on demand (after `pending`, like a failed `mig-parted apply`). */
  readonly failConfigs?: (configName: string, node: string) => boolean;
  /** Manage only the nodes this label selector matches (as the real one runs only on GPU nodes); all when absent. */
  readonly nodeSelector?: string;
  readonly logger?: Logger;
}

/** The extended resources the device plugin owns on a node: these are replaced, others kept. */
function isGpuResource(resource: string): boolean {
  return resource === WHOLE_GPU_RESOURCE || profileOfResource(resource) !== null;
}

function gpuResourcesOf(list: Readonly<Record<string, string>> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [resource, quantity] of Object.entries(list ?? {})) {
    const count = Number(quantity);
    if (isGpuResource(resource) && count > 0) out[resource] = count;
  }
  return out;
}

function sameResources(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => a[k] === b[k]);
}

export class MigManagerStandIn {
  private readonly core: CoreV1Api;
  private readonly logger: Logger;
  private readonly queue: ReconcileQueue;
  private nodes: WatchedObjects<V1Node> | null = null;
  /** Node → the label value last taken up (applied, skipped or failed). */
  private readonly takenUp = new Map<string, string>();
  /** Nodes reconciled since the start. */
  private readonly seen = new Set<string>();
  private stopped = false;

  constructor(private readonly opts: MigManagerStandInOptions) {
    this.core = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.logger = (opts.logger ?? silentLogger).child({ standIn: 'mig-manager' });
    this.queue = new ReconcileQueue((node) => this.reconcile(node), this.logger);
  }

  /** Lists and watches the nodes; resolves once the first list is in. */
  async start(): Promise<this> {
    const selector = this.opts.nodeSelector;
    this.nodes = await watchObjects<V1Node>({
      kubeConfig: this.opts.kubeConfig,
      path: '/api/v1/nodes',
      list: () => this.core.listNode(selector === undefined ? {} : { labelSelector: selector }),
      ...(selector === undefined ? {} : { labelSelector: selector }),
      onEvent: (event, node) => {
        const name = node.metadata?.name ?? '';
        if (event === 'delete') this.takenUp.delete(name);
        else this.queue.add(name);
      },
      logger: this.logger,
    });
    for (const node of this.nodes.list()) this.queue.add(node.metadata?.name ?? '');
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.nodes?.stop();
    await this.queue.stop();
  }

  private async reconcile(name: string): Promise<void> {
    const node = this.nodes?.get(name);
    const configName = node?.metadata?.labels?.[MIG_CONFIG_LABEL];
    if (!node || configName === undefined) {
      this.takenUp.delete(name);
      return;
    }
    if (this.takenUp.get(name) === configName) return;
    const firstSight = !this.seen.has(name);
    this.seen.add(name);
    // Marked taken up only once it ended (a run that throws is retried from the start).
    const outcome = await this.takeUp(node, configName, firstSight);
    if (outcome !== 'abandoned') this.takenUp.set(name, configName);
  }

  private async takeUp(node: V1Node, configName: string, firstSight: boolean): Promise<MigConfigState | 'skipped' | 'abandoned'> {
    const name = node.metadata?.name ?? '';
    const log = this.logger.child({ node: name, config: configName });
    const succeeded = node.metadata?.labels?.[MIG_CONFIG_STATE_LABEL] === 'success';
    const desired = await this.resourcesFor(node, configName);
    if (!desired.ok) {
      // A node that already reports success for a config this file lacks was set up before this
      // stand-in started (another config file, a node made ready-configured): left as it is.
      if (firstSight && succeeded && 'missing' in desired) {
        log.debug({}, 'config not in the ConfigMap, node already reports success; left alone');
        return 'skipped';
      }
      log.warn({ reason: desired.reason }, 'mig config refused');
      return (await this.setState(name, configName, 'failed')) ? 'failed' : 'abandoned';
    }
    const current = gpuResourcesOf(node.status?.allocatable);
    if (succeeded && sameResources(current, desired.value)) {
      log.debug({}, 'mig config already applied');
      return 'skipped';
    }

    if (!(await this.setState(name, configName, 'pending'))) return 'abandoned';
    await new Promise((r) => setTimeout(r, this.opts.applyDelayMs ?? 200));
    const now = this.nodes?.get(name);
    // Stopped, or relabelled meanwhile: the next run takes up the new value.
    if (this.stopped || now?.metadata?.labels?.[MIG_CONFIG_LABEL] !== configName) return 'abandoned';
    if (now.metadata?.annotations?.[STAND_IN_FAIL_ANNOTATION] === 'true' || this.opts.failConfigs?.(configName, name) === true) {
      log.info({}, 'mig config failed on demand');
      return (await this.setState(name, configName, 'failed')) ? 'failed' : 'abandoned';
    }
    await this.advertise(now, desired.value);
    if (!(await this.setState(name, configName, 'success'))) return 'abandoned';
    log.info({ resources: desired.value }, 'mig config applied');
    return 'success';
  }

  /** What the node advertises under `configName`, or why it cannot be applied. */
  private async resourcesFor(node: V1Node, configName: string): Promise<Outcome<Record<string, number>> | { ok: false; reason: string; missing: true }> {
    let text: string | undefined;
    try {
      const map = await this.core.readNamespacedConfigMap({ namespace: GPU_OPERATOR_NAMESPACE, name: MIG_PARTED_CONFIGMAP });
      text = map.data?.[MIG_PARTED_CONFIGMAP_KEY];
    } catch (err) {
      if (!isApiStatus(err, 404)) throw err;
    }
    if (text === undefined) return { ok: false, reason: `ConfigMap ${GPU_OPERATOR_NAMESPACE}/${MIG_PARTED_CONFIGMAP} key ${MIG_PARTED_CONFIGMAP_KEY} not found`, missing: true };
    const configs = parseMigPartedConfigs(text);
    if (!configs.ok) return configs;
    const specs: readonly DeviceSpec[] | undefined = configs.value.get(configName);
    if (!specs) return { ok: false, reason: `no config named ${configName}`, missing: true };
    const labels = node.metadata?.labels ?? {};
    const count = Number(labels[GPU_COUNT_LABEL] ?? '1');
    if (!Number.isInteger(count) || count < 0) return { ok: false, reason: `label ${GPU_COUNT_LABEL}=${labels[GPU_COUNT_LABEL]} is not a GPU count` };
    const product = labels[GPU_PRODUCT_LABEL];
    return advertisedResources(specs, { count, model: product === undefined ? undefined : gpuModelOfProduct(product) });
  }

  /** Capacity and allocatable alike (GPUs have no system reservation); GPU resources not desired are removed. */
  private async advertise(node: V1Node, desired: Readonly<Record<string, number>>): Promise<void> {
    const resources: Record<string, string | null> = {};
    for (const list of [node.status?.capacity, node.status?.allocatable]) {
      for (const resource of Object.keys(list ?? {})) if (isGpuResource(resource)) resources[resource] = null;
    }
    for (const [resource, count] of Object.entries(desired)) resources[resource] = String(count);
    await this.core.patchNodeStatus({ name: node.metadata?.name ?? '', body: { status: { capacity: resources, allocatable: resources } } }, MERGE_PATCH);
  }

  /**
   * Writes the state of `configName`, only while the label still names it (a JSON patch `test`,
   * checked by the API server against the stored node): a late state of the previous config
   * must never be read as the new one's. False when the label moved on.
   */
  private async setState(name: string, configName: string, state: MigConfigState): Promise<boolean> {
    const body = [
      { op: 'test', path: `/metadata/labels/${jsonPointerKey(MIG_CONFIG_LABEL)}`, value: configName },
      { op: 'add', path: `/metadata/labels/${jsonPointerKey(MIG_CONFIG_STATE_LABEL)}`, value: state },
    ];
    try {
      await this.core.patchNode({ name, body }, JSON_PATCH);
      return true;
    } catch (err) {
      if (isApiStatus(err, 422)) return false;
      throw err;
    }
  }
}
