import { expect } from 'chai';
import { SsisError } from '../../core/errors';

/** The SsisError `p` rejects with; fails the test when it resolves or rejects with anything else. */
export async function rejection(p: Promise<unknown>): Promise<SsisError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(SsisError);
    return err as SsisError;
  }
  throw new Error('expected a rejection');
}
