/**
 * Repartitioning through the GPU operator: the node's mig-parted config goes into the operator's
 * config ConfigMap, the node's `nvidia.com/mig.config` label names it, and the mig-manager
 * reports back in `nvidia.com/mig.config.state` (pending → success, or failed). The exact layout
 * (positions, owners) is recorded in a node annotation in the same patch. Idempotent: a node
 * already labelled and annotated as desired gets no call; a layout that only changes owners is an
 * annotation update with nothing to wait for.
 */
import type { EventEmitter } from 'node:events';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1ConfigMap, type V1Node } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import type { Logger } from '../../core/common/ports';
import { SsisError } from '../../core/errors';
import { assertValidCluster, type GpuState } from '../../core/mig/layout';
import { MIG_CONFIG_LABEL, migConfigName, nodeMigPartedSpecs, type MigPartedConfig } from '../../core/mig/mig-parted';
import { isApiStatus } from './api-status';
import { withConflictRetry } from './conflict-retry';
import { GPU_OPERATOR_NAMESPACE, MIG_CONFIG_STATE_LABEL, MIG_LAYOUT_ANNOTATION, MIG_PARTED_CONFIGMAP, MIG_PARTED_CONFIGMAP_KEY, type NodeMigLayout } from './contract';
import { advertisedMigCounts, layoutAnnotation, migCounts, sameMigCounts } from './node-gpus';
import type { WatchCache } from './watch-cache';

export interface RepartitionOptions {
  /** Namespace of the GPU operator and its mig-parted ConfigMap (default gpu-operator). */
  readonly operatorNamespace?: string;
  /** Longest wait for the mig-manager's success (it may reboot the node); default 10 min. */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000;

interface NodeChange {
  readonly node: string;
  readonly gpus: GpuState[];
  readonly configName: string;
  readonly annotation: string;
  readonly relabel: boolean;
}

export class MigRepartitioner {
  private readonly core: CoreV1Api;
  private readonly namespace: string;

  constructor(
    kc: KubeConfig,
    private readonly nodes: WatchCache<V1Node>,
    private readonly changes: EventEmitter,
    private readonly logger: Logger,
    private readonly opts: RepartitionOptions,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.namespace = opts.operatorNamespace ?? GPU_OPERATOR_NAMESPACE;
  }

  /** Applies `layouts` (each a GPU of `current`) node by node, waiting for each repartition. */
  async apply(current: readonly GpuState[], layouts: readonly GpuState[]): Promise<void> {
    for (const l of layouts) {
      if (!current.some((g) => g.node === l.node && g.index === l.index)) {
        throw new SsisError('SSIS_GEOMETRY_VIOLATION', `no GPU ${l.node}/gpu${l.index} in the cluster`, { issues: [{ field: `${l.node}/gpu${l.index}`, message: 'unknown GPU' }] });
      }
    }
    const next = current.map((g) => layouts.find((l) => l.node === g.node && l.index === g.index) ?? g);
    assertValidCluster(next);
    const changes = this.nodeChanges(next, new Set(layouts.map((l) => l.node)));
    if (changes.length === 0) return;
    if (changes.some((c) => c.relabel)) await this.writeConfigs(changes.filter((c) => c.relabel));
    for (const change of changes) await this.applyNode(change);
  }

  /** Marks the instances `replica` owned as free in the layout records (no repartition). */
  async releaseOwner(replica: string): Promise<void> {
    for (const node of this.nodes.list()) {
      const raw = node.metadata?.annotations?.[MIG_LAYOUT_ANNOTATION];
      if (raw === undefined || !raw.includes(JSON.stringify(replica))) continue;
      let layout: NodeMigLayout;
      try {
        layout = JSON.parse(raw) as NodeMigLayout;
      } catch {
        continue; // not a record SSIS can read; gpus() already plans from the node's counts
      }
      const freed = layout.map((g) => ({ ...g, instances: g.instances.map((i) => (i.owner === replica ? { ...i, owner: null } : i)) }));
      const patch = { metadata: { annotations: { [MIG_LAYOUT_ANNOTATION]: JSON.stringify(freed) } } };
      this.nodes.apply(await this.core.patchNode({ name: node.metadata?.name ?? '', body: patch }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)));
    }
  }

  private nodeChanges(next: readonly GpuState[], touched: ReadonlySet<string>): NodeChange[] {
    const out: NodeChange[] = [];
    for (const node of [...touched].sort()) {
      const gpus = next.filter((g) => g.node === node);
      const configName = migConfigName(node, nodeMigPartedSpecs(gpus));
      const annotation = layoutAnnotation(gpus);
      const held = this.nodes.get(node);
      const label = held?.metadata?.labels?.[MIG_CONFIG_LABEL];
      const state = held?.metadata?.labels?.[MIG_CONFIG_STATE_LABEL];
      const relabel = label !== configName || state === 'failed';
      if (!relabel && held?.metadata?.annotations?.[MIG_LAYOUT_ANNOTATION] === annotation) continue;
      out.push({ node, gpus, configName, annotation, relabel });
    }
    return out;
  }

