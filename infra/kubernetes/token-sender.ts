/**
 * An OIDC event sender in a cluster: the function's own ServiceAccount token for the receiver's
 * audience (the Broker's, `eventing.knative.dev/broker/<namespace>/<name>`), from the TokenRequest
 * API, renewed once 80 % of its life has passed. The Broker's ingress verifies it, and an
 * EventPolicy (knative/eventpolicy.yaml) names which accounts may send.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { SsisError } from '../../core/errors';
import type { EventSenderAuth } from '../auth/event-auth';
import { requestServiceAccountToken } from './service-accounts';

export function tokenRequestSender(kc: KubeConfig, account: { namespace: string; name: string }, audience: string, opts: { now?: () => number; expirationSeconds?: number } = {}): EventSenderAuth {
  const now = opts.now ?? Date.now;
  let cached: { header: string; renewAtMs: number } | null = null;
  let pending: Promise<string> | null = null;
  return {
    authorization() {
      if (cached !== null && now() < cached.renewAtMs) return Promise.resolve(cached.header);
      pending ??= (async () => {
        try {
          const issuedAt = now();
          const t = await requestServiceAccountToken(kc, account.namespace, account.name, { audiences: [audience], expirationSeconds: opts.expirationSeconds ?? 3600 }).catch((err: unknown) => {
            // Retriable: the API server may be briefly away; a 403 means knative/rbac.yaml is not applied.
            throw new SsisError('SSIS_BROKER_UNAVAILABLE', `no token of ${account.namespace}/${account.name} for ${audience}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`, { cause: err });
          });
          cached = { header: `Bearer ${t.token}`, renewAtMs: issuedAt + 0.8 * (t.expiresAt.getTime() - issuedAt) };
          return cached.header;
        } finally {
          pending = null;
        }
      })();
      return pending;
    },
  };
}
