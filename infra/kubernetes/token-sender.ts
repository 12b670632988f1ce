/**
 * An OIDC event sender in a cluster: the function's own ServiceAccount token for the receiver's
 * audience (the Broker's, `eventing.knative.dev/broker/<namespace>/<name>`), from the TokenRequest
 * API, renewed once 80 % of its life has passed. The Broker's ingress verifies it, and an
 * EventPolicy (knative/eventpolicy.yaml) names which accounts may send.
 */
import type { KubeConfig } from '@kubernetes/client-node';
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
          const t = await requestServiceAccountToken(kc, account.namespace, account.name, { audiences: [audience], expirationSeconds: opts.expirationSeconds ?? 3600 });
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
