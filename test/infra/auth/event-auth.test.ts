/**
 * Who may hand the pipeline a CloudEvent, locally (infra/auth/event-auth.ts): the stack's shared
 * secret verified in constant time, made once with mode 0600 and read again by a restarted stack,
 * and a sender whose token file is re-read as the kubelet refreshes it.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedSecretAuth, stackSecret } from '../../../infra/auth/event-auth';
import { rejection } from '../../support/rejection';

describe('infra/auth sharedSecretAuth (the stack secret)', () => {
  const SECRET = 's'.repeat(40);
  const auth = sharedSecretAuth(SECRET);

  it('accepts the secret as a Bearer credential, in any case of the scheme', async () => {
    await auth.verify(`Bearer ${SECRET}`);
    await auth.verify(`bearer ${SECRET}`);
  });

  it('sends the credential it verifies', async () => {
    const header = await auth.authorization();
    expect(header).to.equal(`Bearer ${SECRET}`);
    await auth.verify(header);
  });

  const refused: [string, string | undefined][] = [
    ['no Authorization', undefined],
    ['an empty one', ''],
    ['the secret without the scheme', SECRET],
    ['another scheme', `Basic ${SECRET}`],
    ['a wrong secret of the same length', `Bearer ${'t'.repeat(40)}`],
    ['a prefix of the secret', `Bearer ${SECRET.slice(0, 39)}`],
    ['the secret with more after it', `Bearer ${SECRET}s`],
    ['another stack\'s secret', `Bearer ${'u'.repeat(43)}`],
  ];
  for (const [what, header] of refused) {
    it(`refuses ${what} with SSIS_UNAUTHENTICATED (401) naming authorization, never repeating the secret`, async () => {
      const err = await rejection(auth.verify(header));
      expect(err.code).to.equal('SSIS_UNAUTHENTICATED');
      expect(err.httpStatus).to.equal(401);
      expect(err.issues.map((i) => i.field)).to.deep.equal(['authorization']);
      expect(JSON.stringify(err.toJSON())).to.not.include(SECRET.slice(0, 30));
    });
  }
});

describe('infra/auth stackSecret', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ssis-secret-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('makes a secret of 32 random bytes with mode 0600 once, and reads the same one back', () => {
    const path = join(dir, 'state', 'event-secret');
    const secret = stackSecret(path);
    expect(secret).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(path).mode & 0o777).to.equal(0o600);
    expect(stackSecret(path), 'a restarted stack').to.equal(secret);
    expect(stackSecret(join(dir, 'other')), 'another stack').to.not.equal(secret);
  });

  it('replaces a file that does not hold a usable secret (too short, or junk)', () => {
    const path = join(dir, 'event-secret');
    writeFileSync(path, 'short\n');
    const secret = stackSecret(path);
    expect(secret).to.not.equal('short');
    expect(readFileSync(path, 'utf8').trim()).to.equal(secret);
  });
});
