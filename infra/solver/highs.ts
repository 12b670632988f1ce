/**
 * HiGHS (WebAssembly, npm `highs`, pinned 1.15.3) behind the {@link LpSolver} port (core/ports/lp-solver.ts). This is the only
 * file that loads a solver; the loader is async (it instantiates the wasm module), the returned solver is
 * synchronous. Each `solve` runs on a fresh native model, so the solver may be reused.
 */
import loadHighs from 'highs';
import type { LpResult, LpSolveOptions, LpSolver } from '../../core/ports/lp-solver';

/** Inferno's lp_solve timeout (notes/inferno.md §5.3). */
export const DEFAULT_MILP_TIME_LIMIT_SEC = 60;

function mapStatus(s: string): LpResult['status'] {
  switch (s) {
    case 'Optimal':
    case 'Empty':
      return 'optimal';
    case 'Infeasible':
      return 'infeasible';
    case 'Time limit reached':
    case 'Iteration limit reached':
      return 'time-limit';
    case 'Unbounded':
    case 'Primal infeasible or unbounded':
      return 'unbounded';
    default:
      return 'error';
  }
}

/** Loads the HiGHS wasm module and returns an {@link LpSolver}. */
export async function loadHighsSolver(): Promise<LpSolver> {
  const highs = await loadHighs();
  return (lp: string, options: LpSolveOptions = {}): LpResult => {
    const r = highs.solve(lp, {
      output_flag: false,
      time_limit: options.timeLimitSec ?? DEFAULT_MILP_TIME_LIMIT_SEC,
      ...(options.mipRelGap === undefined ? {} : { mip_rel_gap: options.mipRelGap }),
    });
    const status = mapStatus(r.Status);
    const columns = new Map<string, number>();
    if (status === 'optimal' || status === 'time-limit') {
      const cols = r.Columns as Record<string, { readonly Primal?: number }>;
      for (const [name, col] of Object.entries(cols)) if (col.Primal !== undefined && Number.isFinite(col.Primal)) columns.set(name, col.Primal);
    }
    return { status, solverStatus: r.Status, objective: columns.size > 0 ? r.ObjectiveValue : NaN, columns };
  };
}
