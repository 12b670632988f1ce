/**
 * ssis.slice.reconfigured — the MIG slices for a decision exist (or are marked for release).
 * Producer: reconfigure fn. Consumer: rollout fn. Partition key: the model service.
 */
export const SLICE_RECONFIGURED = 'ssis.slice.reconfigured';

export type SliceAction = 'created' | 'reused' | 'release';

export interface SliceRef {
  readonly node: string;
  readonly gpu: number;
  readonly gpuModel: string;
  readonly profile: string;
  /** First memory slot of the instance (notes/mig.md §1.1); 0 for a full GPU. */
  readonly start: number;
  readonly sliceId: string;
  readonly action: SliceAction;
}

export interface GpuLayout {
  readonly node: string;
  readonly gpu: number;
  readonly gpuModel: string;
  readonly migEnabled: boolean;
  readonly instances: readonly { readonly profile: string; readonly start: number }[];
}

export interface SliceReconfigured {
  readonly decisionId: string;
  readonly service: string;
  readonly modelId: string;
  readonly fromGeneration: number;
  /** The revision that serves the target: new on a tier change, the current one on scale out/in. */
  readonly revision: string;
  readonly previousRevision: string | null;
  readonly profile: string;
  readonly replicas: number;
  readonly slices: readonly SliceRef[];
  /** Resulting layout of every GPU this decision changed. */
  readonly layouts: readonly GpuLayout[];
  readonly reconfiguredAt: string;
}
