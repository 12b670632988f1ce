/**
 * The "match" half of the planner: from the packing (repack.ts: every replica's GPU, profile and
 * position) to the plan value.
 *
 * Replicas of one service and profile are interchangeable, so identities are matched last: a
 * running replica whose exact position (GPU, profile, start) is taken by its service stays; the
 * other running replicas of that service, profile and model take its remaining positions (moves);
 * new replicas take the rest. Moves are then ordered make-before-break: a move whose target overlaps
 * the origin of another move runs after it (plan-builder.ts: a target may only use slots free at commit
 * time). A cycle of such waits has no valid order; the packing is then refused (undefined) and the
 * caller falls back to a pass that never targets held slots.
 */
import { unmetReason } from './order.js';
import type { Service } from './problem.js';
import type { Bin, Packer, PackItem, Slot } from './repack.js';
import type { MigPlan } from './types.js';
import { isMovable, type WorkInstance } from './plan-builder.js';

interface Mover {
  readonly from: Bin;
  readonly instance: WorkInstance;
  readonly to: Bin;
  readonly slot: Slot;
}

const groupKey = (service: Service, slot: Pick<Slot, 'profile'>): string => `${service.name}\u0000${slot.profile.name}`;

/** Moves ordered so each runs after the moves that vacate its target (Kahn's algorithm), or one cycle of waits. */
type Ordering = { readonly ordered: readonly Mover[] } | { readonly cycle: readonly Mover[] };

