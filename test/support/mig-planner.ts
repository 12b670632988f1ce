/**
 * Checks a MIG plan's steps the way hardware would take them: every instance of the state is
 * modelled, owned or free. A create must land on slots no instance covers and name an instance
 * that does not exist yet; a destroy (or destroy-free) must name one that exists and that no
 * replica runs on; a start needs an existing instance nobody runs on; a stop needs its replica on
 * the step's instance. After the last step each GPU must hold exactly the plan's target layout.
 */
import { expect } from 'chai';
import { getProfile } from '../../core/mig/geometry';
import { slotMask, type MigInstance } from '../../core/mig/layout';
import type { MigPlan, PlannerInput, PlanStep } from '../../core/mig/planner/types';

interface Modelled {
  readonly profile: string;
  readonly start: number;
  readonly mask: number;
  owner: string | null;
}

const gpuKey = (node: string, index: number): string => `${node}/gpu${index}`;

function stepText(step: PlanStep): string {
  return `${step.kind} ${step.instanceId}${step.replica === undefined ? '' : ` (${step.replica})`}`;
}

/** Replays the plan's steps on the state (see the file comment); fails the test at the first impossible step. */
export function replaySteps(input: PlannerInput, plan: MigPlan): void {
  const gpus = new Map<string, Map<string, Modelled>>();
  const models = new Map<string, string>();
  for (const g of input.gpus) {
    const here = new Map<string, Modelled>();
    for (const i of g.instances) here.set(i.id, { profile: i.profile, start: i.start, mask: slotMask(i.start, getProfile(g.model, i.profile).shape.memorySlots), owner: i.owner });
    gpus.set(gpuKey(g.node, g.index), here);
    models.set(gpuKey(g.node, g.index), g.model);
  }
  for (const step of plan.steps) {
    const key = gpuKey(step.node, step.gpuIndex);
    const here = gpus.get(key);
    const model = models.get(key);
    expect(here, `${stepText(step)}: no such GPU`).to.not.equal(undefined);
    if (here === undefined || model === undefined) return;
    const existing = here.get(step.instanceId);
    switch (step.kind) {
      case 'create': {
        expect(existing, `${stepText(step)}: the instance exists already`).to.equal(undefined);
        const mask = slotMask(step.start, getProfile(model, step.profile).shape.memorySlots);
        const clash = [...here.entries()].filter(([, i]) => (i.mask & mask) !== 0).map(([id, i]) => `${id} (${i.owner ?? 'free'})`);
        expect(clash, `${stepText(step)} lands on slots an instance still covers`).to.deep.equal([]);
        here.set(step.instanceId, { profile: step.profile, start: step.start, mask, owner: null });
        break;
      }
      case 'start':
        expect(existing, `${stepText(step)}: no such instance`).to.not.equal(undefined);
        expect(existing?.owner ?? null, `${stepText(step)}: a replica runs on the instance`).to.equal(null);
        if (existing !== undefined) existing.owner = step.replica ?? null;
        break;
      case 'stop':
        expect(existing?.owner, `${stepText(step)}: the replica does not run on the instance`).to.equal(step.replica);
        if (existing !== undefined) existing.owner = null;
        break;
      case 'destroy':
      case 'destroy-free':
        expect(existing, `${stepText(step)}: no such instance`).to.not.equal(undefined);
        expect(existing?.owner ?? null, `${stepText(step)}: a replica still runs on the instance`).to.equal(null);
        here.delete(step.instanceId);
        break;
    }
  }
  const layout = (instances: Iterable<readonly [string, Pick<MigInstance, 'profile' | 'start' | 'owner'>]>): string[] =>
    [...instances].map(([id, i]) => `${id} ${i.profile}@${i.start} ${i.owner ?? 'free'}`).sort();
  for (const target of plan.gpus) {
    const key = gpuKey(target.node, target.index);
    expect(layout(gpus.get(key)?.entries() ?? []), `${key} after the steps`).to.deep.equal(layout(target.instances.map((i) => [i.id, i] as const)));
  }
}
