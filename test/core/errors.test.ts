import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { asSsisError, ERROR_CATALOG, SsisError, validationError, type ErrorCode } from '../../core/errors';

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

  it('retriable and the HTTP status come from the catalogue alone: no call can override them', () => {
    for (const [code, entry] of Object.entries(ERROR_CATALOG)) {
      const e = new SsisError(code as ErrorCode, 'm', { issues: [{ field: 'f', message: 'bad' }], details: { k: 1 }, cause: new Error('c') });
      expect([e.retriable, e.httpStatus], code).to.deep.equal([entry.retriable, entry.httpStatus]);
      expect(e.toJSON().retriable, code).to.equal(entry.retriable);
    }
    // @ts-expect-error a per-call `retriable` is not an option any more; a failure that needs another answer needs its own code
    expect(new SsisError('SSIS_PLACEMENT_INFEASIBLE', 'm', { retriable: true }).retriable).to.equal(false);
  });

  it('every retriable code maps to a 5xx or 429: a client or broker told to retry is never told it was at fault', () => {
    const retriable = Object.entries(ERROR_CATALOG).filter(([, entry]) => entry.retriable);
    // 429 says "later", not "wrong": HTTP clients and the Kafka dispatcher both retry it.
    expect(retriable.filter(([, entry]) => entry.httpStatus < 500 && entry.httpStatus !== 429), 'retriable codes with a 4xx other than 429').to.deep.equal([]);
    expect(ERROR_CATALOG.SSIS_CAPACITY_UNAVAILABLE).to.include({ httpStatus: 503, retriable: true });
    expect(ERROR_CATALOG.SSIS_BROKER_UNAVAILABLE).to.include({ httpStatus: 503, retriable: true });
    expect(ERROR_CATALOG.SSIS_BROKER_REFUSED).to.include({ retriable: false });
    expect(ERROR_CATALOG.SSIS_BROKER_START_FAILED).to.include({ retriable: false });
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
