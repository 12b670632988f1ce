import { expect } from 'chai';
import { solveQueueMetrics, solveStateDependentQueue } from '../../../core/optimizer/queue';
import { BISECTION_MAX_ITERATIONS, binarySearch, withinTolerance } from '../../../core/optimizer/bisection';

/** Closed-form M/M/1/K: p(n) = (1−r) r^n / (1 − r^{K+1}). */
function mm1k(lambda: number, mu: number, K: number) {
  const r = lambda / mu;
  const p = Array.from({ length: K + 1 }, (_, n) => (r === 1 ? 1 / (K + 1) : ((1 - r) * r ** n) / (1 - r ** (K + 1))));
  const L = p.reduce((s, pn, n) => s + n * pn, 0);
  const X = lambda * (1 - p[K]!);
  return { p, L, X, T: L / X, pFull: p[K]! };
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe('core/optimizer/queue state-dependent birth–death queue', () => {
  it('is M/M/1/K when a single server has a constant rate', () => {
    for (const [lambda, mu, K] of [[0.5, 1, 10], [2, 1, 7], [1, 1, 5], [0.9, 1.3, 40]] as const) {
      const q = solveStateDependentQueue(lambda, [mu], K);
      const ref = mm1k(lambda, mu, K);
      expect(rel(q.L, ref.L)).to.be.below(1e-12);
      expect(rel(q.X, ref.X)).to.be.below(1e-12);
      expect(rel(q.T, ref.T)).to.be.below(1e-12);
      expect(rel(q.pFull, ref.pFull)).to.be.below(1e-12);
      q.p.forEach((pn, n) => expect(rel(pn, ref.p[n]!)).to.be.below(1e-12));
      // N = 1: in service whenever busy; service time is 1/μ, waiting is the rest.
      expect(rel(q.Lserv, 1 - ref.p[0]!)).to.be.below(1e-12);
      expect(rel(q.Sbar, 1 / mu)).to.be.below(1e-12);
      expect(rel(q.W, ref.T - 1 / mu)).to.be.below(1e-9);
      expect(q.rho).to.be.closeTo(1 - ref.p[0]!, 1e-12);
    }
  });

  it('is M/M/1/K with rate μ in every state when servRate[b−1] = μ for all b (batching gives no speed-up)', () => {
    const mu = 0.8;
    const q = solveStateDependentQueue(0.6, [mu, mu, mu, mu], 20);
    const ref = mm1k(0.6, mu, 20);
    expect(rel(q.L, ref.L)).to.be.below(1e-12);
    expect(rel(q.X, ref.X)).to.be.below(1e-12);
    expect(rel(q.T, ref.T)).to.be.below(1e-12);
    expect(rel(q.pFull, ref.pFull)).to.be.below(1e-12);
  });

  it('is M/M/c/K when servRate[b−1] = b·μ (c = N parallel servers)', () => {
    const lambda = 3;
    const mu = 1;
    const c = 4;
    const K = 12;
    const q = solveStateDependentQueue(lambda, [1, 2, 3, 4].map((b) => b * mu), K);
    // Unnormalised M/M/c/K weights.
    const w: number[] = [1];
    for (let n = 1; n <= K; n++) w.push((w[n - 1]! * lambda) / (Math.min(n, c) * mu));
    const s = w.reduce((a, b) => a + b, 0);
    const p = w.map((x) => x / s);
    const L = p.reduce((acc, pn, n) => acc + n * pn, 0);
    const Lserv = p.reduce((acc, pn, n) => acc + Math.min(n, c) * pn, 0);
    expect(rel(q.L, L)).to.be.below(1e-12);
    expect(rel(q.Lserv, Lserv)).to.be.below(1e-12);
    expect(rel(q.X, lambda * (1 - p[K]!))).to.be.below(1e-12);
    // Little: Sbar = Lserv/X = 1/μ for independent servers.
    expect(rel(q.Sbar, 1 / mu)).to.be.below(1e-12);
  });

  it('sums to one and stays finite under extreme load (rescaling)', () => {
    const q = solveStateDependentQueue(1e6, [1e-3, 2e-3], 5000);
    const sum = q.p.reduce((a, b) => a + b, 0);
    expect(sum).to.be.closeTo(1, 1e-12);
    expect(q.pFull).to.be.closeTo(1, 1e-6);
    for (const v of [q.L, q.Lserv, q.X, q.T, q.Sbar, q.W]) expect(Number.isFinite(v)).to.equal(true);
    expect(q.L).to.be.closeTo(5000, 1e-3);
    expect(q.Lserv).to.be.closeTo(2, 1e-9);
    expect(q.rho).to.equal(1);
  });

  it('reports the zero-load limit at λ = 0 instead of 0/0', () => {
    const q = solveStateDependentQueue(0, [0.5, 0.8], 4);
    expect(q.L).to.equal(0);
    expect(q.X).to.equal(0);
    expect(q.T).to.equal(2);
    expect(q.Sbar).to.equal(2);
    expect(q.W).to.equal(0);
    expect(q.pFull).to.equal(0);
  });

  it('rejects bad inputs', () => {
    expect(() => solveStateDependentQueue(-1, [1], 3)).to.throw(RangeError);
    expect(() => solveStateDependentQueue(Number.NaN, [1], 3)).to.throw(RangeError);
    expect(() => solveStateDependentQueue(1, [], 3)).to.throw(RangeError);
    expect(() => solveStateDependentQueue(1, [1, 0], 3)).to.throw(RangeError);
    expect(() => solveStateDependentQueue(1, [1, 1], 1)).to.throw(RangeError);
    expect(() => solveStateDependentQueue(1, [1], 2.5)).to.throw(RangeError);
  });
});

describe('core/optimizer/bisection Inferno BinarySearch', () => {
  const inc = (x: number) => 2 * x + 1; // f(0) = 1, f(10) = 21
  const dec = (x: number) => 100 - x * x; // f(0) = 100, f(5) = 75

  it('returns an end whose value is within 1e-6 relative of the target, without iterating', () => {
    expect(binarySearch(0, 10, 1, inc)).to.deep.equal({ x: 0, indicator: 0, iterations: 0 });
    expect(binarySearch(0, 10, 21 * (1 + 5e-7), inc)).to.deep.equal({ x: 10, indicator: 0, iterations: 0 });
    expect(binarySearch(0, 5, 75, dec)).to.deep.equal({ x: 5, indicator: 0, iterations: 0 });
  });

  it('increasing f: target below f(xMin) → below (−1, infeasible); above f(xMax) → xMax (+1)', () => {
    expect(binarySearch(0, 10, 0.5, inc)).to.deep.equal({ x: 0, indicator: -1, iterations: 0 });
    expect(binarySearch(0, 10, 50, inc)).to.deep.equal({ x: 10, indicator: 1, iterations: 0 });
  });

  it('decreasing f: direction read from the ends (target above f(xMin) → −1, below f(xMax) → +1)', () => {
    expect(binarySearch(0, 5, 120, dec)).to.deep.equal({ x: 0, indicator: -1, iterations: 0 });
    expect(binarySearch(0, 5, 10, dec)).to.deep.equal({ x: 5, indicator: 1, iterations: 0 });
    const r = binarySearch(0, 5, 84, dec);
    expect(r.indicator).to.equal(0);
    expect(r.x).to.be.closeTo(4, 1e-5);
    expect(withinTolerance(dec(r.x), 84)).to.equal(true);
  });

  it('bisects inside the region until |f − target|/target ≤ 1e-6', () => {
    const r = binarySearch(0, 10, 7.3, inc);
    expect(r.indicator).to.equal(0);
    expect(Math.abs(inc(r.x) - 7.3) / 7.3).to.be.at.most(1e-6);
    expect(r.iterations).to.be.greaterThan(0).and.at.most(BISECTION_MAX_ITERATIONS);
  });

  it('stops after 100 midpoints, returning the last midpoint, when the tolerance is never met', () => {
    // A step function: target 1 inside the region but never attained.
    let calls = 0;
    const step = (x: number) => {
      calls++;
      return x < Math.PI ? 0.5 : 2;
    };
    const r = binarySearch(0, 10, 1, step);
    expect(r.iterations).to.equal(BISECTION_MAX_ITERATIONS);
    expect(calls).to.equal(BISECTION_MAX_ITERATIONS + 2);
    expect(r.x).to.be.closeTo(Math.PI, 1e-9);
  });

  it('rejects an inverted or non-finite range', () => {
    expect(() => binarySearch(2, 1, 1, inc)).to.throw(RangeError);
    expect(() => binarySearch(0, Number.POSITIVE_INFINITY, 1, inc)).to.throw(RangeError);
    expect(() => binarySearch(0, 1, Number.NaN, inc)).to.throw(RangeError);
  });
});

describe('core/optimizer/queue solveQueueMetrics (closed-form geometric tail)', () => {
  const rel2 = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
  it('agrees with the state-by-state solve to 1e-10 relative over batch sizes, queue bounds and loads', () => {
    for (const N of [1, 4, 32, 256]) {
      const serv = Array.from({ length: N }, (_, b) => (b + 1) / (20 + 3 * (b + 1)));
      for (const kMax of [N + 1, 11 * N]) {
        for (const frac of [0.001, 0.3, 0.8, 0.99, 0.999, 0.9999, 1.2]) {
          const lambda = frac * serv[N - 1]!;
          const exact = solveStateDependentQueue(lambda, serv, kMax);
          const fast = solveQueueMetrics(lambda, serv, kMax);
          for (const k of ['L', 'Lserv', 'X', 'T', 'Sbar', 'rho', 'pFull'] as const) {
            const tol = k === 'pFull' ? 1e-8 : 1e-10;
            expect(rel2(fast[k], exact[k]) < tol || Math.abs(fast[k] - exact[k]) < 1e-300, `N ${N} kMax ${kMax} λ/μN ${frac} ${k}: ${fast[k]} vs ${exact[k]}`).to.equal(true);
          }
          expect(Math.abs(fast.W - exact.W), `W N ${N} ${frac}`).to.be.below(1e-9 * Math.max(1, exact.T));
        }
      }
    }
  });
});
