import { expect } from 'chai';
import { bucketQuantile } from '../../../../infra/metrics/promql/histogram-quantile';
import { SECOND, engineFor, valueAt, vectorAt } from '../query-helpers';

/** Cumulative buckets: 10 observations ≤ 0.1, 30 ≤ 0.5, 45 ≤ 1, 50 in all. */
const buckets = [
  { upperBound: 0.1, count: 10 },
  { upperBound: 0.5, count: 30 },
  { upperBound: 1, count: 45 },
  { upperBound: Infinity, count: 50 },
];

describe('histogram_quantile (classic buckets)', () => {
  it('interpolates linearly inside the bucket that holds the rank', () => {
    // q = 0.5: rank 25 falls in (0.1, 0.5] holding 20 observations, 15 of them up to the rank → 0.1 + 0.4 · 15/20.
    expect(bucketQuantile(0.5, buckets)).to.equal(0.1 + (0.5 - 0.1) * (15 / 20));
    // q = 0.9: rank 45 is exactly the count of (0.5, 1] → its upper bound.
    expect(bucketQuantile(0.9, buckets)).to.equal(1);
    // q = 0.05: rank 2.5 in the first bucket, whose lower bound is taken as 0 → 0.1 · 2.5/10.
    expect(bucketQuantile(0.05, buckets)).to.equal(0.1 * (2.5 / 10));
  });

  it('answers the highest finite bound when the rank falls into the +Inf bucket', () => {
    // q = 0.95: rank 47.5 > 45 → +Inf bucket → 1.
    expect(bucketQuantile(0.95, buckets)).to.equal(1);
    expect(bucketQuantile(1, buckets)).to.equal(1);
  });

  it('does not depend on bucket order and merges buckets with equal bounds', () => {
    expect(bucketQuantile(0.5, [...buckets].reverse())).to.equal(bucketQuantile(0.5, buckets));
    const split = [{ upperBound: 0.1, count: 4 }, { upperBound: 0.1, count: 6 }, ...buckets.slice(1)];
    expect(bucketQuantile(0.05, split)).to.equal(bucketQuantile(0.05, buckets));
  });

  it('forces monotonic counts (a bucket below its predecessor is raised to it)', () => {
    // 0.5 counts 8 < 10 → raised to 10; q = 0.5: rank 25 in (0.5, 1] holding 35 → 0.5 + 0.5 · 15/35.
    const broken = [{ upperBound: 0.1, count: 10 }, { upperBound: 0.5, count: 8 }, ...buckets.slice(2)];
    expect(bucketQuantile(0.5, broken)).to.equal(0.5 + (1 - 0.5) * (15 / 35));
  });

  it('returns the bound of a first bucket that is not positive', () => {
    const negative = [
      { upperBound: -1, count: 5 },
      { upperBound: 0, count: 10 },
      { upperBound: Infinity, count: 20 },
    ];
    expect(bucketQuantile(0.1, negative)).to.equal(-1);
    // q = 0.4: rank 8 in (-1, 0] holding 5, 3 up to the rank → -1 + 1 · 3/5.
    expect(bucketQuantile(0.4, negative)).to.equal(-1 + 1 * (3 / 5));
  });

  it('gives NaN without a +Inf bucket, without observations or for q = NaN, and ±Inf outside [0, 1]', () => {
    expect(bucketQuantile(0.5, buckets.slice(0, 3))).to.be.NaN;
    expect(bucketQuantile(0.5, [{ upperBound: 0.1, count: 0 }, { upperBound: Infinity, count: 0 }])).to.be.NaN;
    expect(bucketQuantile(0.5, [{ upperBound: Infinity, count: 3 }])).to.be.NaN;
    expect(bucketQuantile(NaN, buckets)).to.be.NaN;
    expect(bucketQuantile(-0.1, buckets)).to.equal(-Infinity);
    expect(bucketQuantile(1.1, buckets)).to.equal(Infinity);
  });

  it('groups _bucket series by their labels without le and drops the metric name', async () => {
    const engine = engineFor(15 * SECOND, {
      'lat_bucket{pod="a",le="0.1"}': '10',
      'lat_bucket{pod="a",le="0.5"}': '30',
      'lat_bucket{pod="a",le="1"}': '45',
      'lat_bucket{pod="a",le="+Inf"}': '50',
      'lat_bucket{pod="b",le="1"}': '1',
      'lat_bucket{pod="b",le="+Inf"}': '4',
      'lat_bucket{pod="c"}': '4',
    });
    expect(await vectorAt(engine, 'histogram_quantile(0.5, lat_bucket)', 0)).to.deep.equal([
      { metric: { pod: 'a' }, value: 0.1 + (0.5 - 0.1) * (15 / 20) },
      // b: rank 2 > 1 → +Inf bucket → highest finite bound 1.
      { metric: { pod: 'b' }, value: 1 },
    ]);
  });

  it('computes the vLLM TTFT p90/p50 over rates summed across replicas', async () => {
    // Two replicas scraped every 5 s; per 5 s the buckets (0.1 0.25 0.5 1 +Inf) grow by
    // a: 1 4 8 8 10 and b: 1 2 6 8 10, so sum by (le) of the per-second rates is
    // 0.4 1.2 2.8 3.2 4.0 (every series gets the same extrapolation factor).
    const engine = engineFor(5 * SECOND, {
      'vllm:time_to_first_token_seconds_bucket{service="gpt2",pod="a",le="0.1"}': '0+1x12',
      'vllm:time_to_first_token_seconds_bucket{service="gpt2",pod="a",le="0.25"}': '0+4x12',
      'vllm:time_to_first_token_seconds_bucket{service="gpt2",pod="a",le="0.5"}': '0+8x12',
      'vllm:time_to_first_token_seconds_bucket{service="gpt2",pod="a",le="1"}': '0+8x12',
      'vllm:time_to_first_token_seconds_bucket{service="gpt2",pod="a",le="+Inf"}': '0+10x12',
      'vllm:time_to_first_token_seconds_bucket{service="gpt2",pod="b",le="0.1"}': '0+1x12',
      'vllm:time_to_first_token_seconds_bucket{service="gpt2",pod="b",le="0.25"}': '0+2x12',
      'vllm:time_to_first_token_seconds_bucket{service="gpt2",pod="b",le="0.5"}': '0+6x12',
      'vllm:time_to_first_token_seconds_bucket{service="gpt2",pod="b",le="1"}': '0+8x12',
      'vllm:time_to_first_token_seconds_bucket{service="gpt2",pod="b",le="+Inf"}': '0+10x12',
    });
    const query = (q: number): string => `histogram_quantile(${q}, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{service="gpt2"}[30s])))`;
    // p90: rank 0.9 · 4.0 = 3.6 > 3.2 → +Inf bucket → 1 s.
    expect(await valueAt(engine, query(0.9), 60 * SECOND)).to.equal(1);
    // p50: rank 2.0 in (0.25, 0.5] holding 1.6, 0.8 up to the rank → 0.25 + 0.25 · 0.8/1.6 = 0.375.
    expect(await valueAt(engine, query(0.5), 60 * SECOND)).to.be.closeTo(0.375, 1e-12);
    // p75: rank 3.0 in (0.5, 1] holding 0.4, 0.2 up to the rank → 0.75.
    expect(await valueAt(engine, query(0.75), 60 * SECOND)).to.be.closeTo(0.75, 1e-12);
  });
});
