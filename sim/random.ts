/**
 * Seeded randomness for the simulator: one stream per purpose, derived from the run's seed, so a
 * run is a pure function of (scenario, policy, seed) and adding a draw in one place does not shift
 * every other stream.
 */

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
}

/** sfc32 (small fast counter), seeded through splitmix32 so that nearby seeds give unrelated streams. */
export function seededRandom(seed: number, stream = 0): Random {
  let s = (seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return { next };
}

/** Stable stream number for a name (FNV-1a), so streams are keyed by meaning, not by order. */
export function streamId(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export function exponential(r: Random, mean: number): number {
  return -mean * Math.log(1 - r.next());
}

export function standardNormal(r: Random): number {
  // Box–Muller; the second variate is dropped to keep the stream stateless.
  const u = 1 - r.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r.next());
}

/** Gamma(shape k, scale θ) by Marsaglia–Tsang; k < 1 through the k+1 boost. */
export function gamma(r: Random, shape: number, scale: number): number {
  if (shape < 1) return gamma(r, shape + 1, scale) * Math.pow(1 - r.next(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = standardNormal(r);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - r.next();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v * scale;
  }
}

/**
 * Inter-arrival time of a Gamma renewal process with mean 1/rate and coefficient of variation cv
 * (notes/perf.md §6.2: shape 1/cv², scale cv²/λ; cv = 1 is Poisson).
 */
export function gammaInterArrival(r: Random, ratePerSec: number, cv: number): number {
  if (cv === 1) return exponential(r, 1 / ratePerSec);
  const shape = 1 / (cv * cv);
  return gamma(r, shape, (cv * cv) / ratePerSec);
}

/** Log-normal with the given mean and coefficient of variation. */
export function lognormal(r: Random, mean: number, cv: number): number {
  if (cv === 0) return mean;
  const sigma2 = Math.log(1 + cv * cv);
  const mu = Math.log(mean) - sigma2 / 2;
  return Math.exp(mu + Math.sqrt(sigma2) * standardNormal(r));
}
