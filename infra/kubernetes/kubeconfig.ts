/**
 * kubeconfig files for the local control plane: one cluster (its server URL and the CA that
 * signed its serving certificate, so clients verify TLS rather than skip it) and one bearer-token
 * user. kubectl, KWOK, kube-scheduler and @kubernetes/client-node all read these.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';

export interface KubeconfigSpec {
  readonly server: string;
  /** PEM file of the CA bundle the server's certificate chains to. */
  readonly caPath: string;
  readonly token: string;
  /** The user entry's name, e.g. `admin` or `system:serviceaccount:ssis:ssis-controller`. */
  readonly user: string;
}

export const CLUSTER_NAME = 'ssis-local';

export function kubeconfigYaml(spec: KubeconfigSpec): string {
  const caData = readFileSync(spec.caPath).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: CLUSTER_NAME, cluster: { server: spec.server, 'certificate-authority-data': caData } }],
    users: [{ name: spec.user, user: { token: spec.token } }],
    contexts: [{ name: CLUSTER_NAME, context: { cluster: CLUSTER_NAME, user: spec.user } }],
    'current-context': CLUSTER_NAME,
  });
}

/** Writes the file readable by its owner only (it holds a bearer token). */
export function writeKubeconfig(path: string, spec: KubeconfigSpec): string {
  writeFileSync(path, kubeconfigYaml(spec), { mode: 0o600 });
  return path;
}

export function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}