function orderMoves(movers: readonly Mover[]): Ordering {
  const leaving = new Map<Bin, Mover[]>();
  for (const m of movers) {
    const list = leaving.get(m.from) ?? [];
    list.push(m);
    leaving.set(m.from, list);
  }
  const waiting = new Map<Mover, number>();
  const blockedBy = new Map<Mover, Mover[]>();
  const unblocks = new Map<Mover, Mover[]>();
  for (const m of movers) {
    const blockers = (leaving.get(m.to) ?? []).filter((o) => o !== m && (o.instance.mask & m.slot.position.mask) !== 0);
    waiting.set(m, blockers.length);
    blockedBy.set(m, blockers);
    for (const o of blockers) {
      const list = unblocks.get(o) ?? [];
      list.push(m);
      unblocks.set(o, list);
    }
  }
  const ready = movers.filter((m) => waiting.get(m) === 0);
  const out: Mover[] = [];
  for (let k = 0; k < ready.length; k++) {
    const m = ready[k];
    if (m === undefined) continue;
    out.push(m);
    for (const next of unblocks.get(m) ?? []) {
      const left = (waiting.get(next) ?? 0) - 1;
      waiting.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  if (out.length === movers.length) return { ordered: out };
  // Every move left waits on another move left: walking back along waits must close a cycle.
  const done = new Set(out);
  const path: Mover[] = [];
  let at = movers.find((m) => !done.has(m));
  while (at !== undefined && !path.includes(at)) {
    path.push(at);
    at = blockedBy.get(at)?.find((o) => !done.has(o));
  }
  return { cycle: at === undefined ? path : path.slice(path.indexOf(at)) };
}

/**
 * A cycle of make-before-break waits among the packing's moves (each member's target overlaps the
 * next one's origin), or undefined when the moves can be ordered. The exact stage forbids such a
 * cycle and solves again.
 */
export function moveCycle(packer: Packer): readonly { readonly to: Bin; readonly slot: Slot; readonly from: Bin; readonly instance: WorkInstance }[] | undefined {
  const matched = match(packer);
  if (matched === undefined) return undefined;
  const ordering = orderMoves(matched.movers);
  return 'cycle' in ordering ? ordering.cycle : undefined;
}

/**
 * Match (see the file comment): running replicas that keep their exact position stay, the others
 * take their service's remaining positions of their profile (moves), and the positions left over
 * go to new replicas, per service. Undefined when a running replica finds no position.
 */
function match(packer: Packer): { movers: Mover[]; newSlots: Map<Service, { bin: Bin; slot: Slot }[]> } | undefined {
  const bins = [...packer.bins].sort((a, b) => a.gpu.order - b.gpu.order);
  const stays = new Set<WorkInstance>();
  const openSlots = new Map<string, { bin: Bin; slot: Slot }[]>();
  for (const bin of bins) {
    const origins = bin.gpu.instances.filter(isMovable);
    for (const slot of bin.slots) {
      const service = slot.item.service;
      const kept = origins.find((i) => !stays.has(i) && i.service === service && i.profile === slot.profile && i.start === slot.position.start);
      if (kept !== undefined) {
        stays.add(kept);
        continue;
      }
      const key = groupKey(service, slot);
      const list = openSlots.get(key) ?? [];
      list.push({ bin, slot });
      openSlots.set(key, list);
    }
  }
  const movers: Mover[] = [];
  const running = packer.items.filter((it): it is PackItem & { origin: NonNullable<PackItem['origin']> } => it.origin !== null).sort((a, b) => a.origin.bin.gpu.order - b.origin.bin.gpu.order || a.origin.instance.start - b.origin.instance.start);
  for (const item of running) {
    if (stays.has(item.origin.instance)) continue;
    const list = openSlots.get(groupKey(item.service, item.origin.instance)) ?? [];
    // Same profile object means the same model; prefer a target clear of held slots (fewer waits).
    const candidates = list.filter((t) => t.slot.profile === item.origin.instance.profile);
    const target = candidates.find((t) => (t.slot.position.mask & t.bin.heldMask) === 0) ?? candidates[0];
    if (target === undefined) return undefined;
    list.splice(list.indexOf(target), 1);
    movers.push({ from: item.origin.bin, instance: item.origin.instance, to: target.bin, slot: target.slot });
  }
  const newSlots = new Map<Service, { bin: Bin; slot: Slot }[]>();
  for (const list of openSlots.values()) {
    for (const t of list) {
      const mine = newSlots.get(t.slot.item.service) ?? [];
      mine.push(t);
      newSlots.set(t.slot.item.service, mine);
    }
  }
  return { movers, newSlots };
}

export function emitPlan(packer: Packer, unplaced: ReadonlyMap<Service, number>, allowMoves: boolean, algorithm = 'planner'): MigPlan | undefined {
  const builder = packer.builder;
  const bins = [...packer.bins].sort((a, b) => a.gpu.order - b.gpu.order);
  const matched = match(packer);
  if (matched === undefined) return undefined;
  const { movers, newSlots } = matched;
  if (!allowMoves && movers.length > 0) return undefined;
  const ordering = orderMoves(movers);
  if (!('ordered' in ordering)) return undefined;
  const ordered = ordering.ordered;
  const emptied = new Set(bins.filter((b) => b.pinnedCount === 0 && b.slots.length === 0 && b.heldMask !== 0));
  for (const m of ordered) {
    builder.move(m.from.gpu, m.instance, m.to.gpu, m.slot.position, emptied.has(m.from) ? 'consolidate' : 'repartition');
  }
  for (const service of packer.problem.services) {
    const slots = newSlots.get(service) ?? [];
    const ids = [...service.newIds];
    for (const { bin, slot } of slots) {
      const id = ids.shift();
      if (id !== undefined) builder.place(bin.gpu, slot.profile, slot.position, service, id);
    }
  }
  for (const [service, count] of unplaced) {
    const what = allowMoves
      ? 'no free position on an unused GPU, and none on a GPU in use that moving only movable replicas can free'
      : 'no free position clear of running replicas';
    builder.addUnmet({ service: service.name, priority: service.priority, profiles: service.profileLabel, requested: service.newIds.length, unmet: count, reason: unmetReason(builder, service, count, service.newIds.length, what) });
  }
  return builder.finish(algorithm);
}
