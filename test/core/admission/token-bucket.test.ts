/**
 * TokenBuckets (core/admission/token-bucket.ts): a bucket per tenant, `burst` tokens to start,
 * refilled at `ratePerSec`, one per request, and the wait until the next token when empty. The
 * time is passed in, so these run in virtual time.
 */
import { expect } from 'chai';
import { TokenBuckets } from '../../../core/admission/token-bucket';

const T0 = 1_000_000;

describe('core/admission TokenBuckets', () => {
  it('lets a tenant spend its burst at once, then refuses with the wait until the next token', () => {
    const b = new TokenBuckets();
    const limit = { ratePerSec: 2, burst: 3 };
    expect([1, 2, 3].map(() => b.take('team-a', limit, T0))).to.deep.equal([{ ok: true }, { ok: true }, { ok: true }]);
    expect(b.take('team-a', limit, T0)).to.deep.equal({ ok: false, retryAfterMs: 500 });
  });

  it('refills at ratePerSec: half a token after 250 ms at 2/s leaves 250 ms to wait; a whole one after 500 ms', () => {
    const b = new TokenBuckets();
    const limit = { ratePerSec: 2, burst: 1 };
    expect(b.take('t', limit, T0).ok).to.equal(true);
    expect(b.take('t', limit, T0 + 250)).to.deep.equal({ ok: false, retryAfterMs: 250 });
    expect(b.take('t', limit, T0 + 500)).to.deep.equal({ ok: true });
    expect(b.take('t', limit, T0 + 500).ok).to.equal(false);
  });

  it('never holds more than burst, however long the tenant was idle', () => {
    const b = new TokenBuckets();
    const limit = { ratePerSec: 10, burst: 2 };
    expect(b.take('t', limit, T0).ok).to.equal(true);
    const later = T0 + 3_600_000;
    expect([b.take('t', limit, later).ok, b.take('t', limit, later).ok, b.take('t', limit, later).ok]).to.deep.equal([true, true, false]);
  });

  it('keeps tenants apart: one tenant over its rate does not slow another', () => {
    const b = new TokenBuckets();
    const limit = { ratePerSec: 1, burst: 1 };
    expect(b.take('a', limit, T0).ok).to.equal(true);
    expect(b.take('a', limit, T0).ok).to.equal(false);
    expect(b.take('b', limit, T0).ok).to.equal(true);
  });

  it('answers a refusal of a rate below one a second in whole milliseconds (0.01/s → 100 s)', () => {
    const b = new TokenBuckets();
    const limit = { ratePerSec: 0.01, burst: 1 };
    expect(b.take('t', limit, T0).ok).to.equal(true);
    expect(b.take('t', limit, T0)).to.deep.equal({ ok: false, retryAfterMs: 100_000 });
    expect(b.take('t', limit, T0 + 40_000)).to.deep.equal({ ok: false, retryAfterMs: 60_000 });
  });

  it('keeps at most maxTenants buckets (memory stays bounded), starting over when full', () => {
    const b = new TokenBuckets(2);
    const limit = { ratePerSec: 1, burst: 1 };
    expect(b.take('a', limit, T0).ok).to.equal(true);
    expect(b.take('b', limit, T0).ok).to.equal(true);
    expect(b.take('a', limit, T0).ok).to.equal(false);
    // A third tenant: the table is cleared rather than grown.
    expect(b.take('c', limit, T0).ok).to.equal(true);
    expect(b.take('a', limit, T0).ok, 'a starts over with a full bucket').to.equal(true);
  });
});
