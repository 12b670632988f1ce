import { expect } from 'chai';
import { SECOND, engineFor, vectorAt } from '../query-helpers';

describe('PromQL instant selectors', () => {
  // Samples at 0 s and 10 s.
  const series = { lb: '1 2' };

  it('take the latest sample at or before the query time, within the 5 min lookback', async () => {
    const engine = engineFor(10 * SECOND, series);
    expect((await vectorAt(engine, 'lb', 5 * SECOND)).map((e) => e.value)).to.deep.equal([1]);
    expect((await vectorAt(engine, 'lb', 309 * SECOND)).map((e) => e.value)).to.deep.equal([2]);
    expect(await vectorAt(engine, 'lb', 311 * SECOND)).to.deep.equal([]);
    expect(await vectorAt(engine, 'lb', -1 * SECOND)).to.deep.equal([]);
  });

  it('treat the lookback window as left-open in Prometheus 3 and closed in Prometheus 2', async () => {
    // At 310 s the window starts at 10 s, exactly the newest sample's time.
    expect(await vectorAt(engineFor(10 * SECOND, series), 'lb', 310 * SECOND)).to.deep.equal([]);
    expect((await vectorAt(engineFor(10 * SECOND, series, { compatibility: 'prometheus-2' }), 'lb', 310 * SECOND)).map((e) => e.value)).to.deep.equal([2]);
  });

  it('honour a configured lookback delta', async () => {
    const engine = engineFor(10 * SECOND, series, { lookbackDeltaMs: 30 * SECOND });
    expect((await vectorAt(engine, 'lb', 39 * SECOND)).map((e) => e.value)).to.deep.equal([2]);
    expect(await vectorAt(engine, 'lb', 40 * SECOND)).to.deep.equal([]);
  });

  it('stop at a staleness marker instead of reaching back to older samples', async () => {
    const engine = engineFor(10 * SECOND, { 'st{pod="a"}': '1 2 stale 4' });
    expect((await vectorAt(engine, 'st', 15 * SECOND)).map((e) => e.value)).to.deep.equal([2]);
    expect(await vectorAt(engine, 'st', 25 * SECOND)).to.deep.equal([]);
    expect((await vectorAt(engine, 'st', 30 * SECOND)).map((e) => e.value)).to.deep.equal([4]);
    // Range functions just skip the marker: 1, 2 and 4 are in (−30 s, 30 s].
    expect((await vectorAt(engine, 'count_over_time(st[1m])', 30 * SECOND)).map((e) => e.value)).to.deep.equal([3]);
  });

  it('apply offset and @', async () => {
    const engine = engineFor(10 * SECOND, series);
    expect((await vectorAt(engine, 'lb offset 5s', 15 * SECOND)).map((e) => e.value)).to.deep.equal([2]);
    expect((await vectorAt(engine, 'lb offset 10s', 15 * SECOND)).map((e) => e.value)).to.deep.equal([1]);
    expect((await vectorAt(engine, 'lb @ 5', 1000 * SECOND)).map((e) => e.value)).to.deep.equal([1]);
    expect((await vectorAt(engine, 'lb @ end()', 5 * SECOND)).map((e) => e.value)).to.deep.equal([1]);
  });

  it('select by name (colons allowed), __name__ regex and label matchers; results keep the name', async () => {
    const engine = engineFor(10 * SECOND, {
      'vllm:num_requests_running{pod="a"}': '1',
      'vllm:num_requests_running{pod="b"}': '2',
      'vllm:num_requests_waiting{pod="a"}': '5',
    });
    expect(await vectorAt(engine, 'vllm:num_requests_running{pod!="a"}', 0)).to.deep.equal([{ metric: { __name__: 'vllm:num_requests_running', pod: 'b' }, value: 2 }]);
    expect((await vectorAt(engine, '{__name__=~"vllm:num_requests_.*", pod="a"}', 0)).map((e) => e.value)).to.deep.equal([1, 5]);
    expect((await vectorAt(engine, 'vllm:num_requests_running{pod=~"A|b"}', 0)).map((e) => e.value)).to.deep.equal([2]);
    expect((await vectorAt(engine, 'vllm:num_requests_running{pod=~"(?i)A"}', 0)).map((e) => e.value)).to.deep.equal([1]);
  });
});
