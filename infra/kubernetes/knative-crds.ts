/**
 * The real Knative CustomResourceDefinitions (shared/reference/knative-crds/, Serving, Eventing
 * and the Kafka broker's, release v1.22) installed on the local control plane, so the API server
 * validates Knative objects against Knative's own schemas.
 *
 * One change: EventType, PingSource, KafkaSource and KafkaChannel name a conversion webhook
 * Service in knative-eventing that does not run here. They are installed with
 * `conversion: {strategy: None}`, which serves each version as stored; an object sent at its
 * storage version is handled exactly as with the webhook, which is what knative/ does.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ApiextensionsV1Api, CustomObjectsApi, loadYaml, type KubeConfig, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { PROJECT_ROOT } from '../project-root';
import { isApiStatus } from './api-status';

/** shared/ lies beside the checkout, in a developer's tree and in CI's clone alike. */
export const KNATIVE_CRD_DIR = join(PROJECT_ROOT, '..', 'shared', 'reference', 'knative-crds');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return yamlFiles(path);
      return name.endsWith('.yaml') ? [path] : [];
    });
}

/** Every CRD under `dir`, webhook conversion replaced by None. */
export function loadKnativeCrds(dir = KNATIVE_CRD_DIR): V1CustomResourceDefinition[] {
  const crds: V1CustomResourceDefinition[] = [];
  for (const file of yamlFiles(dir)) {
    for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const raw = document.toJS() as { kind?: unknown; metadata?: { creationTimestamp?: unknown } } | null;
      if (raw?.kind !== 'CustomResourceDefinition') continue;
      // Server-set; one file carries `creationTimestamp: null`.
      delete raw.metadata?.creationTimestamp;
      // loadYaml maps wire names (x-kubernetes-*, $ref, default) onto the typed model, which a
      // plain object handed to the typed client would lose on serialisation.
      const crd = loadYaml<V1CustomResourceDefinition>(JSON.stringify(raw));
      if (crd.spec.conversion?.strategy === 'Webhook') crd.spec.conversion = { strategy: 'None' };
      crds.push(crd);
    }
  }
  return crds;
}

function established(crd: V1CustomResourceDefinition): boolean {
  return (crd.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
}

/** Creates each CRD, or replaces it when it exists, then waits until every one is Established. */
export async function installCrds(kc: KubeConfig, crds: readonly V1CustomResourceDefinition[], timeoutMs = 60_000): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  for (const crd of crds) {
    const name = crd.metadata?.name ?? '';
    try {
      await api.createCustomResourceDefinition({ body: crd });
    } catch (err) {
      if (!isApiStatus(err, 409)) throw err;
      const current = await api.readCustomResourceDefinition({ name });
      await api.replaceCustomResourceDefinition({ name, body: { ...crd, metadata: { ...crd.metadata, resourceVersion: current.metadata?.resourceVersion } } });
    }
  }
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(crds.map((crd) => crd.metadata?.name ?? ''));
  while (pending.size > 0) {
    for (const name of [...pending]) {
      if (established(await api.readCustomResourceDefinition({ name }))) pending.delete(name);
    }
    if (pending.size === 0) break;
    if (Date.now() > deadline) throw new Error(`CRDs not Established after ${timeoutMs} ms: ${[...pending].join(', ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await waitForCrdStorage(kc, crds, deadline);
}

/**
 * Established is not yet servable: until a new resource's watch cache has initialised, lists
 * answer 429 "storage is (re)initializing". Lists each resource until it answers.
 */
async function waitForCrdStorage(kc: KubeConfig, crds: readonly V1CustomResourceDefinition[], deadline: number): Promise<void> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  for (const crd of crds) {
    const version = crd.spec.versions.find((v) => v.storage)?.name ?? crd.spec.versions[0]?.name ?? 'v1';
    for (;;) {
      try {
        await custom.listClusterCustomObject({ group: crd.spec.group, version, plural: crd.spec.names.plural, limit: 1 });
        break;
      } catch (err) {
        if (!isApiStatus(err, 429) || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}
