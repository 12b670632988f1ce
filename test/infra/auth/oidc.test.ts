/**
 * OIDC sender identity (infra/auth/oidc.ts) with keys made here (node:crypto generateKeyPairSync):
 * an issuer's RS256 and ES256 tokens verified against its JSON Web Key Set (served by a FAKE
 * `jwks` that counts its fetches), every other token refused with SSIS_UNAUTHENTICATED, and the key
 * set fetched again on an unknown key id at most once per refetchAfterMs. The tokens' clock is the
 * verifier's injected `now`.
 */
import { expect } from 'chai';
import { createHmac, generateKeyPairSync, sign, type JsonWebKey, type KeyObject } from 'node:crypto';
import { SsisError } from '../../../core/errors';
import { oidcVerifier, type JsonWebKeySet } from '../../../infra/auth/oidc';
import { rejection } from '../../support/rejection';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const AUDIENCE = 'serving.knative.dev/service/ssis/ssis-evaluate';
const NOW_MS = Date.parse('2026-03-02T09:00:00.000Z');
const NOW = NOW_MS / 1000;

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

interface SigningKey {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256';
  readonly jwk: JsonWebKey & { kid: string; alg: string; use: string };
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

function rsaKey(kid: string): SigningKey {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, alg: 'RS256', jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }, privateKey, publicKey };
}

function ecKey(kid: string): SigningKey {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, alg: 'ES256', jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' }, privateKey, publicKey };
}

