/**
 * Rollouts that make no progress. A decision's rollout marker stays on its service until the
 * rollout function ends it, and while it stays no policy decides for the service. Where the
 * slice-reconfigured never reaches the rollout function (a scale-decided posted straight to the
 * reconfigure function gets its reply, not the broker; a crash between accepting a decision and
 * placing it), nothing would end it. The watch remembers when each rollout last showed progress —
 * a revision made, a replica started, ready or gone, traffic moved — and names the ones that showed
 * none for the timeout, so their caller can fail and release them. The timeout has to be longer
 * than the slowest model load: a replica loading shows no change until it is ready.
 * Pure: the caller passes the services and the time at each look.
 */
import type { GpuState } from '../mig/layout';
import type { ServiceView } from '../ports/cluster';
import { servingRevision } from './serving-revision';

export interface StuckRollout {
  readonly service: ServiceView;
  readonly decisionId: string;
  /** When the rollout last showed progress (or was first seen). */
  readonly sinceMs: number;
}

export interface RolloutWatch {
  /** Looks at every service; returns the rollouts without progress for the timeout, and forgets them. */
  observe(services: readonly ServiceView[], nowMs: number): StuckRollout[];
}

/** What a rollout would change in its service: a replica appearing, changing phase or going; a revision; the traffic. */
function progressOf(s: ServiceView): string {
  return JSON.stringify([s.generation, s.revisions.map((r) => [r.name, r.replicas.map((x) => `${x.id}:${x.phase}`)]), s.traffic]);
}

export function createRolloutWatch(timeoutMs: number): RolloutWatch {
  const seen = new Map<string, { decisionId: string; progress: string; sinceMs: number }>();
  return {
    observe(services, nowMs) {
      const stuck: StuckRollout[] = [];
      const rolling = new Set<string>();
      for (const s of services) {
        if (s.rollout === null) continue;
        rolling.add(s.name);
        const progress = progressOf(s);
        const last = seen.get(s.name);
        if (last === undefined || last.decisionId !== s.rollout || last.progress !== progress) {
          seen.set(s.name, { decisionId: s.rollout, progress, sinceMs: nowMs });
        } else if (nowMs - last.sinceMs >= timeoutMs) {
          stuck.push({ service: s, decisionId: s.rollout, sinceMs: last.sinceMs });
          seen.delete(s.name);
        }
      }
      for (const name of [...seen.keys()]) if (!rolling.has(name)) seen.delete(name);
      return stuck;
    },
  };
}

/** A stuck rollout's allocation: the revision it was for, and the MIG instances set aside for replicas it never started. */
export interface StuckAllocation {
  readonly revision: string;
  readonly profile: string;
  readonly gpuModel: string;
  readonly unstarted: readonly { readonly node: string; readonly gpu: number; readonly instanceId: string }[];
}

/**
 * The revision the decision made (a cold start or tier change), else the serving one (scale out
 * or in), and the instances owned by replica ids of that revision (`<revision>-<n>`, as the
 * reconfigure function names them) that no replica of the service has: reserved for the rollout,
 * used by nobody. Null when the decision got as far as no revision.
 */
export function stuckAllocation(s: ServiceView, decisionId: string, gpus: readonly GpuState[]): StuckAllocation | null {
  const revision = s.revisions.find((r) => r.decisionId === decisionId) ?? servingRevision(s);
  if (revision === undefined) return null;
  const replicas = new Set(s.revisions.flatMap((r) => r.replicas.map((x) => x.id)));
  const prefix = `${revision.name}-`;
  const reserved = (owner: string | null): boolean => owner !== null && owner.startsWith(prefix) && /^[0-9]+$/.test(owner.slice(prefix.length)) && !replicas.has(owner);
  const unstarted = gpus.flatMap((g) => g.instances.filter((i) => reserved(i.owner)).map((i) => ({ node: g.node, gpu: g.index, instanceId: i.id })));
  return { revision: revision.name, profile: revision.profile, gpuModel: revision.gpuModel, unstarted };
}

/** The GPUs holding `instances`, with those instances free (they stay: mig-manager keeps idle instances). */
export function freedLayouts(gpus: readonly GpuState[], instances: StuckAllocation['unstarted']): GpuState[] {
  const ids = new Set(instances.map((i) => i.instanceId));
  return gpus
    .filter((g) => g.instances.some((i) => ids.has(i.id)))
    .map((g) => ({ ...g, instances: g.instances.map((i) => (ids.has(i.id) ? { ...i, owner: null } : i)) }));
}
