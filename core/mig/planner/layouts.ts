/**
 * Per-GPU layouts as profile counts (patterns.ts's multisets, on the planner's geometry objects):
 * which multisets of a set of profiles fit on a GPU around its pinned instances. The layout-count
 * model (layout-count.ts) and the pattern packing of large clusters (pattern-pack.ts) range over
 * them. Only maximal ones are listed: a GPU in use can always take the maximal layout above its own
 * and leave the extra instances uncreated, so nothing is lost for counting GPUs.
 */
import type { ModelGeometry, ProfileGeometry } from './tables.js';

/** A maximal layout: `counts[k]` instances of `profiles[k]` (the list it was enumerated for). */
export type LayoutCounts = readonly number[];

const memo = new Map<string, readonly LayoutCounts[]>();

/**
 * Every maximal multiset of `profiles` that fits on free slots `~pinnedMask` of a GPU of this
 * model, with at most one `+me` on the GPU (`pinnedMe`: one is pinned already). A GPU with pinned
 * slots cannot take the whole-GPU profile. Memoized per model, pinned slots and profile list.
 */
export function maximalLayouts(geometry: ModelGeometry, pinnedMask: number, pinnedMe: boolean, profiles: readonly ProfileGeometry[]): readonly LayoutCounts[] {
  const key = `${geometry.model.name}|${pinnedMask}|${pinnedMe ? 1 : 0}|${profiles.map((p) => p.name).join(',')}`;
  const known = memo.get(key);
  if (known !== undefined) return known;
  const positions = profiles.flatMap((profile, k) =>
    profile.spec.wholeGpu ? (pinnedMask === 0 ? [{ k, mask: geometry.fullMask, me: false }] : []) : profile.positions.map((p) => ({ k, mask: p.mask, me: profile.spec.mediaExtensions })),
  );
  const found = new Map<string, number[]>();
  const counts = profiles.map(() => 0);
  const search = (from: number, used: number, meUsed: boolean): void => {
    const id = counts.join(',');
    if (!found.has(id)) found.set(id, [...counts]);
    for (let i = from; i < positions.length; i++) {
      const p = positions[i];
      if (p === undefined || (p.mask & used) !== 0 || (p.me && meUsed)) continue;
      counts[p.k] = (counts[p.k] ?? 0) + 1;
      search(i + 1, used | p.mask, meUsed || p.me);
      counts[p.k] = (counts[p.k] ?? 0) - 1;
    }
  };
  search(0, pinnedMask, pinnedMe);
  const maximal = [...found.values()].filter((c) => c.some((n) => n > 0) && profiles.every((_, k) => !found.has(c.map((n, j) => (j === k ? n + 1 : n)).join(','))));
  memo.set(key, maximal);
  return maximal;
}
