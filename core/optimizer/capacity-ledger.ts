/**
 * Capacity as the Greedy solver sees it. Inferno counts cards per accelerator type (§5.2: a candidate
 * needs accCount · multiplicity cards of its type per replica). MIG slices and MPS shares cannot be
 * counted that way (two 3g.20gb fill an A100 that one 4g.20gb + one 3g.20gb also fill, while 3g + 2g +
 * 1g + 1g do not fit), so the solver asks a ledger instead: Inferno's card ledger for the published
 * behaviour, the partition ledger (partition-capacity.ts) for GPUs shared by slices.
 */
import type { Allocation } from './allocation';

/** A candidate allocation plus what the capacity check needs. Mutable: best effort rescales it. */
export interface Candidate {
  alloc: Allocation;
  /** Card type; undefined when the accelerator is unknown (the "" zero-load allocation). */
  readonly accType: string | undefined;
  /** accCount · multiplicity cards per replica. */
  readonly unitsPerReplica: number;
}

export interface CapacityLedger {
  /** Most replicas of `c` (at most `wanted`) that fit in what is left; 0 when none does. */
  fit(c: Candidate, wanted: number): number;
  /** Takes `replicas` replicas of `c` (the caller checked that they fit). */
  take(c: Candidate, replicas: number): void;
  /** Cards (or GPUs) left per type, for reports. */
  remaining(): Map<string, number>;
}

/** Inferno's own accounting: integer cards per accelerator type. */
export function cardLedger(capacity: ReadonlyMap<string, number>): CapacityLedger {
  const available = new Map(capacity);
  return {
    fit(c, wanted) {
      if (c.accType === undefined) return 0;
      // Go divides nothing here: a type with multiplicity 0 takes no cards, so every replica "fits".
      if (c.unitsPerReplica <= 0) return wanted;
      const have = available.get(c.accType) ?? 0;
      return Math.min(Math.trunc(have / c.unitsPerReplica), wanted);
    },
    take(c, replicas) {
      if (c.accType === undefined) return;
      available.set(c.accType, (available.get(c.accType) ?? 0) - replicas * c.unitsPerReplica);
    },
    remaining: () => new Map(available),
  };
}
