/**
 * API keys of the inference APIs: the key file's format (core/auth/tenants.ts parseKeyFile: digests,
 * never keys; every bad field named), the authenticator over it (infra/auth/api-keys.ts), and the
 * key file read from disk again when it changes, keeping the last good keys when it breaks.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { DEFAULT_RATE_PER_SEC, parseKeyFile } from '../../../core/auth/tenants';
import { SsisError } from '../../../core/errors';
import { bearerToken, generateApiKey, keyAuthenticator, keyFileAuthenticator, sha256Hex } from '../../../infra/auth/api-keys';
import { refusal } from '../../support/rejection';

const CLASSES = ['default', 'premium'];


const digest = (c: string): string => c.repeat(64);

describe('core/auth parseKeyFile (the API key file)', () => {
  it('reads an entry with its defaults: the default class, 10/s with a burst of twice that, every model', () => {
    const [entry] = parseKeyFile({ keys: [{ id: 'team-a-ci', tenant: 'team-a', sha256: digest('A') }] }, CLASSES, 'default');
    expect(entry).to.deep.equal({ keyId: 'team-a-ci', tenant: 'team-a', sha256: digest('a'), serviceClass: 'default', rate: { ratePerSec: DEFAULT_RATE_PER_SEC, burst: 2 * DEFAULT_RATE_PER_SEC }, models: null });
  });

  it('reads class, rate, burst and models when given', () => {
    const [entry] = parseKeyFile({ keys: [{ id: 'k1', tenant: 't', sha256: digest('b'), serviceClass: 'premium', ratePerSec: 0.5, burst: 3, models: ['openai-community/gpt2'] }] }, CLASSES, 'default');
    expect(entry).to.deep.include({ serviceClass: 'premium', rate: { ratePerSec: 0.5, burst: 3 }, models: ['openai-community/gpt2'] });
    const [slow] = parseKeyFile({ keys: [{ id: 'k1', tenant: 't', sha256: digest('b'), ratePerSec: 0.2 }] }, CLASSES, 'default');
    expect(slow!.rate, 'a burst of at least one').to.deep.equal({ ratePerSec: 0.2, burst: 1 });
  });

  const cases: [string, Record<string, unknown>, string][] = [
    ['a key instead of its digest', { sha256: generateApiKey().key }, 'keys[0].sha256'],
    ['a digest of 63 digits', { sha256: 'a'.repeat(63) }, 'keys[0].sha256'],
    ['a digest that is not hex', { sha256: 'g'.repeat(64) }, 'keys[0].sha256'],
    ['an unknown service class', { serviceClass: 'gold' }, 'keys[0].serviceClass'],
    ['a rate of 0', { ratePerSec: 0 }, 'keys[0].ratePerSec'],
    ['a burst below 1', { burst: 0.5 }, 'keys[0].burst'],
    ['a model that is not a string', { models: ['openai-community/gpt2', 7] }, 'keys[0].models[1]'],
    ['a tenant name with a space', { tenant: 'team a' }, 'keys[0].tenant'],
    ['an id with a slash', { id: 'a/b' }, 'keys[0].id'],
    ['an unknown field (a plain key pasted in)', { key: 'ssis-abc' }, 'keys[0].key'],
  ];
  for (const [what, change, field] of cases) {
    it(`refuses ${what} with SSIS_INVALID_CONFIG naming ${field}`, () => {
      const err = refusal(() => parseKeyFile({ keys: [{ id: 'k1', tenant: 't', sha256: digest('c'), ...change }] }, CLASSES, 'default'));
      expect(err.code).to.equal('SSIS_INVALID_CONFIG');
      expect(err.issues.map((i) => i.field)).to.deep.equal([field]);
    });
  }

  it('refuses the same key listed twice (digests compared case-insensitively), naming the second entry', () => {
    const err = refusal(() => parseKeyFile({ keys: [{ id: 'k1', tenant: 't', sha256: digest('d') }, { id: 'k2', tenant: 'u', sha256: digest('D') }] }, CLASSES, 'default'));
    expect(err.code).to.equal('SSIS_INVALID_CONFIG');
    expect(err.issues).to.deep.equal([{ field: 'keys[1].sha256', message: 'the same key is listed twice' }]);
  });

  it('refuses two keys with the same id (the id names a key in logs), naming the second entry', () => {
    const err = refusal(() => parseKeyFile({ keys: [{ id: 'k1', tenant: 't', sha256: digest('d') }, { id: 'k1', tenant: 't', sha256: digest('e') }] }, CLASSES, 'default'));
    expect(err.code).to.equal('SSIS_INVALID_CONFIG');
    expect(err.issues.map((i) => i.field)).to.deep.equal(['keys[1].id']);
  });

  it('names every bad field at once, and refuses a document that is not a key file', () => {
    const err = refusal(() => parseKeyFile({ keys: [{ tenant: 't', sha256: 'x' }, 'not an entry'] }, CLASSES, 'default'));
    expect(err.issues.map((i) => i.field)).to.include.members(['keys[0].id', 'keys[0].sha256', 'keys[1]']);
    expect(refusal(() => parseKeyFile(null, CLASSES, 'default')).issues.map((i) => i.field)).to.deep.equal(['keys file']);
    expect(refusal(() => parseKeyFile({}, CLASSES, 'default')).issues.map((i) => i.field)).to.deep.equal(['keys']);
  });

  it('never repeats a digest or key it refuses in the error message', () => {
    const { key } = generateApiKey();
    const err = refusal(() => parseKeyFile({ keys: [{ id: 'k1', tenant: 't', sha256: key }] }, CLASSES, 'default'));
    expect(err.message).to.not.include(key);
    expect(JSON.stringify(err.toJSON())).to.not.include(key);
  });
});

describe('infra/auth API keys', () => {
  it('generateApiKey makes distinct ssis- keys and the SHA-256 digest of each', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a.key).to.match(/^ssis-[A-Za-z0-9_-]{32}$/);
    expect(a.key).to.not.equal(b.key);
    expect(a.sha256).to.equal(createHash('sha256').update(a.key).digest('hex'));
    expect(sha256Hex(a.key)).to.equal(a.sha256);
  });

  it('bearerToken reads "Bearer <token>" (any case, extra spaces) and nothing else', () => {
    expect(bearerToken('Bearer abc')).to.equal('abc');
    expect(bearerToken('bearer   abc ')).to.equal('abc');
    expect(bearerToken(undefined)).to.equal(undefined);
    expect(bearerToken('abc')).to.equal(undefined);
    expect(bearerToken('Basic abc')).to.equal(undefined);
    expect(bearerToken('Bearer a b')).to.equal(undefined);
    expect(bearerToken('Bearer ')).to.equal(undefined);
    expect(bearerToken(`Bearer ${'x'.repeat(5000)}`)).to.equal(undefined);
    expect(bearerToken('Bearer abc\u0000')).to.equal(undefined);
  });

  describe('keyAuthenticator', () => {
    const { key, sha256 } = generateApiKey();
    const auth = keyAuthenticator(parseKeyFile({ keys: [{ id: 'team-a-ci', tenant: 'team-a', sha256, models: ['openai-community/gpt2'] }] }, CLASSES, 'default'));

    it('grants the tenant of a known key, without its digest', () => {
      const grant = auth.authenticate(`Bearer ${key}`);
      expect(grant).to.deep.equal({ keyId: 'team-a-ci', tenant: 'team-a', serviceClass: 'default', rate: { ratePerSec: 10, burst: 20 }, models: ['openai-community/gpt2'] });
      expect(auth.size()).to.equal(1);
    });

    it('refuses a missing, malformed or unknown credential with SSIS_UNAUTHENTICATED naming authorization, never repeating it', () => {
      const cases: [string | undefined, string][] = [[undefined, 'missing'], [key, 'not a Bearer credential'], [`Bearer ${key}x`, 'unknown key'], [`Bearer ${sha256}`, 'unknown key']];
      for (const [header, message] of cases) {
        const err = refusal(() => auth.authenticate(header));
        expect(err.code).to.equal('SSIS_UNAUTHENTICATED');
        expect(err.httpStatus).to.equal(401);
        expect(err.issues).to.deep.equal([{ field: 'authorization', message }]);
        expect(JSON.stringify(err.toJSON())).to.not.include(key).and.not.include(sha256);
      }
    });
  });

  describe('keyFileAuthenticator', () => {
    let dir: string;
    let file: string;
    let nowMs: number;
    const one = generateApiKey();
    const two = generateApiKey();
    const keyFile = (...entries: { id: string; sha256: string }[]): string => stringifyYaml({ keys: entries.map((e) => ({ ...e, tenant: 'team-a' })) });
    /** Writes the file with a modification time `sec` seconds after the epoch (so a change is always visible). */
    const write = (text: string, sec: number): void => {
      writeFileSync(file, text);
      utimesSync(file, sec, sec);
    };
    const opts = (errors: SsisError[] = []) => ({ recheckMs: 1000, now: () => nowMs, onError: (e: SsisError) => void errors.push(e) });

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'ssis-keys-'));
      file = join(dir, 'keys.yaml');
      nowMs = 0;
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('refuses to start on a file that cannot be read or parsed (SSIS_INVALID_CONFIG)', () => {
      expect(refusal(() => keyFileAuthenticator(join(dir, 'missing.yaml'), CLASSES, 'default')).issues).to.deep.equal([{ field: 'apiKeysFile', message: 'unreadable' }]);
      write('keys: [{id: k1}]', 1000);
      expect(refusal(() => keyFileAuthenticator(file, CLASSES, 'default')).code).to.equal('SSIS_INVALID_CONFIG');
      write(`keys:\n  - id: one\n    sha256: ${one.sha256}\n   tenant: [unclosed\n`, 1000);
      const notYaml = refusal(() => keyFileAuthenticator(file, CLASSES, 'default'));
      expect(notYaml.code, 'not YAML').to.equal('SSIS_INVALID_CONFIG');
      expect(notYaml.issues).to.deep.equal([{ field: 'apiKeysFile', message: 'not valid YAML' }]);
      expect(notYaml.message, 'the file\'s text stays out of the message').to.not.include(one.sha256);
    });

    it('reads the file again once it changed (after recheckMs): added keys work, removed ones stop working', () => {
      write(keyFile({ id: 'one', sha256: one.sha256 }), 1000);
      const auth = keyFileAuthenticator(file, CLASSES, 'default', opts());
      expect(auth.authenticate(`Bearer ${one.key}`).keyId).to.equal('one');
      write(keyFile({ id: 'two', sha256: two.sha256 }), 2000);
      nowMs = 500;
      expect(auth.authenticate(`Bearer ${one.key}`).keyId, 'not rechecked before recheckMs').to.equal('one');
      nowMs = 1000;
      expect(auth.authenticate(`Bearer ${two.key}`).keyId).to.equal('two');
      expect(refusal(() => auth.authenticate(`Bearer ${one.key}`)).code, 'revoked').to.equal('SSIS_UNAUTHENTICATED');
      expect(auth.size()).to.equal(1);
    });

    it('keeps the last good keys when the file becomes invalid or disappears, reporting the bad file once', () => {
      write(keyFile({ id: 'one', sha256: one.sha256 }), 1000);
      const errors: SsisError[] = [];
      const auth = keyFileAuthenticator(file, CLASSES, 'default', opts(errors));
      write('keys:\n  - id: one\n    tenant: team-a\n    sha256: not-a-digest\n', 2000);
      nowMs = 1000;
      expect(auth.authenticate(`Bearer ${one.key}`).keyId, 'a typo locks nobody out').to.equal('one');
      nowMs = 2000;
      auth.authenticate(`Bearer ${one.key}`);
      expect(errors.map((e) => [e.code, e.issues[0]?.field])).to.deep.equal([['SSIS_INVALID_CONFIG', 'keys[0].sha256']]);
      write('keys: [unclosed', 3000);
      nowMs = 3000;
      expect(auth.authenticate(`Bearer ${one.key}`).keyId, 'not even YAML').to.equal('one');
      expect(errors.map((e) => e.issues[0]?.field)).to.deep.equal(['keys[0].sha256', 'apiKeysFile']);
      rmSync(file);
      nowMs = 4000;
      expect(auth.authenticate(`Bearer ${one.key}`).keyId, 'file gone').to.equal('one');
      // Fixed again: the new content is in force.
      write(keyFile({ id: 'two', sha256: two.sha256 }), 5000);
      nowMs = 5000;
      expect(auth.authenticate(`Bearer ${two.key}`).keyId).to.equal('two');
    });
  });
});
