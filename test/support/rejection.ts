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

/** The SsisError `fn` throws; fails the test when it returns or throws anything else. */
export function refusal(fn: () => unknown): SsisError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SsisError) return err;
    throw new Error(`expected an SsisError, got ${String(err)}`, { cause: err });
  }
  throw new Error('expected an error');
}
