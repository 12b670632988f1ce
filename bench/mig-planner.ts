/**
 * MIG planner benchmark (not a test): `npm run bench:mig`. Env: BENCH_SEEDS (instances per size,
 * default 12 for ILP sizes, half that above), BENCH_ILP_LIMIT_SEC (per ILP stage, default 10).
 *
 * Seeded random instances (bench/mig-instances.ts: 8–512 GPUs, mixed GPU models, arrivals and
 * departures placed by a fragmentation-unaware driver) are planned by the planner and every
 * baseline in the same run — first-fit, best-fit, the nos-style count-only greedy, and, on 8–32
 * GPUs, the exact ILP (HiGHS; minimum unmet → minimum GPUs → minimum moves). Reported: GPUs in use,
 * unmet replicas, moves, stranded memory slots, solve time p50/p99, the gap to the ILP, and ratios
 * against the baselines; then the targets, each marked met or not.
 */
import { randomInstance } from './mig-instances';
import { loadHighsSolver } from '../core/optimizer/milp-highs';
import { planBestFit, planCountGreedy, planFirstFit, planMig, solveMigIlp, type MigPlan, type PlannerInput } from '../core/mig/planner/index';

const ILP_SIZES = [8, 16, 32];
const LARGE_SIZES = [64, 128, 256, 512];
const SEEDS = Number(process.env['BENCH_SEEDS'] ?? 12);
const ILP_LIMIT_SEC = Number(process.env['BENCH_ILP_LIMIT_SEC'] ?? 10);
/** Timing repetitions per instance (the first run of each algorithm also counts). */
const REPS = 3;

const ALGORITHMS: readonly { readonly name: string; readonly run: (i: PlannerInput) => MigPlan }[] = [
  { name: 'planner', run: planMig },
  { name: 'first-fit', run: planFirstFit },
  { name: 'best-fit', run: planBestFit },
  { name: 'count-greedy', run: planCountGreedy },
];

interface Row {
  readonly size: number;
  readonly seed: number;
  readonly algorithm: string;
  readonly gpus: number;
  readonly unmet: number;
  readonly moves: number;
  readonly stranded: number;
  readonly times: readonly number[];
}

interface IlpRow {
  readonly size: number;
  readonly seed: number;
  readonly solved: boolean;
  readonly gpus: number;
  readonly unmet: number;
  readonly moves: number;
  readonly ms: number;
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN);
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 || c === 1 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
}

const pct = (n: number, d: number): string => (d === 0 ? 'n/a' : `${((100 * n) / d).toFixed(1)}%`);
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

