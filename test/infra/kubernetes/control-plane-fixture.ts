/**
 * The real Kubernetes control plane the cluster suite runs against: etcd, kube-apiserver with the
 * Knative CRDs, kube-scheduler and KWOK, built by control-plane/build.sh and started by the
 * project's own code (infra/kubernetes/local-control-plane.ts) in a fresh folder on free loopback
 * ports, once per mocha run, on first use. A root-level `after` hook stops it and deletes its
 * folder; a process 'exit' hook kills it should mocha end any other way, and the next start reaps
 * planes whose test run was killed outright.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ApiException, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { startLocalControlPlane, type LocalControlPlane } from '../../../infra/kubernetes/local-control-plane';

export const ROOT = join(__dirname, '..', '..', '..');

let running: Promise<LocalControlPlane> | undefined;
let started: LocalControlPlane | undefined;

export function sharedControlPlane(): Promise<LocalControlPlane> {
  running ??= startLocalControlPlane({ buildProgress: false }).then((plane) => {
    started = plane;
    return plane;
  });
  return running;
}

export interface KubectlResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The plane's own kubectl (the version of its API server), as the admin unless told otherwise. */
export function kubectl(plane: LocalControlPlane, args: readonly string[], opts: { kubeconfig?: string; input?: string } = {}): KubectlResult {
  const run = spawnSync(plane.binaries.kubectl, [`--kubeconfig=${opts.kubeconfig ?? plane.kubeconfigPath}`, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    input: opts.input,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (run.error) throw run.error;
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

after(async function () {
  this.timeout(30_000);
  await started?.stop();
  started = undefined;
  running = undefined;
});

/**
 * Removes what a cluster-mode suite left in the models namespace and its GPU nodes, so the next
 * suite on the shared plane starts from an empty cluster: Knative Services, Revisions, pods, SSIS
 * records, and the named nodes (nothing garbage-collects here).
 */
export async function clearModels(plane: LocalControlPlane, namespace: string, nodes: readonly string[]): Promise<void> {
  const kc = plane.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const ignoreMissing = (err: unknown): void => {
    if (!(err instanceof ApiException && err.code === 404)) throw err;
  };
  for (const plural of ['services', 'revisions']) {
    const list = (await custom.listNamespacedCustomObject({ group: 'serving.knative.dev', version: 'v1', namespace, plural }).catch(() => ({ items: [] }))) as { items: { metadata: { name: string } }[] };
    for (const o of list.items) await custom.deleteNamespacedCustomObject({ group: 'serving.knative.dev', version: 'v1', namespace, plural, name: o.metadata.name }).catch(ignoreMissing);
  }
  await core.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 0 }).catch(ignoreMissing);
  await core.deleteCollectionNamespacedConfigMap({ namespace, labelSelector: 'app.kubernetes.io/managed-by=ssis' }).catch(ignoreMissing);
  for (const name of nodes) await core.deleteNode({ name }).catch(ignoreMissing);
}
