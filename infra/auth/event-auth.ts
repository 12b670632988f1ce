/**
 * Who may hand the pipeline a CloudEvent. Receivers (the broker ingress, every function's event
 * endpoint) verify the `Authorization` header before they read the body; senders (publishers, the
 * broker's deliveries) attach one. Two schemes:
 * - locally (embedded and Kafka modes), a secret shared by the stack's own parts, made at start and
 *   kept in the state folder with mode 0600 for the CLI's `replay --to-url`;
 * - in a cluster, Knative Eventing's OIDC sender identity: the sender presents a ServiceAccount token
 *   issued for the receiver's audience (infra/auth/oidc.ts verifies it).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { SsisError } from '../../core/errors';
import { bearerToken } from './api-keys';

export interface EventIntakeAuth {
  /** Resolves when the credential is good; throws SSIS_UNAUTHENTICATED otherwise. */
  verify(authorization: string | undefined): Promise<void>;
}

export interface EventSenderAuth {
  /** The Authorization header value to send. */
  authorization(): Promise<string>;
}

export function unauthenticated(message: string): SsisError {
  return new SsisError('SSIS_UNAUTHENTICATED', message, { issues: [{ field: 'authorization', message }] });
}

/** The stack's shared secret: verifies and sends the same bearer credential. */
export function sharedSecretAuth(secret: string): EventIntakeAuth & EventSenderAuth {
  const expected = createHash('sha256').update(secret).digest();
  const header = `Bearer ${secret}`;
  return {
    verify(authorization) {
      const token = bearerToken(authorization);
      if (token === undefined) return Promise.reject(unauthenticated('event senders must authenticate: "Authorization: Bearer <stack secret>"'));
      // Digests have equal length, so the comparison takes the same time whatever was sent.
      const presented = createHash('sha256').update(token).digest();
      if (!timingSafeEqual(presented, expected)) return Promise.reject(unauthenticated('the event sender\'s credential is not valid'));
      return Promise.resolve();
    },
    authorization: () => Promise.resolve(header),
  };
}

/**
 * The stack's secret at `path`: read if present (a restarted stack and the CLI agree with the
 * stack they talk to), made and written with mode 0600 otherwise.
 */
export function stackSecret(path: string): string {
  if (existsSync(path)) {
    const text = readFileSync(path, 'utf8').trim();
    if (/^[A-Za-z0-9_-]{32,}$/.test(text)) return text;
  }
  const secret = randomBytes(32).toString('base64url');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return secret;
}
