/**
 * ssis.placement.failed (secondary) — a decision's slices could not be placed: the demand is
 * reported, never silently dropped. Producer: reconfigure fn. Consumers: evaluate fn (backs off
 * that tier, tries scale out) and request fn dispatch stage (fails held requests with the reason).
 */
export const PLACEMENT_FAILED = 'ssis.placement.failed';

export interface PlacementFailed {
  readonly decisionId: string;
  readonly service: string;
  readonly modelId: string;
  readonly fromGeneration: number;
  readonly requested: { readonly profile: string; readonly replicas: number };
  readonly reason: string;
  readonly failedAt: string;
}
