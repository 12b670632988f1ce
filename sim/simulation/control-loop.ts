/**
 * One run of the policy's control loop: every service sampled (and its window started afresh),
 * the policy's decisions queued for actuation after the decision delay, the next run scheduled.
 */
import { EventKind, type Simulation } from './context';
import { emptyWindow } from './runtime';
import { sampleService } from './sampling';

export function controlTick(sim: Simulation, t: number): void {
  const { services, policy, queue, commands } = sim;
  const samples = services.map((s) => sampleService(sim, s, t));
  for (const s of services) s.w = emptyWindow();
  for (const c of policy.decide(sim.policyContext, samples, t)) {
    sim.accounting.decisions++;
    commands.push(c);
    queue.push(t + sim.scenario.delays.decisionSec * 1000, EventKind.actuate, commands.length - 1);
  }
  queue.push(t + policy.intervalSec! * 1000, EventKind.tick, 0);
}

/** The first run, for a policy that has a control loop. */
export function scheduleFirstTick(sim: Simulation): void {
  if (sim.policy.intervalSec !== null) sim.queue.push(sim.policy.intervalSec * 1000, EventKind.tick, 0);
}
