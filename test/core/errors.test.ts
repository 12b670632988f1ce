import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { asSsisError, ERROR_CATALOG, SsisError, validationError } from '../../core/errors';

describe('core/errors catalogue', () => {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'errors.md'), 'utf8');

  it('docs/errors.md lists every code with its status and retriable flag', () => {
    for (const [code, entry] of Object.entries(ERROR_CATALOG)) {
      expect(doc, code).to.contain(`| \`${code}\` | ${entry.httpStatus} | ${entry.retriable} |`);
    }
  });

  it('docs/errors.md lists no code the catalogue lacks', () => {
    const documented = [...doc.matchAll(/\| `(SSIS_[A-Z_]+)` \|/g)].map((m) => m[1]);
    expect(documented.sort()).to.deep.equal(Object.keys(ERROR_CATALOG).sort());
  });

  it('validation errors list every field in the message and in issues', () => {
    const e = validationError('SSIS_INVALID_REQUEST', 'invalid request', [{ field: 'env.MODEL_ID', message: 'is required' }, { field: 'token', message: 'must be a string' }]);
    expect(e.message).to.equal('invalid request: env.MODEL_ID: is required; token: must be a string');
    expect(e.toJSON()).to.include({ code: 'SSIS_INVALID_REQUEST', retriable: false });
    expect(e.httpStatus).to.equal(400);
  });

  it('wraps unknown failures as internal and retriable, keeping SsisErrors as they are', () => {
    const internal = asSsisError(new Error('x'));
    expect(internal.code).to.equal('SSIS_INTERNAL');
    expect(internal.retriable).to.equal(true);
    const own = new SsisError('SSIS_UNKNOWN_MODEL', 'm');
    expect(asSsisError(own)).to.equal(own);
  });
});
