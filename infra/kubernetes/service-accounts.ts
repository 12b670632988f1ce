/**
 * Namespaces, ServiceAccounts and their tokens on a control plane without
 * kube-controller-manager: nothing there creates a namespace's `default` account or legacy token
 * Secrets, so accounts are created explicitly and their tokens come from the TokenRequest API
 * (signed by the API server's service-account key, exactly as a projected pod token is).
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { createIfAbsent } from './api-status';
import { writeKubeconfig } from './kubeconfig';

export async function ensureNamespace(kc: KubeConfig, name: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await createIfAbsent(() => core.createNamespace({ body: { metadata: { name } } }));
}

/** Creates the account, and its namespace first when that is missing too. */
export async function ensureServiceAccount(kc: KubeConfig, namespace: string, name: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await ensureNamespace(kc, namespace);
  await createIfAbsent(() => core.createNamespacedServiceAccount({ namespace, body: { metadata: { name, namespace } } }));
}

export interface ServiceAccountToken {
  readonly token: string;
  readonly expiresAt: Date;
  /** `system:serviceaccount:<namespace>:<name>`, the username the API server authenticates. */
  readonly username: string;
}

/** A bound token for the account from the TokenRequest API (the account must exist). */
export async function requestServiceAccountToken(kc: KubeConfig, namespace: string, name: string, opts: { expirationSeconds?: number; audiences?: readonly string[] } = {}): Promise<ServiceAccountToken> {
  const core = kc.makeApiClient(CoreV1Api);
  // No audiences: the API server fills in its own (--api-audiences), which it accepts back. An
  // OIDC sender asks for its receiver's audience instead, which the API server itself refuses.
  const response = await core.createNamespacedServiceAccountToken({ namespace, name, body: { spec: { audiences: [...(opts.audiences ?? [])], expirationSeconds: opts.expirationSeconds ?? 3600 } } });
  const token = response.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  return { token, expiresAt: new Date(response.status?.expirationTimestamp ?? Date.now()), username: `system:serviceaccount:${namespace}:${name}` };
}

/**
 * Writes a kubeconfig that authenticates as the ServiceAccount: what a function running as that
 * account sees in a cluster (its projected token), for running it against the local control plane.
 */
export async function writeServiceAccountKubeconfig(
  kc: KubeConfig,
  target: { server: string; caPath: string; path: string },
  namespace: string,
  name: string,
  opts: { expirationSeconds?: number } = {},
): Promise<ServiceAccountToken & { kubeconfigPath: string }> {
  const sa = await requestServiceAccountToken(kc, namespace, name, opts);
  writeKubeconfig(target.path, { server: target.server, caPath: target.caPath, token: sa.token, user: sa.username });
  return { ...sa, kubeconfigPath: target.path };
}
