/**
 * Carries out a MIG plan's steps (planner/types.ts PlanStep) in their order through a cluster:
 * instances created and destroyed at their positions, replicas started and stopped. The plan is a
 * value; this is the one place that turns it into actions.
 *
 * Idempotent, so a crashed run can simply run again: a layout already as desired is not applied
 * (desired = current → no call); creating an instance that exists at that position claims it,
 * destroying one that is gone does nothing; a replica is stopped only while it holds the step's
 * instance; starting one that runs is the port's no-op. Consecutive layout steps are applied together, just before the
 * next start or stop, because on a real node each apply is one repartition by the GPU operator.
 *
 * Make-before-break holds by the plan's order (create, start, stop, destroy). Should a start
 * fail, the replica and the instance made for it are removed again before the error goes on: what
 * ran before keeps running.
 */
import { SsisError } from '../errors';
import { WHOLE_GPU_PROFILE } from './geometry';
import type { PlanStep } from './planner/types';
import type { GpuState, MigInstance } from './layout';

export interface ActuationPort {
  gpus(): readonly GpuState[];
  applyGpuLayouts(layouts: readonly GpuState[]): Promise<void>;
  /** Starts `replica` on the step's instance and resolves once it is ready. */
  startReplica(replica: string, step: PlanStep): Promise<void>;
  stopReplica(replica: string, step: PlanStep): Promise<void>;
}

export interface ActuationOptions {
  /**
   * The id a step's replica runs under once this run starts it; the plan's own id by default. A
   * moved replica may need a fresh one (a Knative Revision, which is a replica here, never moves).
   */
  readonly replicaIdOf?: (step: PlanStep) => string;
  /** Start steps the caller carries out later itself; their instances are still claimed for the replica. */
  readonly deferStart?: (step: PlanStep) => boolean;
}

const keyOf = (node: string, index: number): string => `${node}/${index}`;

/** The working copy of the GPUs the steps touch, and which of them differ from the cluster. */
class LayoutDraft {
  private readonly draft = new Map<string, GpuState>();
  private readonly dirty = new Set<string>();

  constructor(private readonly port: ActuationPort) {}

  gpu(step: PlanStep): GpuState {
    const key = keyOf(step.node, step.gpuIndex);
    let gpu = this.draft.get(key);
    if (gpu === undefined) {
      const current = this.port.gpus().find((g) => g.node === step.node && g.index === step.gpuIndex);
      if (current === undefined) throw new SsisError('SSIS_NOT_FOUND', `plan step ${step.kind} ${step.instanceId}: no GPU ${step.node}/gpu${step.gpuIndex} in the cluster`);
      gpu = { ...current, instances: current.instances.map((i) => ({ ...i })) };
      this.draft.set(key, gpu);
    }
    return gpu;
  }

  change(step: PlanStep, instances: MigInstance[]): void {
    const gpu = this.gpu(step);
    gpu.instances = instances.sort((a, b) => a.start - b.start);
    // The mode follows what the GPU holds, as the planner's target layouts do: the whole-GPU
    // pseudo-profile needs MIG off, any MIG instance needs it on, an empty GPU keeps its mode.
    if (instances.some((i) => i.profile === WHOLE_GPU_PROFILE)) gpu.migEnabled = false;
    else if (instances.length > 0) gpu.migEnabled = true;
    this.dirty.add(keyOf(step.node, step.gpuIndex));
  }

  /** Applies the GPUs that differ from the cluster's, and forgets the draft. */
  async flush(): Promise<void> {
    const changed = [...this.dirty]
      .map((key) => this.draft.get(key)!)
      .filter((g) => {
        const current = this.port.gpus().find((c) => c.node === g.node && c.index === g.index);
        return current === undefined || JSON.stringify(normalised(current)) !== JSON.stringify(normalised(g));
      });
    this.draft.clear();
    this.dirty.clear();
    if (changed.length > 0) await this.port.applyGpuLayouts(changed);
  }
}

function normalised(g: GpuState): unknown {
  return { migEnabled: g.migEnabled, instances: [...g.instances].sort((a, b) => a.start - b.start).map((i) => [i.id, i.profile, i.start, i.owner]) };
}

function samePosition(i: MigInstance, step: PlanStep): boolean {
  return i.id === step.instanceId || (i.profile === step.profile && i.start === step.start);
}

export async function carryOutSteps(steps: readonly PlanStep[], port: ActuationPort, options: ActuationOptions = {}): Promise<void> {
  const replicaIdOf = options.replicaIdOf ?? ((s: PlanStep) => s.replica ?? '');
  const draft = new LayoutDraft(port);
  const claim = (step: PlanStep, owner: string | null): void => {
    const gpu = draft.gpu(step);
    const existing = gpu.instances.find((i) => samePosition(i, step));
    if (existing !== undefined && existing.owner !== null && existing.owner !== owner && owner !== null) {
      throw new SsisError('SSIS_GEOMETRY_VIOLATION', `plan step ${step.kind} ${step.instanceId}: the instance is owned by ${existing.owner}`, { issues: [{ field: step.instanceId, message: 'in use' }] });
    }
    const others = gpu.instances.filter((i) => i !== existing);
    draft.change(step, [...others, { id: existing?.id ?? step.instanceId, profile: existing?.profile ?? step.profile, start: step.start, owner }]);
  };
  const remove = (step: PlanStep, mayOwn: string | null): void => {
    const gpu = draft.gpu(step);
    const existing = gpu.instances.find((i) => samePosition(i, step));
    if (existing === undefined) return;
    if (existing.owner !== null && existing.owner !== mayOwn) {
      throw new SsisError('SSIS_GEOMETRY_VIOLATION', `plan step ${step.kind} ${step.instanceId}: the instance is still used by ${existing.owner}`, { issues: [{ field: step.instanceId, message: 'in use' }] });
    }
    draft.change(step, gpu.instances.filter((i) => i !== existing));
  };

  for (const step of steps) {
    switch (step.kind) {
      case 'destroy-free':
        remove(step, null);
        break;
      case 'create':
        claim(step, step.replica === undefined ? null : replicaIdOf(step));
        break;
      case 'destroy':
        remove(step, step.replica ?? null);
        break;
      case 'start': {
        const replica = replicaIdOf(step);
        claim(step, replica);
        if (options.deferStart?.(step) === true) break;
        await draft.flush();
        try {
          await port.startReplica(replica, step);
        } catch (err) {
          // Break nothing that runs: the replica that did not start and its new instance go again.
          await port.stopReplica(replica, step).catch(() => undefined);
          remove(step, replica);
          await draft.flush().catch(() => undefined);
          throw err;
        }
        break;
      }
      case 'stop': {
        // Only the replica on this instance: run again after a move under the same id, the step
        // must not stop the replica that now runs at the new place.
        const onIt = draft.gpu(step).instances.find((i) => samePosition(i, step))?.owner === step.replica;
        if (!onIt || step.replica === undefined) break;
        await draft.flush();
        await port.stopReplica(step.replica, step);
        break;
      }
    }
  }
  await draft.flush();
}
