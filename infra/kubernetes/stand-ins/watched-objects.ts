/**
 * A list+watch cache of one kind of object, for the stand-ins' controllers: client-node's
 * informer (which lists, watches from the list's resourceVersion, and lists again when the API
 * server answers 410 Gone), made to keep going. The informer gives up on any other error (a
 * dropped connection, a refused list); here it is started again after a pause, resuming from
 * the last resourceVersion it saw.
 */
import { makeInformer, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../../core/common/ports';

export type WatchEvent = 'add' | 'update' | 'delete';

export interface WatchedObjectsOptions<T extends KubernetesObject> {
  readonly kubeConfig: KubeConfig;
  /** The watch path, e.g. `/api/v1/nodes` or `/apis/serving.knative.dev/v1/namespaces/models/services`. */
  readonly path: string;
  /** Lists what `path` watches (same namespace and selector). */
  readonly list: () => Promise<KubernetesListObject<T>>;
  readonly labelSelector?: string;
  /** Called synchronously from the watch stream: enqueue work here, never do it. */
  readonly onEvent: (event: WatchEvent, object: T) => void;
  readonly logger: Logger;
  /** Pause before starting again after an error (default 500 ms). */
  readonly restartDelayMs?: number;
}

export interface WatchedObjects<T extends KubernetesObject> {
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): readonly T[];
  stop(): Promise<void>;
}

/** Starts the watch; resolves once the first list has filled the cache (retrying until it does). */
export async function watchObjects<T extends KubernetesObject>(opts: WatchedObjectsOptions<T>): Promise<WatchedObjects<T>> {
  const informer = makeInformer<T>(opts.kubeConfig, opts.path, opts.list, opts.labelSelector);
  const restartDelayMs = opts.restartDelayMs ?? 500;
  let stopped = false;
  // Set by the error callback while a start() is in progress.
  let failedSinceStart: boolean;
  let synced = false;
  let restartTimer: NodeJS.Timeout | null = null;

  informer.on('add', (object) => opts.onEvent('add', object));
  informer.on('update', (object) => opts.onEvent('update', object));
  informer.on('delete', (object) => opts.onEvent('delete', object));
  informer.on('error', (err: unknown) => {
    // Stopping aborts the watch request, which reports itself as an error.
    if (stopped) return;
    failedSinceStart = true;
    opts.logger.warn({ path: opts.path, err: String(err) }, 'watch failed; starting it again');
    // Before the first sync the start-up loop below retries; after it, this timer does.
    if (synced && restartTimer === null) {
      restartTimer = setTimeout(() => {
        restartTimer = null;
        if (!stopped) void informer.start();
      }, restartDelayMs);
    }
  });

  // start() resolves after the list and the opening of the watch, or after either failed.
  for (;;) {
    failedSinceStart = false;
    await informer.start();
    if (!failedSinceStart) break;
    await new Promise((r) => setTimeout(r, restartDelayMs));
  }
  synced = true;

  return {
    get: (name, namespace) => informer.get(name, namespace),
    list: (namespace) => informer.list(namespace),
    async stop() {
      stopped = true;
      if (restartTimer) clearTimeout(restartTimer);
      await informer.stop();
    },
  };
}
