/** Test helpers of the planner's tests: the proposal example, and a make-before-break check of a plan's steps. */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getProfile } from '../../../../core/mig/geometry';
import { slotMask, type GpuState } from '../../../../core/mig/layout';
import type { MigPlan, PlannerInput, ServiceDemand } from '../../../../core/mig/planner/index';
import { deepFreeze } from '../fixtures';

const EXAMPLES = join(__dirname, '..', '..', '..', '..', 'examples', 'mig');

/** The proposal's example (examples/mig): free 2g + 1g fragments and a 3g request. Frozen: no algorithm may change its input. */
export function proposal(): PlannerInput {
  const state = JSON.parse(readFileSync(join(EXAMPLES, 'proposal-state.json'), 'utf8')) as { gpus: GpuState[] };
  const demand = JSON.parse(readFileSync(join(EXAMPLES, 'proposal-demand.json'), 'utf8')) as { services: ServiceDemand[] };
  return deepFreeze({ gpus: state.gpus, demand: demand.services });
}

/** Replays the plan's steps on the state, checking make-before-break: every create lands on free slots. */
export function replaySteps(input: PlannerInput, plan: MigPlan): void {
  const occupied = new Map<string, Map<string, number>>();
  for (const g of input.gpus) {
    const m = new Map<string, number>();
    for (const i of g.instances) if (i.owner !== null) m.set(i.id, slotMask(i.start, getProfile(g.model, i.profile).shape.memorySlots));
    occupied.set(`${g.node}/gpu${g.index}`, m);
  }
  const model = new Map(input.gpus.map((g) => [`${g.node}/gpu${g.index}`, g.model]));
  for (const step of plan.steps) {
    const key = `${step.node}/gpu${step.gpuIndex}`;
    const here = occupied.get(key)!;
    const mask = slotMask(step.start, getProfile(model.get(key)!, step.profile).shape.memorySlots);
    if (step.kind === 'create' || (step.kind === 'start' && !here.has(step.instanceId))) {
      const clash = [...here.entries()].filter(([, m]) => (m & mask) !== 0);
      expect(clash, `${step.kind} ${step.instanceId} lands on slots still in use`).to.deep.equal([]);
      here.set(step.instanceId, mask);
    }
    if (step.kind === 'destroy') here.delete(step.instanceId);
  }
}