/** A ServiceAccount token as kube-apiserver issues it (claims overridable), signed with `key`. */
function token(key: SigningKey, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): string {
  const h = b64({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header });
  const c = b64({ iss: ISSUER, aud: [AUDIENCE], sub: 'system:serviceaccount:ssis:ssis-controller', iat: NOW - 60, nbf: NOW - 60, exp: NOW + 3600, ...claims });
  const data = Buffer.from(`${h}.${c}`);
  const signature = key.alg === 'RS256' ? sign('sha256', data, key.privateKey) : sign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${h}.${c}.${signature.toString('base64url')}`;
}

/** FAKE issuer key-set endpoint: serves `keys`, counts fetches, fails while `down`. */
class FakeJwks {
  fetches = 0;
  down = false;
  constructor(public keys: SigningKey[]) {}
  readonly fetch = (): Promise<JsonWebKeySet> => {
    this.fetches++;
    if (this.down) return Promise.reject(new Error('connect ECONNREFUSED 10.96.0.1:443'));
    return Promise.resolve({ keys: this.keys.map((k) => k.jwk) });
  };
}

describe('infra/auth oidcVerifier (RS256 and ES256 tokens against a JWKS)', function () {
  this.timeout(20_000);
  const rsa = rsaKey('rsa-1');
  const ec = ecKey('ec-1');
  const stranger = rsaKey('rsa-1'); // same kid, another key: what a forger would publish
  let jwks: FakeJwks;
  let nowMs: number;
  const verifier = (refetchAfterMs = 30_000) => oidcVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: jwks.fetch, now: () => nowMs, refetchAfterMs });
  const bearer = (t: string): string => `Bearer ${t}`;

  beforeEach(() => {
    jwks = new FakeJwks([rsa, ec]);
    nowMs = NOW_MS;
  });

  async function refusedWith(v: ReturnType<typeof verifier>, authorization: string | undefined, pattern: RegExp): Promise<SsisError> {
    const err = await rejection(v.verify(authorization));
    expect(err.code, err.message).to.equal('SSIS_UNAUTHENTICATED');
    expect(err.httpStatus).to.equal(401);
    expect(err.message).to.match(pattern);
    return err;
  }

  it('accepts a good RS256 token and a good ES256 token of the issuer for this audience', async () => {
    const v = verifier();
    await v.verify(bearer(token(rsa)));
    await v.verify(bearer(token(ec)));
    await v.verify(bearer(token(rsa, { aud: AUDIENCE })));
    await v.verify(bearer(token(ec, { aud: ['another-receiver', AUDIENCE] })));
  });

  it('accepts a token within the clock skew (30 s by default) on either side', async () => {
    const v = verifier();
    await v.verify(bearer(token(rsa, { exp: NOW - 20 })));
    await v.verify(bearer(token(rsa, { nbf: NOW + 20 })));
  });

  it('refuses a token for another receiver\'s audience', async () => {
    await refusedWith(verifier(), bearer(token(rsa, { aud: ['serving.knative.dev/service/ssis/ssis-rollout'] })), /not for this receiver/);
    await refusedWith(verifier(), bearer(token(ec, { aud: undefined })), /not for this receiver/);
  });

  it('refuses a token from another issuer', async () => {
    await refusedWith(verifier(), bearer(token(rsa, { iss: 'https://elsewhere.example' })), /another issuer/);
  });

  it('refuses an expired token, a token without exp, and one not valid yet', async () => {
    await refusedWith(verifier(), bearer(token(rsa, { exp: NOW - 31 })), /expired/);
    await refusedWith(verifier(), bearer(token(rsa, { exp: undefined })), /expired/);
    await refusedWith(verifier(), bearer(token(rsa, { exp: String(NOW + 3600) })), /expired/);
    await refusedWith(verifier(), bearer(token(rsa, { nbf: NOW + 31 })), /not valid yet/);
  });

  it('refuses a tampered signature, tampered claims, and a token signed by a key the issuer does not publish', async () => {
    const good = token(rsa);
    const [h, c, s] = good.split('.') as [string, string, string];
    const flipped = Buffer.from(s, 'base64url');
    flipped[10] = flipped[10]! ^ 0xff;
    await refusedWith(verifier(), bearer(`${h}.${c}.${flipped.toString('base64url')}`), /signature is not valid/);
    const escalated = b64({ iss: ISSUER, aud: [AUDIENCE], sub: 'system:serviceaccount:kube-system:admin', exp: NOW + 3600 });
    await refusedWith(verifier(), bearer(`${h}.${escalated}.${s}`), /signature is not valid/);
    await refusedWith(verifier(), bearer(token(stranger)), /signature is not valid/);
    const ecGood = token(ec);
    const [eh, , es] = ecGood.split('.') as [string, string, string];
    await refusedWith(verifier(), bearer(`${eh}.${escalated}.${es}`), /signature is not valid/);
  });

  it('refuses alg none, HS256 (even keyed with the issuer\'s public key) and every algorithm but RS256 and ES256', async () => {
    const claims = b64({ iss: ISSUER, aud: [AUDIENCE], exp: NOW + 3600 });
    await refusedWith(verifier(), bearer(`${b64({ alg: 'none', kid: 'rsa-1' })}.${claims}.`), /algorithm "none" is not accepted/);
    const hsHeader = b64({ alg: 'HS256', kid: 'rsa-1' });
    const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' });
    const hs = createHmac('sha256', pem).update(`${hsHeader}.${claims}`).digest('base64url');
    await refusedWith(verifier(), bearer(`${hsHeader}.${claims}.${hs}`), /algorithm "HS256" is not accepted/);
    for (const alg of ['RS512', 'PS256', 'ES384', 'rs256', 'constructor', 'toString', '__proto__']) {
      await refusedWith(verifier(), bearer(token(rsa, {}, { alg })), /is not accepted/);
    }
    await refusedWith(verifier(), bearer(token(rsa, {}, { alg: undefined })), /is not accepted/);
  });

  it('refuses a token whose algorithm does not match its key (RS256 header on the EC key, ES256 on the RSA key)', async () => {
    const rsaSignedAsEc = token(rsa, {}, { kid: 'ec-1' });
    await refusedWith(verifier(), bearer(rsaSignedAsEc), /signature is not valid/);
    const ecSignedAsRsa = token(ec, {}, { kid: 'rsa-1' });
    await refusedWith(verifier(), bearer(ecSignedAsRsa), /signature is not valid/);
  });

  it('refuses an unknown kid, a missing kid, no credential, and what is not a JWT', async () => {
    await refusedWith(verifier(), bearer(token(rsa, {}, { kid: 'rsa-9' })), /key the issuer does not list/);
    await refusedWith(verifier(), bearer(token(rsa, {}, { kid: undefined })), /key the issuer does not list/);
    await refusedWith(verifier(), undefined, /must present an OIDC token/);
    await refusedWith(verifier(), `Basic ${Buffer.from('a:b').toString('base64')}`, /must present an OIDC token/);
    await refusedWith(verifier(), bearer('not-a-jwt'), /not a JWT/);
    await refusedWith(verifier(), bearer('a.b.c.d'), /not a JWT/);
    await refusedWith(verifier(), bearer(`${Buffer.from('[1]').toString('base64url')}.${b64({})}.sig`), /header is not a JSON object/);
    await refusedWith(verifier(), bearer(`${b64({ alg: 'RS256', kid: 'rsa-1' })}.bm90IGpzb24.sig`), /claims is not a JSON object/);
  });

  it('remembers a verified token only until it expires', async () => {
    const v = verifier();
    const t = token(rsa, { exp: NOW + 60 });
    await v.verify(bearer(t));
    nowMs = NOW_MS + 60_000 + 31_000;
    await refusedWith(v, bearer(t), /expired/);
  });

  it('fetches the key set at first use, and again on an unknown kid at most once per refetchAfterMs', async () => {
    const v = verifier(60_000);
    expect(jwks.fetches).to.equal(0);
    await v.verify(bearer(token(rsa)));
    expect(jwks.fetches).to.equal(1);
    await v.verify(bearer(token(ec)));
    expect(jwks.fetches, 'known kids need no fetch').to.equal(1);
    // Forged kids, many of them: one refetch window, no fetch.
    for (let k = 0; k < 50; k++) await refusedWith(v, bearer(token(rsa, {}, { kid: `forged-${k}` })), /does not list/);
    expect(jwks.fetches).to.equal(1);

    // The issuer rotates: a token with the new key's kid gets it once the window has passed.
    const rotated = rsaKey('rsa-2');
    jwks.keys = [rotated, rsa];
    nowMs += 30_000;
    await refusedWith(v, bearer(token(rotated)), /does not list/);
    expect(jwks.fetches, 'still within the window').to.equal(1);
    nowMs += 30_000;
    await v.verify(bearer(token(rotated)));
    expect(jwks.fetches).to.equal(2);
    for (let k = 0; k < 10; k++) await refusedWith(v, bearer(token(rsa, {}, { kid: `forged-again-${k}` })), /does not list/);
    expect(jwks.fetches).to.equal(2);
    // Keys dropped from the set are no longer accepted after the next fetch.
    jwks.keys = [rotated];
    nowMs += 60_000;
    await refusedWith(v, bearer(token(ec, { exp: NOW + 7200 })), /does not list/);
    expect(jwks.fetches).to.equal(3);
  });

  it('answers a key set it cannot fetch with a retriable error, never SSIS_UNAUTHENTICATED, until a fetch succeeds', async () => {
    const v = verifier(60_000);
    jwks.down = true;
    for (let k = 0; k < 5; k++) {
      const err = await rejection(v.verify(bearer(token(rsa))));
      expect(err.code).to.not.equal('SSIS_UNAUTHENTICATED');
      expect(err.retriable, 'the dispatcher retries instead of dead-lettering').to.equal(true);
    }
    expect(jwks.fetches, 'the issuer is not hammered while down').to.equal(1);
    jwks.down = false;
    nowMs += 60_000;
    await v.verify(bearer(token(rsa)));
    expect(jwks.fetches).to.equal(2);
  });
});
