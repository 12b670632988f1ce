/**
 * Feasible per-GPU layouts as multisets of profiles ("patterns"), enumerated by depth-first search
 * over placements exactly as mig.md §1.7 describes. A multiset is feasible iff some placement of
 * it has no overlapping memory slots and at most one `+me`. §1.7's counts (A100/H100/H200: 38
 * feasible and 12 maximal without the two-slot 1g, 78 and 28 with it; A30: 4 maximal) are pinned
 * by the tests, and the pattern ILP of §5.3 ranges over this list.
 */
import { getGpuModel, isTwoSlotOneG, type GpuModelRef, type MigProfileSpec } from './geometry.js';
import { slotMask } from './layout.js';

export interface PatternOptions {
  /** Include the two-slot 1g profile ("2s", §1.7). Default true. */
  readonly includeTwoSlotOneG?: boolean;
  /** Include `+me` profiles. Default false: they repeat a plain profile's shape (§1.7 counts exclude them). */
  readonly includeMediaExtensions?: boolean;
}

export interface PatternPlacement {
  readonly profile: string;
  readonly start: number;
}

export interface LayoutPattern {
  /** Profile name → count, non-zero counts only, in table order. */
  readonly counts: Readonly<Record<string, number>>;
  /** One placement that realizes the multiset (the first the search found). */
  readonly placement: readonly PatternPlacement[];
}

/** The profiles a pattern may use under these options, in table order. */
export function patternProfiles(model: GpuModelRef, options: PatternOptions = {}): MigProfileSpec[] {
  const includeTwoSlot = options.includeTwoSlotOneG ?? true;
  const includeMe = options.includeMediaExtensions ?? false;
  return getGpuModel(model).profiles.filter((p) => (includeTwoSlot || !isTwoSlotOneG(p)) && (includeMe || !p.mediaExtensions));
}

/** A stable key of a multiset: `name×count` joined by `+` in the order given. */
export function patternKey(counts: Readonly<Record<string, number>>, profileOrder: readonly string[]): string {
  return profileOrder.filter((name) => (counts[name] ?? 0) > 0).map((name) => `${name}×${counts[name] ?? 0}`).join('+');
}

interface Position {
  readonly profile: MigProfileSpec;
  readonly profilePosition: number;
  readonly start: number;
  readonly mask: number;
}

/** Every feasible multiset, the empty one included, each with a witness placement. */
export function feasiblePatterns(model: GpuModelRef, options: PatternOptions = {}): LayoutPattern[] {
  const profiles = patternProfiles(model, options);
  const order = profiles.map((p) => p.name);
  const positions: Position[] = profiles.flatMap((profile, profilePosition) =>
    profile.starts.map((start) => ({ profile, profilePosition, start, mask: slotMask(start, profile.shape.memorySlots) })),
  );
  const found = new Map<string, LayoutPattern>();
  const counts = profiles.map(() => 0);
  const chosen: Position[] = [];

  const record = (): void => {
    const named: Record<string, number> = {};
    counts.forEach((count, i) => {
      const name = order[i];
      if (count > 0 && name !== undefined) named[name] = count;
    });
    const key = patternKey(named, order);
    if (!found.has(key)) found.set(key, { counts: named, placement: chosen.map((p) => ({ profile: p.profile.name, start: p.start })) });
  };

  const search = (from: number, occupied: number, mediaExtensionsUsed: boolean): void => {
    record();
    for (let i = from; i < positions.length; i++) {
      const position = positions[i];
      if (position === undefined || (position.mask & occupied) !== 0) continue;
      if (position.profile.mediaExtensions && mediaExtensionsUsed) continue;
      const count = counts[position.profilePosition] ?? 0;
      if (count >= position.profile.maxCount) continue;
      counts[position.profilePosition] = count + 1;
      chosen.push(position);
      search(i + 1, occupied | position.mask, mediaExtensionsUsed || position.profile.mediaExtensions);
      chosen.pop();
      counts[position.profilePosition] = count;
    }
  };
  search(0, 0, false);
  return [...found.values()];
}

/** The feasible multisets to which no instance of any allowed profile can be added. */
export function maximalPatterns(model: GpuModelRef, options: PatternOptions = {}): LayoutPattern[] {
  const order = patternProfiles(model, options).map((p) => p.name);
  const all = feasiblePatterns(model, options);
  const keys = new Set(all.map((p) => patternKey(p.counts, order)));
  return all.filter((pattern) =>
    order.every((name) => !keys.has(patternKey({ ...pattern.counts, [name]: (pattern.counts[name] ?? 0) + 1 }, order))),
  );
}
