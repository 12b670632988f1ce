/**
 * ssis.slice.reconfigured — the MIG slices for a decision exist (or are marked for release).
 * Producer: reconfigure fn. Consumer: rollout fn. Partition key: the model service.
 */
import { compileDataParser, JSON_SCHEMA_DIALECT, type DataSchema, type ObjectSchema } from './data-schema.js';
import {
  COUNT, GENERATION, MIG_START_SLOT, NON_EMPTY_STRING, NULLABLE_NON_EMPTY_STRING, PROFILE, SERVICE_NAME, TIMESTAMP,
} from './schema-fragments.js';

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
  /** The replica that runs (or ran, for `release`) on this slice. */
  readonly replica: string;
  readonly action: SliceAction;
}

export interface GpuLayout {
  readonly node: string;
  readonly gpu: number;
  readonly gpuModel: string;
  readonly migEnabled: boolean;
  readonly instances: readonly { readonly profile: string; readonly start: number }[];
}

/** A replica of ANOTHER revision moved make-before-break to make room (new replica ready before the old stopped). */
export interface ReplicaMoveRef {
  readonly service: string;
  readonly revision: string;
  /** The replica that was stopped. */
  readonly replica: string;
  /** The replica started in its place, on `to`. */
  readonly newReplica: string;
  readonly from: { readonly node: string; readonly gpu: number; readonly gpuModel: string; readonly profile: string; readonly start: number; readonly sliceId: string };
  readonly to: { readonly node: string; readonly gpu: number; readonly gpuModel: string; readonly profile: string; readonly start: number; readonly sliceId: string };
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
  readonly gpuModel: string;
  readonly replicas: number;
  readonly slices: readonly SliceRef[];
  /** Resulting layout of every GPU this decision changed. */
  readonly layouts: readonly GpuLayout[];
  /** Replicas of other revisions moved to make room, in the order carried out; absent when none moved. */
  readonly moves?: readonly ReplicaMoveRef[];
  readonly reconfiguredAt: string;
}

export const SLICE_ACTIONS = ['created', 'reused', 'release'] as const satisfies readonly SliceAction[];

const GPU_INDEX = { type: 'integer', minimum: 0, description: 'GPU index on the node' } as const;

const SLICE_REF_SCHEMA = {
  type: 'object',
  properties: {
    node: NON_EMPTY_STRING,
    gpu: GPU_INDEX,
    gpuModel: NON_EMPTY_STRING,
    profile: PROFILE,
    start: MIG_START_SLOT,
    sliceId: NON_EMPTY_STRING,
    replica: NON_EMPTY_STRING,
    action: { enum: SLICE_ACTIONS },
  },
  required: ['node', 'gpu', 'gpuModel', 'profile', 'start', 'sliceId', 'replica', 'action'],
  additionalProperties: false,
} as const satisfies ObjectSchema<SliceRef>;

const INSTANCE_SCHEMA = {
  type: 'object',
  properties: { profile: PROFILE, start: MIG_START_SLOT },
  required: ['profile', 'start'],
  additionalProperties: false,
} as const satisfies ObjectSchema<GpuLayout['instances'][number]>;

const GPU_LAYOUT_SCHEMA = {
  type: 'object',
  properties: {
    node: NON_EMPTY_STRING,
    gpu: GPU_INDEX,
    gpuModel: NON_EMPTY_STRING,
    migEnabled: { type: 'boolean' },
    instances: { type: 'array', items: INSTANCE_SCHEMA },
  },
  required: ['node', 'gpu', 'gpuModel', 'migEnabled', 'instances'],
  additionalProperties: false,
} as const satisfies ObjectSchema<GpuLayout>;

const MOVE_END_SCHEMA = {
  type: 'object',
  properties: { node: NON_EMPTY_STRING, gpu: GPU_INDEX, gpuModel: NON_EMPTY_STRING, profile: PROFILE, start: MIG_START_SLOT, sliceId: NON_EMPTY_STRING },
  required: ['node', 'gpu', 'gpuModel', 'profile', 'start', 'sliceId'],
  additionalProperties: false,
} as const satisfies ObjectSchema<ReplicaMoveRef['from']>;

const REPLICA_MOVE_SCHEMA = {
  type: 'object',
  properties: { service: SERVICE_NAME, revision: NON_EMPTY_STRING, replica: NON_EMPTY_STRING, newReplica: NON_EMPTY_STRING, from: MOVE_END_SCHEMA, to: MOVE_END_SCHEMA },
  required: ['service', 'revision', 'replica', 'newReplica', 'from', 'to'],
  additionalProperties: false,
} as const satisfies ObjectSchema<ReplicaMoveRef>;

export const SLICE_RECONFIGURED_SCHEMA = {
  $schema: JSON_SCHEMA_DIALECT,
  title: SLICE_RECONFIGURED,
  type: 'object',
  properties: {
    decisionId: NON_EMPTY_STRING,
    service: SERVICE_NAME,
    modelId: NON_EMPTY_STRING,
    fromGeneration: GENERATION,
    revision: NON_EMPTY_STRING,
    previousRevision: NULLABLE_NON_EMPTY_STRING,
    profile: PROFILE,
    gpuModel: NON_EMPTY_STRING,
    replicas: COUNT,
    slices: { type: 'array', items: SLICE_REF_SCHEMA },
    layouts: { type: 'array', items: GPU_LAYOUT_SCHEMA },
    moves: { type: 'array', items: REPLICA_MOVE_SCHEMA },
    reconfiguredAt: TIMESTAMP,
  },
  required: [
    'decisionId', 'service', 'modelId', 'fromGeneration', 'revision', 'previousRevision', 'profile', 'gpuModel', 'replicas', 'slices',
    'layouts',
    'reconfiguredAt',
  ],
  additionalProperties: false,
} as const satisfies DataSchema<SliceReconfigured>;

const validateSliceReconfigured = compileDataParser<SliceReconfigured>(SLICE_RECONFIGURED, SLICE_RECONFIGURED_SCHEMA);

/**
 * Checks untrusted data against SLICE_RECONFIGURED_SCHEMA.
 * @throws {SsisError} SSIS_INVALID_EVENT naming every bad field (`data.slices[0].start`, ...)
 */
export function parseSliceReconfigured(data: unknown): SliceReconfigured {
  return validateSliceReconfigured(data);
}
