/**
 * The Kubernetes API server as the OIDC issuer of ServiceAccount tokens: its issuer name and key
 * set, read from the API server itself (`/.well-known/openid-configuration`, `/openid/v1/jwks`)
 * with the caller's credentials, so no route to the issuer's public URL is needed. Reading them
 * takes the `system:service-account-issuer-discovery` role (knative/rbac.yaml binds it).
 */
import { request } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { SsisError } from '../../core/errors';
import type { JsonWebKeySet } from '../auth/oidc';

async function getJson(kc: KubeConfig, path: string): Promise<unknown> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new SsisError('SSIS_INVALID_CONFIG', 'the kubeconfig names no cluster server', { issues: [{ field: 'kubeconfig', message: 'no current cluster' }] });
  const url = new URL(path, server);
  const opts: import('node:https').RequestOptions = { method: 'GET', hostname: url.hostname, port: url.port, path: url.pathname, headers: { accept: 'application/json, application/jwk-set+json' }, timeout: 10_000 };
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = request(opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) {
          reject(new SsisError('SSIS_INTERNAL', `GET ${path} answered ${res.statusCode}: ${text.slice(0, 200)}`));
          return;
        }
        try {
          resolve(JSON.parse(text) as unknown);
        } catch {
          reject(new SsisError('SSIS_INTERNAL', `GET ${path} did not answer JSON`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

export async function serviceAccountIssuer(kc: KubeConfig): Promise<string> {
  const doc = (await getJson(kc, '/.well-known/openid-configuration')) as { issuer?: unknown };
  if (typeof doc.issuer !== 'string') throw new SsisError('SSIS_INTERNAL', 'the API server\'s OIDC discovery document names no issuer');
  return doc.issuer;
}

export async function serviceAccountKeySet(kc: KubeConfig): Promise<JsonWebKeySet> {
  const doc = (await getJson(kc, '/openid/v1/jwks')) as { keys?: unknown };
  if (!Array.isArray(doc.keys)) throw new SsisError('SSIS_INTERNAL', 'the API server\'s key set has no keys');
  return doc as JsonWebKeySet;
}
