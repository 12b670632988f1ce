/**
 * Verifies OIDC tokens (JWTs) the way a Knative Eventing receiver does with sender identity on:
 * signature against the issuer's JSON Web Key Set, `iss`, `aud` containing the receiver's own
 * audience, and `exp`/`nbf` with a small clock skew. RS256 (what kube-apiserver signs
 * ServiceAccount tokens with by default) and ES256 are accepted; `none` and HMAC never are. Verified
 * tokens are remembered by digest until they expire, so a busy function pays for one signature
 * check per token rather than per event.
 */
import { createHash, createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { asSsisError } from '../../core/errors';
import type { EventIntakeAuth } from './event-auth';
import { unauthenticated } from './event-auth';
import { bearerToken } from './api-keys';

export interface JsonWebKeySet {
  readonly keys: readonly (JsonWebKey & { kid?: string; alg?: string; use?: string })[];
}

export interface OidcVerifierOptions {
  readonly issuer: string;
  /** The receiver's own audience: a token for any other receiver is refused. */
  readonly audience: string;
  /** Fetches the issuer's key set; called at first use and again on an unknown key id. */
  readonly jwks: () => Promise<JsonWebKeySet>;
  readonly now?: () => number;
  readonly clockSkewSec?: number;
  /** Least time between two key-set fetches, so forged key ids cannot hammer the issuer. */
  readonly refetchAfterMs?: number;
}

const ALGORITHMS: Readonly<Record<string, { hash: string; ec: boolean }>> = { RS256: { hash: 'sha256', ec: false }, ES256: { hash: 'sha256', ec: true } };
const MAX_TOKEN_CACHE = 10_000;

function decodeSegment(segment: string, what: string): Record<string, unknown> {
  try {
    const value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    /* reported below */
  }
  throw unauthenticated(`the token's ${what} is not a JSON object`);
}

export function oidcVerifier(opts: OidcVerifierOptions): EventIntakeAuth {
  const now = opts.now ?? Date.now;
  const skewMs = (opts.clockSkewSec ?? 30) * 1000;
  const refetchAfterMs = opts.refetchAfterMs ?? 30_000;
  let keys = new Map<string, KeyObject>();
  let fetchedAt = -Infinity;
  /** Why the last key-set fetch failed; null after one succeeded. */
  let fetchError: unknown = null;
  const verified = new Map<string, number>();

  async function keyFor(kid: string): Promise<KeyObject | undefined> {
    if (!keys.has(kid) && now() - fetchedAt >= refetchAfterMs) {
      fetchedAt = now();
      try {
        const set = await opts.jwks();
        const next = new Map<string, KeyObject>();
        for (const k of set.keys) if (typeof k.kid === 'string' && k.use !== 'enc') next.set(k.kid, createPublicKey({ key: k, format: 'jwk' }));
        keys = next;
        fetchError = null;
      } catch (err) {
        fetchError = err;
      }
    }
    // The issuer's keys could not be read: the sender is not at fault, so it is told to retry (the
    // runtime answers 503), never refused with a 401 that the dispatcher would dead-letter.
    if (!keys.has(kid) && fetchError !== null) throw asSsisError(fetchError);
    return keys.get(kid);
  }

  return {
    async verify(authorization) {
      const token = bearerToken(authorization);
      if (token === undefined) throw unauthenticated('event senders must present an OIDC token: "Authorization: Bearer <token>"');
      const digest = createHash('sha256').update(token).digest('hex');
      const until = verified.get(digest);
      if (until !== undefined && until > now()) return;
      const parts = token.split('.');
      if (parts.length !== 3) throw unauthenticated('the token is not a JWT');
      const header = decodeSegment(parts[0]!, 'header');
      const claims = decodeSegment(parts[1]!, 'claims');
      // Own properties only: "constructor" or "toString" must not pass as an algorithm.
      const algName = String(header['alg']);
      const alg = Object.hasOwn(ALGORITHMS, algName) ? ALGORITHMS[algName] : undefined;
      if (!alg) throw unauthenticated(`token algorithm ${JSON.stringify(header['alg'])} is not accepted (RS256, ES256)`);
      const key = await keyFor(typeof header['kid'] === 'string' ? header['kid'] : '');
      if (!key) throw unauthenticated('the token is signed with a key the issuer does not list');
      const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
      const signature = Buffer.from(parts[2]!, 'base64url');
      const good = verify(alg.hash, signed, alg.ec ? { key, dsaEncoding: 'ieee-p1363' } : key, signature);
      if (!good) throw unauthenticated('the token signature is not valid');
      if (claims['iss'] !== opts.issuer) throw unauthenticated('the token is from another issuer');
      const aud = claims['aud'];
      const audiences = Array.isArray(aud) ? aud : [aud];
      if (!audiences.includes(opts.audience)) throw unauthenticated(`the token is not for this receiver (audience ${opts.audience})`);
      const exp = typeof claims['exp'] === 'number' ? claims['exp'] * 1000 : NaN;
      if (!(exp + skewMs > now())) throw unauthenticated('the token has expired');
      const nbf = typeof claims['nbf'] === 'number' ? claims['nbf'] * 1000 : -Infinity;
      if (nbf - skewMs > now()) throw unauthenticated('the token is not valid yet');
      if (verified.size >= MAX_TOKEN_CACHE) verified.clear();
      verified.set(digest, exp);
    },
  };
}
