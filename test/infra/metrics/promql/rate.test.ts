/**
 * rate/increase/delta follow Prometheus' extrapolatedRate exactly. Every expected value below is
 * worked out by hand in the comment and written as the same float expression Prometheus
 * evaluates, so the comparison is exact (Go and JavaScript share IEEE 754 doubles).
 */
import { expect } from 'chai';
import { SECOND, engineFor, valueAt, vectorAt } from '../query-helpers';

const STEP = 15 * SECOND;

describe('PromQL rate, increase and delta (extrapolatedRate)', () => {
  describe('a counter at 0 s..60 s every 15 s, 1 per second (0 15 30 45 60), queried at 60 s', () => {
    const series = { 'requests_total{pod="a"}': '0+15x4' };
    const prom3 = engineFor(STEP, series);
    const prom2 = engineFor(STEP, series, { compatibility: 'prometheus-2' });

    it('Prometheus 3 (window (0 s, 60 s]): 4 samples, extrapolated 15 s back to the window start', async () => {
      // Samples 15..60 s: Δ = 45 over 45 s; start gap 15 s < 1.1 × 15 s, zero point 45·(15/45) = 15 s is
      // not closer, end gap 0 → increase = 45 · (45 + 15 + 0)/45 = 60; rate divides the factor by 60 s.
      expect(await valueAt(prom3, 'increase(requests_total[1m])', 60 * SECOND)).to.equal(45 * ((45 + 15 + 0) / 45));
      expect(await valueAt(prom3, 'rate(requests_total[1m])', 60 * SECOND)).to.equal(45 * ((45 + 15 + 0) / 45 / 60));
      expect(await valueAt(prom3, 'rate(requests_total[1m])', 60 * SECOND)).to.be.closeTo(1, 1e-15);
    });

    it('Prometheus 2 (window [0 s, 60 s]): 5 samples covering the window, no extrapolation', async () => {
      // Δ = 60 over 60 s, both gaps 0 → factor 60/60.
      expect(await valueAt(prom2, 'increase(requests_total[1m])', 60 * SECOND)).to.equal(60);
      expect(await valueAt(prom2, 'rate(requests_total[1m])', 60 * SECOND)).to.equal(1);
    });

    it('drops the metric name and keeps the other labels', async () => {
      expect(await vectorAt(prom3, 'rate(requests_total[1m])', 60 * SECOND)).to.deep.equal([{ metric: { pod: 'a' }, value: 45 * ((45 + 15 + 0) / 45 / 60) }]);
    });
  });

  it('extrapolates both ends by their gaps when samples sit inside the window', async () => {
    // Samples at 5, 20, 35, 50 s: 100 115 130 145; query at 60 s over [1m] → window (0, 60].
    // Δ = 45 over 45 s (3 intervals of 15 s, threshold 16.5 s); start gap 5 s, end gap 10 s, both
    // under the threshold; zero point 45·(100/45) = 100 s is far → factor (45 + 5 + 10)/45.
    const engine = engineFor(STEP, { c: '_ 100+15x3' }, {});
    const shifted = await valueAt(engine, 'increase(c[1m])', 65 * SECOND);
    // loadSeries starts at 0 s with a gap, so the samples are at 15..60 s; shift the query by 5 s instead:
    // window (5, 65]: start gap 10 s, end gap 5 s → same factor (45 + 10 + 5)/45.
    expect(shifted).to.equal(45 * ((45 + 10 + 5) / 45));
    expect(shifted).to.be.closeTo(60, 1e-12);
  });

  it('extrapolates only half an interval towards a start the series does not reach', async () => {
    // Samples at 30, 45, 60 s: 10 25 40 (the series began inside the window). Query increase(c[1m]) at 60 s.
    // Δ = 30 over 30 s, average interval 15 s, threshold 16.5 s.
    const series = { c: '_ _ 10+15x2' };
    // Prometheus 3: start gap 30 s ≥ 16.5 s → 7.5 s; zero point 30·(10/30) = 10 s is not closer → (30 + 7.5 + 0)/30.
    expect(await valueAt(engineFor(STEP, series), 'increase(c[1m])', 60 * SECOND)).to.equal(30 * ((30 + 7.5 + 0) / 30));
    // Prometheus 2: the zero point (10 s) first replaces the 30 s gap, and being under the threshold
    // it is used whole → (30 + 10 + 0)/30 = 40.
    expect(await valueAt(engineFor(STEP, series, { compatibility: 'prometheus-2' }), 'increase(c[1m])', 60 * SECOND)).to.equal(30 * ((30 + 10 + 0) / 30));
  });

  it('never extrapolates a counter below zero', async () => {
    // Samples at 30, 45, 60 s: 1 16 31. Δ = 30; start gap capped at 7.5 s, then the zero point
    // 30·(1/30) = 1 s is closer → (30 + 1 + 0)/30 → increase 31 in both versions.
    const series = { c: '_ _ 1+15x2' };
    expect(await valueAt(engineFor(STEP, series), 'increase(c[1m])', 60 * SECOND)).to.equal(30 * ((30 + 1 + 0) / 30));
    expect(await valueAt(engineFor(STEP, series, { compatibility: 'prometheus-2' }), 'increase(c[1m])', 60 * SECOND)).to.equal(30 * ((30 + 1 + 0) / 30));
  });

  it('adds the pre-reset value back on a counter reset', async () => {
    // 10 20 5 15 25 at 0..60 s; the drop 20 → 5 is a restart.
    const series = { c: '10 20 5 15 25' };
    // Prometheus 3, samples 15..60 s (20 5 15 25): Δ = 25 − 20 = 5, plus 20 for the reset = 25;
    // start gap 15 s < 16.5 s; zero point 45·(20/25) = 36 s is farther → factor (45 + 15 + 0)/45.
    expect(await valueAt(engineFor(STEP, series), 'increase(c[1m])', 60 * SECOND)).to.equal(25 * ((45 + 15 + 0) / 45));
    expect(await valueAt(engineFor(STEP, series), 'rate(c[1m])', 60 * SECOND)).to.equal(25 * ((45 + 15 + 0) / 45 / 60));
    // Prometheus 2, samples 0..60 s: Δ = 15 plus 20 = 35, no gaps → 35.
    expect(await valueAt(engineFor(STEP, series, { compatibility: 'prometheus-2' }), 'increase(c[1m])', 60 * SECOND)).to.equal(35);
  });

  it('gives no result with fewer than two samples in the window', async () => {
    const engine = engineFor(STEP, { c: '_ _ _ _ 7' });
    expect(await vectorAt(engine, 'rate(c[1m])', 60 * SECOND)).to.deep.equal([]);
    expect(await vectorAt(engine, 'increase(c[10s])', 60 * SECOND)).to.deep.equal([]);
  });

  it('delta treats the series as a gauge: a drop is a drop and no zero-point limit applies', async () => {
    // 8 10 5 20 15 at 0..60 s. Prometheus 3: samples 15..60 s, Δ = 15 − 10 = 5, factor (45 + 15 + 0)/45.
    const series = { g: '8 10 5 20 15' };
    expect(await valueAt(engineFor(STEP, series), 'delta(g[1m])', 60 * SECOND)).to.equal(5 * ((45 + 15 + 0) / 45));
    // Prometheus 2: samples 0..60 s, Δ = 15 − 8 = 7, no gaps.
    expect(await valueAt(engineFor(STEP, series, { compatibility: 'prometheus-2' }), 'delta(g[1m])', 60 * SECOND)).to.equal(7);
  });

  it('irate and idelta use the last two samples; irate treats a drop as a reset', async () => {
    const engine = engineFor(STEP, { c: '10 20 5 15 25', restarted: '0 10 20 30 6' });
    expect(await valueAt(engine, 'irate(c[1m])', 60 * SECOND)).to.equal((25 - 15) / 15); // 0.666…
    expect(await valueAt(engine, 'idelta(c[1m])', 60 * SECOND)).to.equal(10);
    expect(await valueAt(engine, 'irate(restarted[1m])', 60 * SECOND)).to.equal(6 / 15); // counts from 0 after the restart
    expect(await valueAt(engine, 'idelta(restarted[1m])', 60 * SECOND)).to.equal(-24);
  });

  it('evaluates the *_over_time functions on the samples in the window', async () => {
    // Window (0, 60] holds 10 5 20 15 (the 8 at 0 s is outside).
    const engine = engineFor(STEP, { 'g{pod="a"}': '8 10 5 20 15' });
    const at = 60 * SECOND;
    expect(await valueAt(engine, 'avg_over_time(g[1m])', at)).to.equal(12.5);
    expect(await valueAt(engine, 'min_over_time(g[1m])', at)).to.equal(5);
    expect(await valueAt(engine, 'max_over_time(g[1m])', at)).to.equal(20);
    expect(await valueAt(engine, 'sum_over_time(g[1m])', at)).to.equal(50);
    expect(await valueAt(engine, 'count_over_time(g[1m])', at)).to.equal(4);
    expect(await valueAt(engine, 'present_over_time(g[1m])', at)).to.equal(1);
    // Deviations from 12.5: −2.5 −7.5 7.5 2.5 → squares sum to 125 → variance 31.25, which Prometheus'
    // running (Welford + Kahan) computation lands one ulp below: 31.249999999999996, as here.
    expect(await valueAt(engine, 'stdvar_over_time(g[1m])', at)).to.equal(31.249999999999996);
    expect(await valueAt(engine, 'stddev_over_time(g[1m])', at)).to.equal(Math.sqrt(31.249999999999996));
    // Sorted 5 10 15 20, rank 0.5·3 = 1.5 → halfway between 10 and 15.
    expect(await valueAt(engine, 'quantile_over_time(0.5, g[1m])', at)).to.equal(12.5);
    expect(await valueAt(engine, 'changes(g[1m])', at)).to.equal(3);
    expect(await valueAt(engine, 'resets(g[1m])', at)).to.equal(2);
    // last_over_time returns the stored sample and so keeps the metric name.
    expect(await vectorAt(engine, 'last_over_time(g[1m])', at)).to.deep.equal([{ metric: { __name__: 'g', pod: 'a' }, value: 15 }]);
    expect(await vectorAt(engine, 'max_over_time(g[1m])', at)).to.deep.equal([{ metric: { pod: 'a' }, value: 20 }]);
  });

  it('reads the window at the offset and @ times', async () => {
    const engine = engineFor(STEP, { c: '0+15x8' }); // 0..120 s, 1 per second
    // Window (0, 60] shifted back 60 s from 120 s: same numbers as the first case.
    expect(await valueAt(engine, 'increase(c[1m] offset 1m)', 120 * SECOND)).to.equal(45 * ((45 + 15 + 0) / 45));
    expect(await valueAt(engine, 'increase(c[1m] @ 60)', 120 * SECOND)).to.equal(45 * ((45 + 15 + 0) / 45));
  });
});
