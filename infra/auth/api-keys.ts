/**
 * API keys of the inference APIs (`Authorization: Bearer <key>`): the key file (core/auth/tenants.ts
 * has its format) read from a path — in a cluster the mount of the Secret `ssis-api-keys` — and
 * read again when it changes, so keys are added or revoked without a restart. A presented key is
 * hashed and looked up by digest; the key is never kept, logged or compared in plain text.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { SsisError } from '../../core/errors';
import { parseKeyFile, type KeyEntry, type TenantGrant } from '../../core/auth/tenants';

export interface ApiKeyAuthenticator {
  /** The grant of the presented credential; throws SSIS_UNAUTHENTICATED when there is none or it is unknown. */
  authenticate(authorization: string | undefined): TenantGrant;
  /** Keys currently loaded. */
  size(): number;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** A new key (shown to its owner once) and the digest that goes into the key file. */
export function generateApiKey(): { key: string; sha256: string } {
  const key = `ssis-${randomBytes(24).toString('base64url')}`;
  return { key, sha256: sha256Hex(key) };
}

/** The bearer credential of an Authorization header, or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const m = /^Bearer[ ]+([\x21-\x7e]{1,4096})$/i.exec(authorization.trim());
  return m?.[1];
}

export function keyAuthenticator(entries: readonly KeyEntry[]): ApiKeyAuthenticator {
  const byDigest = new Map(entries.map((e) => [e.sha256, e] as const));
  return {
    authenticate(authorization) {
      const token = bearerToken(authorization);
      if (token === undefined) {
        throw new SsisError('SSIS_UNAUTHENTICATED', 'an API key is required: send "Authorization: Bearer <key>"', { issues: [{ field: 'authorization', message: authorization === undefined ? 'missing' : 'not a Bearer credential' }] });
      }
      const entry = byDigest.get(sha256Hex(token));
      if (!entry) throw new SsisError('SSIS_UNAUTHENTICATED', 'the API key is not valid', { issues: [{ field: 'authorization', message: 'unknown key' }] });
      return { keyId: entry.keyId, tenant: entry.tenant, serviceClass: entry.serviceClass, rate: entry.rate, models: entry.models };
    },
    size: () => byDigest.size,
  };
}

/**
 * The key file at `path`, checked for changes at most every `recheckMs`. A file that becomes
 * invalid keeps the last good keys (and the error is reported once through `onError`): a typo
 * while editing must not lock every tenant out.
 */
export function keyFileAuthenticator(path: string, classes: readonly string[], defaultClass: string, opts: { recheckMs?: number; now?: () => number; onError?: (e: SsisError) => void } = {}): ApiKeyAuthenticator {
  const now = opts.now ?? Date.now;
  const recheckMs = opts.recheckMs ?? 2000;
  const load = (): ApiKeyAuthenticator => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new SsisError('SSIS_INVALID_CONFIG', `API key file ${path} cannot be read: ${(err as Error).message}`, { issues: [{ field: 'apiKeysFile', message: 'unreadable' }] });
    }
    let doc: unknown;
    try {
      doc = parseYaml(text) as unknown;
    } catch (err) {
      // Reported like any other bad file (a reload keeps the last good keys); the message names the
      // line only, never the file's text.
      const line = (err as { linePos?: { line: number }[] }).linePos?.[0]?.line;
      throw new SsisError('SSIS_INVALID_CONFIG', `API key file ${path} is not valid YAML${line === undefined ? '' : ` (line ${line})`}`, { issues: [{ field: 'apiKeysFile', message: 'not valid YAML' }] });
    }
    return keyAuthenticator(parseKeyFile(doc, classes, defaultClass));
  };
  let current = load();
  let mtimeMs = statSync(path).mtimeMs;
  let checkedAt = now();
  const refresh = (): void => {
    if (now() - checkedAt < recheckMs) return;
    checkedAt = now();
    try {
      const m = statSync(path).mtimeMs;
      if (m === mtimeMs) return;
      mtimeMs = m;
      current = load();
    } catch (err) {
      if (err instanceof SsisError) opts.onError?.(err);
    }
  };
  return {
    authenticate(authorization) {
      refresh();
      return current.authenticate(authorization);
    },
    size: () => current.size(),
  };
}
