/**
 * The solver port: LP and MIP models written in CPLEX LP format, solved by whatever engine the
 * wiring injects (HiGHS in infra/solver/). The optimizer's MILP and the MIG planner's exact stage
 * both solve through it, so core never loads a solver itself.
 */

export interface LpSolveOptions {
  /** Wall-clock limit in seconds. */
  readonly timeLimitSec?: number;
  /** Relative MIP gap at which the solver may stop (HiGHS default 1e-4). */
  readonly mipRelGap?: number;
}

/** Outcome of one LP/MIP solve, solver-neutral. */
export interface LpResult {
  /** 'optimal' | 'infeasible' | 'time-limit' | 'unbounded' | 'error'. */
  readonly status: 'optimal' | 'infeasible' | 'time-limit' | 'unbounded' | 'error';
  /** Solver's own status text. */
  readonly solverStatus: string;
  /** NaN when no solution. */
  readonly objective: number;
  /** Column name → primal value; empty when no solution. */
  readonly columns: ReadonlyMap<string, number>;
}

/** Solves a model written in CPLEX LP format. */
export type LpSolver = (lp: string, options?: LpSolveOptions) => LpResult;