  /** Adds the nodes' configs to the operator's ConfigMap, dropping configs no node names any more. */
  private async writeConfigs(changes: readonly NodeChange[]): Promise<void> {
    const inUse = new Set(this.nodes.list().map((n) => n.metadata?.labels?.[MIG_CONFIG_LABEL]).filter((v): v is string => v !== undefined));
    for (const c of changes) inUse.add(c.configName);
    await withConflictRetry(`ConfigMap ${this.namespace}/${MIG_PARTED_CONFIGMAP}`, async () => {
      let existing: V1ConfigMap | null;
      try {
        existing = await this.core.readNamespacedConfigMap({ name: MIG_PARTED_CONFIGMAP, namespace: this.namespace });
      } catch (err) {
        if (!isApiStatus(err, 404)) throw err;
        existing = null;
      }
      const config = existing === null ? { version: 'v1', 'mig-configs': {} } : ((parse(existing.data?.[MIG_PARTED_CONFIGMAP_KEY] ?? '') as MigPartedConfig | null) ?? { version: 'v1', 'mig-configs': {} });
      const configs: MigPartedConfig['mig-configs'] = {};
      for (const [name, specs] of Object.entries(config['mig-configs'] ?? {})) if (inUse.has(name)) configs[name] = specs;
      for (const c of changes) configs[c.configName] = nodeMigPartedSpecs(c.gpus);
      const data = { [MIG_PARTED_CONFIGMAP_KEY]: stringify({ version: 'v1', 'mig-configs': configs }) };
      if (existing === null) {
        await this.core.createNamespacedConfigMap({ namespace: this.namespace, body: { metadata: { name: MIG_PARTED_CONFIGMAP, namespace: this.namespace }, data } });
      } else if (existing.data?.[MIG_PARTED_CONFIGMAP_KEY] !== data[MIG_PARTED_CONFIGMAP_KEY]) {
        await this.core.replaceNamespacedConfigMap({ name: MIG_PARTED_CONFIGMAP, namespace: this.namespace, body: { ...existing, data } });
      }
    });
  }

  private async applyNode(change: NodeChange): Promise<void> {
    const before = this.nodes.get(change.node);
    // The old state goes with the old label, so whatever state appears next is the mig-manager's answer to this one.
    const labels = change.relabel ? { [MIG_CONFIG_LABEL]: change.configName, [MIG_CONFIG_STATE_LABEL]: null } : { [MIG_CONFIG_LABEL]: change.configName };
    const patch = { metadata: { labels, annotations: { [MIG_LAYOUT_ANNOTATION]: change.annotation } } };
    const patched = await this.core.patchNode({ name: change.node, body: patch }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    this.nodes.apply(patched);
    if (!change.relabel) return;
    this.logger.info({ node: change.node, config: change.configName }, 'repartition requested');
    try {
      await this.waitForMigManager(change);
    } catch (err) {
      await this.rollBack(change.node, before);
      throw err;
    }
    this.logger.info({ node: change.node, config: change.configName }, 'repartition applied');
  }

  /**
   * After a failed repartition the node keeps the instances it had: its label and layout record
   * go back to what they were, so the next plan starts from the owners SSIS knows (the
   * mig-manager re-applies the old config, which matches what the GPUs hold).
   */
  private async rollBack(node: string, before: V1Node | undefined): Promise<void> {
    const label = before?.metadata?.labels?.[MIG_CONFIG_LABEL] ?? null;
    const annotation = before?.metadata?.annotations?.[MIG_LAYOUT_ANNOTATION] ?? null;
    try {
      const patch = { metadata: { labels: { [MIG_CONFIG_LABEL]: label, [MIG_CONFIG_STATE_LABEL]: null }, annotations: { [MIG_LAYOUT_ANNOTATION]: annotation } } };
      this.nodes.apply(await this.core.patchNode({ name: node, body: patch }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)));
    } catch (err) {
      this.logger.error({ node, error: String(err) }, 'could not restore the MIG label and layout record after a failed repartition');
    }
  }

  /**
   * Success is the mig-manager's `success` with the node advertising the new layout's counts;
   * the relabel cleared the state, so neither can be a leftover of the previous config.
   */
  private waitForMigManager(change: NodeChange): Promise<void> {
    const expected = migCounts(change.gpus);
    const timeoutMs = this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const node = this.nodes.get(change.node);
        const labels = node?.metadata?.labels ?? {};
        if (labels[MIG_CONFIG_LABEL] !== change.configName) return;
        const state = labels[MIG_CONFIG_STATE_LABEL];
        if (state === 'failed') {
          finish(new SsisError('SSIS_REPARTITION_FAILED', `the mig-manager failed to apply ${change.configName} on node ${change.node} (nvidia.com/mig.config.state=failed)`));
        } else if (state === 'success' && node !== undefined && sameMigCounts(advertisedMigCounts(node), expected)) {
          finish(null);
        }
      };
      const timer = setTimeout(() => finish(new SsisError('SSIS_REPARTITION_FAILED', `node ${change.node} did not report ${change.configName} applied within ${timeoutMs} ms`)), timeoutMs);
      const finish = (err: SsisError | null): void => {
        clearTimeout(timer);
        this.changes.off('change', check);
        if (err === null) resolve();
        else reject(err);
      };
      this.changes.on('change', check);
      check();
    });
  }
}
