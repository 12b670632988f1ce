/**
 * A local copy of one kind of Kubernetes object, kept by list + watch (client-node's informer:
 * it lists, watches from the list's resourceVersion, and lists again when the watch ends or the
 * version is too old, 410 Gone). The adapter's own writes are applied at once from the API's
 * answer, so a handler reads its own writes; an older version arriving later from the watch is
 * ignored. resourceVersions are compared as numbers: opaque by contract, but the etcd revision
 * behind them only grows, which is what every list-watch client relies on too.
 */
import { makeInformer, type Informer, type KubeConfig, type KubernetesListObject, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import type { Logger } from '../../core/common/ports';

const RESTART_DELAY_MS = 1000;

function versionOf(obj: KubernetesObject): number {
  const v = Number(obj.metadata?.resourceVersion ?? '0');
  return Number.isFinite(v) ? v : 0;
}

export class WatchCache<T extends KubernetesObject> {
  private readonly objects = new Map<string, T>();
  private readonly informer: Informer<T> & ObjectCache<T>;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | null = null;

  constructor(
    kc: KubeConfig,
    private readonly what: string,
    path: string,
    list: () => Promise<KubernetesListObject<T>>,
    private readonly onChange: (obj: T) => void,
    private readonly logger: Logger,
    labelSelector?: string,
  ) {
    this.informer = makeInformer(kc, path, list, labelSelector);
    this.informer.on('add', (obj) => this.apply(obj));
    this.informer.on('update', (obj) => this.apply(obj));
    this.informer.on('delete', (obj) => this.remove(obj));
    this.informer.on('error', (err: unknown) => {
      if (this.stopped) return;
      this.logger.warn({ what: this.what, error: String(err) }, 'watch ended; listing again');
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (!this.stopped) this.informer.start().catch((e: unknown) => this.logger.warn({ what: this.what, error: String(e) }, 'relist failed'));
      }, RESTART_DELAY_MS);
    });
  }

  /** Resolves once the first list is in. */
  start(): Promise<void> {
    return this.informer.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    await this.informer.stop();
  }

  get(name: string): T | undefined {
    return this.objects.get(name);
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  /** Takes an object the API just returned (a write's answer), unless the cache already holds a newer one. */
  apply(obj: T): void {
    const name = obj.metadata?.name;
    if (name === undefined) return;
    const held = this.objects.get(name);
    if (held !== undefined && versionOf(held) > versionOf(obj)) return;
    this.objects.set(name, obj);
    this.onChange(obj);
  }

  remove(obj: T): void {
    const name = obj.metadata?.name;
    if (name === undefined) return;
    this.objects.delete(name);
    this.onChange(obj);
  }
}
