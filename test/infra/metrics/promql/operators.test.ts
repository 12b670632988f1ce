import { expect } from 'chai';
import { SECOND, engineFor, queryError, valueAt, vectorAt } from '../query-helpers';

const AT = 60 * SECOND;

const http = engineFor(15 * SECOND, {
  'http_requests{job="api",instance="0",group="production"}': '100x4',
  'http_requests{job="api",instance="1",group="production"}': '200x4',
  'http_requests{job="api",instance="0",group="canary"}': '300x4',
  'http_requests{job="app",instance="0",group="production"}': '500x4',
  'http_requests{job="app",instance="1",group="canary"}': '800x4',
});

const pods = engineFor(15 * SECOND, {
  'requests{pod="a",code="200"}': '10x4',
  'requests{pod="a",code="500"}': '2x4',
  'requests{pod="b",code="200"}': '6x4',
  'capacity{pod="a"}': '4x4',
  'capacity{pod="b"}': '3x4',
  'pod_info{pod="a",node="n1"}': '1x4',
  'pod_info{pod="b",node="n2"}': '1x4',
  'pos{x="1"}': '1x4',
  'neg{x="1"}': '-1x4',
  'nul{x="1"}': '0x4',
});

describe('PromQL aggregation', () => {
  it('sum by keeps only the grouping labels; without drops the listed ones and the name', async () => {
    expect(await vectorAt(http, 'sum by (job) (http_requests)', AT)).to.deep.equal([
      { metric: { job: 'api' }, value: 600 },
      { metric: { job: 'app' }, value: 1300 },
    ]);
    expect(await vectorAt(http, 'sum(http_requests) by (group)', AT)).to.deep.equal([
      { metric: { group: 'canary' }, value: 1100 },
      { metric: { group: 'production' }, value: 800 },
    ]);
    expect(await vectorAt(http, 'sum without (instance) (http_requests)', AT)).to.have.deep.members([
      { metric: { group: 'canary', job: 'api' }, value: 300 },
      { metric: { group: 'production', job: 'api' }, value: 300 },
      { metric: { group: 'production', job: 'app' }, value: 500 },
      { metric: { group: 'canary', job: 'app' }, value: 800 },
    ]);
    expect(await vectorAt(http, 'sum(http_requests)', AT)).to.deep.equal([{ metric: {}, value: 1900 }]);
  });

  it('avg, count, min, max, group, stddev and quantile', async () => {
    expect(await valueAt(http, 'avg(http_requests)', AT)).to.equal(380);
    expect(await valueAt(http, 'count(http_requests)', AT)).to.equal(5);
    expect(await valueAt(http, 'min(http_requests)', AT)).to.equal(100);
    expect(await valueAt(http, 'max(http_requests)', AT)).to.equal(800);
    expect(await valueAt(http, 'group(http_requests)', AT)).to.equal(1);
    // api: 100 200 300 → mean 200, squared deviations 10000 0 10000 → variance 20000/3.
    expect(await valueAt(http, 'stdvar by (job) (http_requests{job="api"})', AT)).to.be.closeTo(20_000 / 3, 1e-9);
    // Sorted 100 200 300 500 800, rank 0.5 · 4 = 2 → 300.
    expect(await valueAt(http, 'quantile(0.5, http_requests)', AT)).to.equal(300);
  });

  it('topk/bottomk keep whole series, names included, per group', async () => {
    expect(await vectorAt(http, 'topk(2, http_requests)', AT)).to.deep.equal([
      { metric: { __name__: 'http_requests', job: 'app', instance: '1', group: 'canary' }, value: 800 },
      { metric: { __name__: 'http_requests', job: 'app', instance: '0', group: 'production' }, value: 500 },
    ]);
    const lowest = await vectorAt(http, 'bottomk by (job) (1, http_requests)', AT);
    expect(lowest.map((e) => e.value)).to.deep.equal([100, 500]);
  });
});