async function main(): Promise<void> {
  const solver = await loadHighsSolver();
  const rows: Row[] = [];
  const ilp: IlpRow[] = [];
  const started = Date.now();
  for (const size of [...ILP_SIZES, ...LARGE_SIZES]) {
    const seeds = ILP_SIZES.includes(size) ? SEEDS : Math.max(3, Math.round(SEEDS / 2));
    for (let seed = 1; seed <= seeds; seed++) {
      const input = randomInstance({ gpus: size, seed });
      for (const { name, run } of ALGORITHMS) {
        const times: number[] = [];
        let plan: MigPlan | undefined;
        for (let r = 0; r < REPS; r++) {
          const t0 = performance.now();
          plan = run(input);
          times.push(performance.now() - t0);
        }
        const s = plan!.summary;
        rows.push({ size, seed, algorithm: name, gpus: s.gpusUsed, unmet: s.unmet, moves: s.moves, stranded: s.strandedMemorySlots, times });
      }
      if (ILP_SIZES.includes(size)) {
        const t0 = performance.now();
        const r = solveMigIlp(input, solver, { timeLimitSec: ILP_LIMIT_SEC });
        const best = r.minMoves?.summary;
        ilp.push({ size, seed, solved: r.status === 'optimal' && best !== undefined, gpus: best?.gpusUsed ?? NaN, unmet: best?.unmet ?? NaN, moves: best?.moves ?? NaN, ms: performance.now() - t0 });
      }
    }
    process.stderr.write(`  ${size} GPUs done (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  }

  const out: string[] = [];
  out.push(`MIG planner benchmark — ${SEEDS} seeds at ${ILP_SIZES.join('/')} GPUs (with ILP), ${Math.max(3, Math.round(SEEDS / 2))} at ${LARGE_SIZES.join('/')} GPUs; times over ${REPS} runs each`, '');
  const perSize: string[][] = [['GPUs', 'algorithm', 'GPUs used', 'unmet', 'moves', 'stranded slots', 'p50 ms', 'p99 ms']];
  for (const size of [...ILP_SIZES, ...LARGE_SIZES]) {
    for (const { name } of ALGORITHMS) {
      const rs = rows.filter((r) => r.size === size && r.algorithm === name);
      const times = rs.flatMap((r) => r.times);
      perSize.push([String(size), name, String(sum(rs.map((r) => r.gpus))), String(sum(rs.map((r) => r.unmet))), String(sum(rs.map((r) => r.moves))), String(sum(rs.map((r) => r.stranded))), quantile(times, 0.5).toFixed(2), quantile(times, 0.99).toFixed(2)]);
    }
    const is = ilp.filter((r) => r.size === size && r.solved);
    if (is.length > 0) {
      const ms = ilp.filter((r) => r.size === size).map((r) => r.ms);
      perSize.push([String(size), `ILP (${is.length} solved)`, String(sum(is.map((r) => r.gpus))), String(sum(is.map((r) => r.unmet))), String(sum(is.map((r) => r.moves))), '', quantile(ms, 0.5).toFixed(0), quantile(ms, 0.99).toFixed(0)]);
    }
  }
  out.push('Totals per size (sums over the instances):', table(perSize), '');

  const solved = ilp.filter((r) => r.solved);
  const gap: string[][] = [['algorithm', '', 'unmet = ILP', 'GPUs = ILP', 'GPUs ≤ ILP+1', 'max GPU excess', 'moves ≤ ILP+1']];
  const gapOf = (name: string): { optimal: number; withinOne: number; sameUnmet: number; worst: number; movesOk: number } => {
    let optimal = 0;
    let withinOne = 0;
    let sameUnmet = 0;
    let worst = 0;
    let movesOk = 0;
    for (const i of solved) {
      const r = rows.find((x) => x.size === i.size && x.seed === i.seed && x.algorithm === name)!;
      if (r.unmet === i.unmet) sameUnmet++;
      if (r.unmet === i.unmet && r.gpus === i.gpus) optimal++;
      if (r.unmet === i.unmet && r.gpus <= i.gpus + 1) withinOne++;
      if (r.unmet === i.unmet) worst = Math.max(worst, r.gpus - i.gpus);
      if (r.moves <= i.moves + 1) movesOk++;
    }
    return { optimal, withinOne, sameUnmet, worst, movesOk };
  };
  for (const { name } of ALGORITHMS) {
    const g = gapOf(name);
    gap.push([name, '', pct(g.sameUnmet, solved.length), pct(g.optimal, solved.length), pct(g.withinOne, solved.length), `+${g.worst}`, pct(g.movesOk, solved.length)]);
  }
  out.push(`Against the ILP optimum (${solved.length} of ${ilp.length} instances solved to optimality; GPUs compared at equal unmet):`, table(gap), '');

  const totals = (name: string): { gpus: number; unmet: number; moves: number } => {
    const rs = rows.filter((r) => r.algorithm === name);
    return { gpus: sum(rs.map((r) => r.gpus)), unmet: sum(rs.map((r) => r.unmet)), moves: sum(rs.map((r) => r.moves)) };
  };
  const planner = totals('planner');
  const ratios: string[][] = [['baseline', '', 'GPUs planner/baseline', 'unmet planner − baseline', 'unmet planner/baseline', 'moves planner']];
  for (const { name } of ALGORITHMS.filter((a) => a.name !== 'planner')) {
    const b = totals(name);
    ratios.push([name, '', (planner.gpus / b.gpus).toFixed(3), String(planner.unmet - b.unmet), b.unmet === 0 ? 'n/a' : (planner.unmet / b.unmet).toFixed(3), String(planner.moves)]);
  }
  out.push('Across the whole suite:', table(ratios), '');

  const g = gapOf('planner');
  const p99At512 = quantile(rows.filter((r) => r.size === 512 && r.algorithm === 'planner').flatMap((r) => r.times), 0.99);
  const better = (name: string): boolean => {
    const b = totals(name);
    return (planner.unmet < b.unmet && planner.gpus <= b.gpus) || (planner.gpus < b.gpus && planner.unmet <= b.unmet);
  };
  const target = (ok: boolean, text: string): string => `  [${ok ? 'met' : 'NOT met'}] ${text}`;
  out.push('Targets (issue 5):');
  out.push(target(g.optimal >= 0.95 * solved.length, `optimal GPU count on ≥95% of ILP-solved instances: ${pct(g.optimal, solved.length)}`));
  out.push(target(g.worst <= 1 && g.sameUnmet === solved.length, `never worse than +1 GPU (and never more unmet): worst +${g.worst}, unmet equal on ${pct(g.sameUnmet, solved.length)}`));
  out.push(target(g.movesOk >= 0.95 * solved.length, `moves ≤ ILP minimum + 1 on ≥95%: ${pct(g.movesOk, solved.length)}`));
  out.push(target(p99At512 <= 50, `p99 solve time ≤ 50 ms at 512 GPUs: ${p99At512.toFixed(1)} ms`));
  out.push(target(better('first-fit') && better('count-greedy'), 'strictly better than first-fit and count-only greedy on GPUs used or unmet demand across the suite'));
  out.push('', `total wall time ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
