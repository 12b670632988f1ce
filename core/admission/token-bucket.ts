/**
 * A token bucket per tenant: `ratePerSec` tokens a second up to `burst`; a request takes one. Pure:
 * the caller passes the time.
 */
export interface RateLimit {
  readonly ratePerSec: number;
  readonly burst: number;
}

export type Take = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(private readonly maxTenants = 100_000) {}

  take(tenant: string, limit: RateLimit, nowMs: number): Take {
    let b = this.buckets.get(tenant);
    if (!b) {
      // Keys are finite (a file), so this only guards against a bug turning ids into tenants.
      if (this.buckets.size >= this.maxTenants) this.buckets.clear();
      b = { tokens: limit.burst, atMs: nowMs };
      this.buckets.set(tenant, b);
    }
    b.tokens = Math.min(limit.burst, b.tokens + ((nowMs - b.atMs) / 1000) * limit.ratePerSec);
    b.atMs = nowMs;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: limit.ratePerSec > 0 ? Math.ceil(((1 - b.tokens) / limit.ratePerSec) * 1000) : 60_000 };
  }
}
