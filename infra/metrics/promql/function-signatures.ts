/** Argument and result types of the supported PromQL functions, checked at parse time as Prometheus does. */
import type { ValueType } from './ast';

export interface FunctionSignature {
  readonly argTypes: readonly ValueType[];
  /** How many trailing arguments may be left out. */
  readonly optionalArgs: number;
  readonly returnType: ValueType;
}

const vectorToVector: FunctionSignature = { argTypes: ['vector'], optionalArgs: 0, returnType: 'vector' };
const matrixToVector: FunctionSignature = { argTypes: ['matrix'], optionalArgs: 0, returnType: 'vector' };

export const FUNCTION_SIGNATURES: Readonly<Record<string, FunctionSignature>> = {
  abs: vectorToVector,
  ceil: vectorToVector,
  floor: vectorToVector,
  exp: vectorToVector,
  sqrt: vectorToVector,
  ln: vectorToVector,
  log2: vectorToVector,
  log10: vectorToVector,
  sgn: vectorToVector,
  round: { argTypes: ['vector', 'scalar'], optionalArgs: 1, returnType: 'vector' },
  clamp: { argTypes: ['vector', 'scalar', 'scalar'], optionalArgs: 0, returnType: 'vector' },
  clamp_min: { argTypes: ['vector', 'scalar'], optionalArgs: 0, returnType: 'vector' },
  clamp_max: { argTypes: ['vector', 'scalar'], optionalArgs: 0, returnType: 'vector' },
  scalar: { argTypes: ['vector'], optionalArgs: 0, returnType: 'scalar' },
  vector: { argTypes: ['scalar'], optionalArgs: 0, returnType: 'vector' },
  time: { argTypes: [], optionalArgs: 0, returnType: 'scalar' },
  histogram_quantile: { argTypes: ['scalar', 'vector'], optionalArgs: 0, returnType: 'vector' },
  rate: matrixToVector,
  increase: matrixToVector,
  delta: matrixToVector,
  irate: matrixToVector,
  idelta: matrixToVector,
  changes: matrixToVector,
  resets: matrixToVector,
  avg_over_time: matrixToVector,
  min_over_time: matrixToVector,
  max_over_time: matrixToVector,
  sum_over_time: matrixToVector,
  count_over_time: matrixToVector,
  last_over_time: matrixToVector,
  present_over_time: matrixToVector,
  stddev_over_time: matrixToVector,
  stdvar_over_time: matrixToVector,
  quantile_over_time: { argTypes: ['scalar', 'matrix'], optionalArgs: 0, returnType: 'vector' },
};
