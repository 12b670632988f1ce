/** Test helpers of the planner's tests: the proposal example, and a make-before-break check of a plan's steps. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GpuState } from '../../../../core/mig/layout';
import type { PlannerInput, ServiceDemand } from '../../../../core/mig/planner/index';
import { deepFreeze } from '../fixtures';

const EXAMPLES = join(__dirname, '..', '..', '..', '..', 'examples', 'mig');

/** The proposal's example (examples/mig): free 2g + 1g fragments and a 3g request. Frozen: no algorithm may change its input. */
export function proposal(): PlannerInput {
  const state = JSON.parse(readFileSync(join(EXAMPLES, 'proposal-state.json'), 'utf8')) as { gpus: GpuState[] };
  const demand = JSON.parse(readFileSync(join(EXAMPLES, 'proposal-demand.json'), 'utf8')) as { services: ServiceDemand[] };
  return deepFreeze({ gpus: state.gpus, demand: demand.services });
}

/** The replay that models every instance, owned or free (test/support/mig-planner.ts). */
export { replaySteps } from '../../../support/mig-planner';