describe('PromQL binary operators', () => {
  it('divides vectors one-to-one on all labels but the name by default', async () => {
    const engine = engineFor(15 * SECOND, { 'tokens_sum{pod="a"}': '6x4', 'tokens_count{pod="a"}': '3x4', 'tokens_count{pod="b"}': '1x4' });
    expect(await vectorAt(engine, 'tokens_sum / tokens_count', AT)).to.deep.equal([{ metric: { pod: 'a' }, value: 2 }]);
  });

  it('matches on (...) and ignoring (...), with group_left for many-to-one', async () => {
    expect(await vectorAt(pods, 'requests / on (pod) group_left capacity', AT)).to.have.deep.members([
      { metric: { pod: 'a', code: '200' }, value: 2.5 },
      { metric: { pod: 'a', code: '500' }, value: 0.5 },
      { metric: { pod: 'b', code: '200' }, value: 2 },
    ]);
    expect(await vectorAt(pods, 'requests / ignoring (code) group_left capacity', AT)).to.have.length(3);
    // One-to-one with on (...) keeps only the matching labels.
    expect(await vectorAt(pods, 'sum by (pod) (requests) / on (pod) capacity', AT)).to.deep.equal([
      { metric: { pod: 'a' }, value: 3 },
      { metric: { pod: 'b' }, value: 2 },
    ]);
    // group_right: the right side is the "many" side and gives the labels; values keep their sides.
    expect(await vectorAt(pods, 'capacity / on (pod) group_right requests', AT)).to.have.deep.members([
      { metric: { pod: 'a', code: '200' }, value: 0.4 },
      { metric: { pod: 'a', code: '500' }, value: 2 },
      { metric: { pod: 'b', code: '200' }, value: 0.5 },
    ]);
    // group_left (node) copies the label from the "one" side.
    expect(await vectorAt(pods, 'requests * on (pod) group_left (node) pod_info', AT)).to.have.deep.members([
      { metric: { pod: 'a', code: '200', node: 'n1' }, value: 10 },
      { metric: { pod: 'a', code: '500', node: 'n1' }, value: 2 },
      { metric: { pod: 'b', code: '200', node: 'n2' }, value: 6 },
    ]);
  });

  it('refuses ambiguous matches as Prometheus does', async () => {
    expect((await queryError(pods, 'requests / ignoring (code) capacity', AT)).message).to.include(
      'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)',
    );
    expect((await queryError(pods, 'capacity / on (pod) requests', AT)).message).to.include('found duplicate series for the match group {pod="a"} on the right hand-side');
    expect((await queryError(pods, '{__name__=~"pos|neg"} * 2', AT)).message).to.include('vector cannot contain metrics with the same labelset');
  });

  it('filters with comparisons (keeping the name) or returns 0/1 with bool (dropping it)', async () => {
    expect((await vectorAt(pods, 'requests > 5', AT)).map((e) => [e.metric['__name__'], e.value])).to.deep.equal([
      ['requests', 10],
      ['requests', 6],
    ]);
    expect(await vectorAt(pods, 'requests > bool 5', AT)).to.have.deep.members([
      { metric: { pod: 'a', code: '200' }, value: 1 },
      { metric: { pod: 'a', code: '500' }, value: 0 },
      { metric: { pod: 'b', code: '200' }, value: 1 },
    ]);
    // A scalar on the left still yields the vector's values.
    expect((await vectorAt(pods, '5 < requests', AT)).map((e) => e.value)).to.deep.equal([10, 6]);
    expect(await valueAt(pods, '2 > bool 1', AT)).to.equal(1);
  });

  it('and, or, unless match on label sets', async () => {
    expect((await vectorAt(pods, 'requests and on (pod) (capacity > 3)', AT)).map((e) => e.metric['pod'])).to.deep.equal(['a', 'a']);
    expect((await vectorAt(pods, 'requests unless on (pod) capacity{pod="b"}', AT)).map((e) => e.metric['pod'])).to.deep.equal(['a', 'a']);
    // or: the left side first, then right-side series whose labels the left side lacks.
    expect((await vectorAt(pods, 'requests{code="500"} or requests{code="200"}', AT)).map((e) => e.value)).to.deep.equal([2, 10, 6]);
  });

  it('divides by zero like IEEE 754: ±Inf, and NaN for 0/0', async () => {
    expect(await valueAt(pods, 'pos / nul', AT)).to.equal(Infinity);
    expect(await valueAt(pods, 'neg / nul', AT)).to.equal(-Infinity);
    expect(await valueAt(pods, 'nul / nul', AT)).to.be.NaN;
    expect(await valueAt(pods, '1 / 0', AT)).to.equal(Infinity);
    expect(await valueAt(pods, '0 / 0', AT)).to.be.NaN;
    expect(await valueAt(pods, 'pos % nul', AT)).to.be.NaN;
  });

  it('follows Prometheus precedence and Go math for ^ and %', async () => {
    expect(await valueAt(pods, '1 + 2 * 3 - 4 / 2', AT)).to.equal(5);
    expect(await valueAt(pods, '2 ^ 3 ^ 2', AT)).to.equal(512);
    expect(await valueAt(pods, '-2 ^ 2', AT)).to.equal(-4);
    expect(await valueAt(pods, '1 ^ NaN', AT)).to.equal(1);
    expect(await valueAt(pods, '(-1) ^ Inf', AT)).to.equal(1);
    expect(await valueAt(pods, '-5 % 3', AT)).to.equal(-2);
  });

  it('drops the metric name in arithmetic and unary minus', async () => {
    expect(await vectorAt(pods, '-capacity{pod="a"}', AT)).to.deep.equal([{ metric: { pod: 'a' }, value: -4 }]);
    expect(await vectorAt(pods, 'capacity{pod="a"} * 2', AT)).to.deep.equal([{ metric: { pod: 'a' }, value: 8 }]);
  });
});

describe('PromQL functions on instant vectors', () => {
  it('clamp, round, abs, scalar, vector and time', async () => {
    // Selectors return series ordered by label set: {code="200",pod="a"} {code="200",pod="b"} {code="500",pod="a"}.
    expect((await vectorAt(pods, 'clamp(requests, 3, 8)', AT)).map((e) => e.value)).to.deep.equal([8, 6, 3]);
    expect(await vectorAt(pods, 'clamp(requests, 8, 3)', AT)).to.deep.equal([]);
    expect((await vectorAt(pods, 'clamp_max(requests, 5)', AT)).map((e) => e.value)).to.deep.equal([5, 5, 2]);
    expect(await valueAt(pods, 'round(vector(2.5))', AT)).to.equal(3);
    expect(await valueAt(pods, 'round(vector(-2.5))', AT)).to.equal(-2);
    expect(await valueAt(pods, 'round(vector(1.3), 0.5)', AT)).to.equal(1.5);
    expect(await valueAt(pods, 'abs(neg)', AT)).to.equal(1);
    expect(await valueAt(pods, 'scalar(capacity{pod="a"})', AT)).to.equal(4);
    expect(await valueAt(pods, 'scalar(capacity)', AT)).to.be.NaN;
    expect(await vectorAt(pods, 'vector(time())', 61_500)).to.deep.equal([{ metric: {}, value: 61.5 }]);
  });
});
