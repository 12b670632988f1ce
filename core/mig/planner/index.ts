/** The MIG placement planner (exact MIG layouts and make-before-break moves for a demand), its baselines, the exact ILP and the layout-count bound. */
export * from './types.js';
export { EXACT_ALGORITHM, planMig, planMigExactly, type PlanMigOptions } from './planner.js';
export { EXACT_BUDGET_SEC, EXACT_MAX_GPUS, EXACT_STAGE_LIMIT_SEC, type ExactStageOptions } from './exact.js';
export { planBestFit, planCountGreedy, planFirstFit } from './baselines.js';
export { solveMigIlp, type IlpStage, type IlpStageName, type MigIlpOptions, type MigIlpResult } from './ilp.js';
export { buildProblem } from './problem.js';
export { solveLayoutCountIlp, type LayoutCountOptions, type LayoutCountResult } from './layout-count.js';
