/**
 * Tenants of the inference APIs and what their API keys grant: a service class (its priority orders
 * the admission queues), a rate limit, and optionally the only models they may call. The key file
 * holds SHA-256 digests of the keys, never the keys themselves, so a leaked file or ConfigMap
 * dump grants nothing (`ssis keys create` prints a key once and stores its digest).
 *
 *   keys:
 *     - id: team-a-ci            # names the key in logs and metrics (the key itself never appears)
 *       tenant: team-a
 *       sha256: 9f86d08…          # hex digest of the key
 *       serviceClass: default     # optional: ingress.defaultServiceClass
 *       ratePerSec: 20            # optional: 10
 *       burst: 40                 # optional: 2 × ratePerSec
 *       models: [openai-community/gpt2]   # optional: every catalog model
 */
import { FieldReader } from '../common/fields';
import { validationError } from '../errors';
import type { RateLimit } from '../admission/token-bucket';

export interface TenantGrant {
  readonly keyId: string;
  readonly tenant: string;
  readonly serviceClass: string;
  readonly rate: RateLimit;
  /** null: every model in the catalog. */
  readonly models: readonly string[] | null;
}

export interface KeyEntry extends TenantGrant {
  readonly sha256: string;
}

export const DEFAULT_RATE_PER_SEC = 10;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Parses the key file's document; `classes` are the configured service class names. */
export function parseKeyFile(doc: unknown, classes: readonly string[], defaultClass: string): KeyEntry[] {
  const r = new FieldReader();
  const root = r.object(doc, 'keys file');
  const out: KeyEntry[] = [];
  const seen = new Set<string>();
  const seenIds = new Set<string>();
  (root ? (r.array(root['keys'], 'keys') ?? []) : []).forEach((item, k) => {
    const f = r.child('keys').child(k);
    const o = f.object(item, '');
    if (!o) return;
    f.unknownKeys(o, ['id', 'tenant', 'sha256', 'serviceClass', 'ratePerSec', 'burst', 'models']);
    const keyId = f.string(o, 'id') ?? '';
    const tenant = f.string(o, 'tenant') ?? '';
    const sha256 = (f.string(o, 'sha256') ?? '').toLowerCase();
    if (keyId && !NAME.test(keyId)) f.fail('id', 'must be 1-63 letters, digits, ".", "_" or "-"');
    // The id names the key in logs and metrics: two keys with one id could not be told apart.
    if (keyId && seenIds.has(keyId)) f.fail('id', 'another key has this id');
    seenIds.add(keyId);
    if (tenant && !NAME.test(tenant)) f.fail('tenant', 'must be 1-63 letters, digits, ".", "_" or "-"');
    if (!/^[0-9a-f]{64}$/.test(sha256)) f.fail('sha256', 'must be the 64 hex digits of the key\'s SHA-256 digest (not the key itself)');
    if (seen.has(sha256)) f.fail('sha256', 'the same key is listed twice');
    seen.add(sha256);
    const serviceClass = f.string(o, 'serviceClass', { optional: true }) ?? defaultClass;
    if (!classes.includes(serviceClass)) f.fail('serviceClass', `must be one of the service classes (${classes.join(', ')})`);
    const ratePerSec = f.number(o, 'ratePerSec', { optional: true, exclusiveMin: 0 }) ?? DEFAULT_RATE_PER_SEC;
    const burst = f.number(o, 'burst', { optional: true, min: 1 }) ?? Math.max(1, 2 * ratePerSec);
    let models: string[] | null = null;
    if (o['models'] !== undefined) {
      models = [];
      (f.array(o['models'], 'models') ?? []).forEach((m, i) => {
        if (typeof m === 'string' && m.length > 0) models!.push(m);
        else f.child('models').fail(i, 'must be a model id');
      });
    }
    out.push({ keyId, tenant, sha256, serviceClass, rate: { ratePerSec, burst }, models });
  });
  if (r.issues.length > 0) throw validationError('SSIS_INVALID_CONFIG', 'invalid API key file', r.issues);
  return out;
}
