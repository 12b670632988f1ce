/**
 * Inferno's optimizer JSON documents (notes/inferno.md §2), read as Inferno's Go code reads them:
 *  - object keys match case-insensitively, like Go's encoding/json (`milpsolver`, `AvgInTokens`); when one
 *    object holds several spellings of a key, the last one in document order wins (as in Go);
 *  - absent fields take Go's zero value unless the field is required for the optimizer to work;
 *  - service class priority outside [1, 100] (or absent) becomes 100, a server's empty class becomes "Free",
 *    an unknown/absent saturation policy becomes "None", `accCount` <= 0 counts as 1 (`model.NumInstances`).
 * Only Gen 2/3 performance data (`perfParms{alpha,beta,gamma}`) is accepted; Gen 0 (`alpha`/`beta` at top
 * level, `slo-ttw`, `avgLength`) and Gen 1 (`decodeParms`/`prefillParms`) documents are refused with a message
 * naming the file and field. Every problem is collected and reported at once, each with `file:path`
 * (e.g. `model-data.json:models[3].perfParms.beta`), in one SsisError 'SSIS_INVALID_CONFIG'.
 */
import { validationError, type FieldIssue } from '../errors';
import type { PerfParams } from './analyzer';

export interface PowerSpec { readonly idle: number; readonly full: number; readonly midPower: number; readonly midUtil: number }

export interface AcceleratorSpec {
  readonly name: string;
  /** Card type capacity is counted in (e.g. `A100` for `2xA100`). */
  readonly type: string;
  /** Cards of `type` in one accelerator. */
  readonly multiplicity: number;
  readonly memSize: number;
  readonly memBW: number;
  readonly power: PowerSpec;
  /** cents/hour for the whole accelerator (all `multiplicity` cards). */
  readonly cost: number;
}

export interface CapacityEntry { readonly type: string; readonly count: number }

export interface ModelPerfSpec {
  /** Model name. */
  readonly name: string;
  /** Accelerator name. */
  readonly acc: string;
  /** Accelerators per replica, as written (use {@link numInstances} for the effective value). */
  readonly accCount: number;
  readonly maxBatchSize: number;
  readonly atTokens: number;
  readonly perfParms: PerfParams;
}

export interface ModelTarget {
  readonly model: string;
  /** ms; 0 = not considered. */
  readonly sloItl: number;
  /** ms; 0 = not considered. */
  readonly sloTtft: number;
  /** tokens/s; 0 = not considered. */
  readonly sloTps: number;
}

export interface ServiceClassSpec { readonly name: string; readonly priority: number; readonly modelTargets: readonly ModelTarget[] }

export interface ServerLoad {
  /** req/min. */
  readonly arrivalRate: number;
  readonly avgInTokens: number;
  readonly avgOutTokens: number;
  /** req/min (optimizer-light >= v0.7.3); kept only when present. */
  readonly throughput?: number;
}

export interface AllocationData {
  readonly accelerator: string;
  readonly numReplicas: number;
  readonly maxBatch: number;
  readonly cost: number;
  readonly itlAverage: number;
  readonly ttftAverage: number;
  readonly load: ServerLoad;
}

export interface ServerSpec {
  readonly name: string;
  /** Service class; "" in the document becomes "Free". */
  readonly class: string;
  readonly model: string;
  readonly keepAccelerator: boolean;
  readonly minNumReplicas: number;
  /** > 0 overrides the batch size computed from the perf data. */
  readonly maxBatchSize: number;
  /** optimizer-light >= v0.7.5 only; undefined when absent. */
  readonly maxQueueSize?: number;
  readonly currentAlloc: AllocationData;
  readonly desiredAlloc: AllocationData;
}

export const SATURATION_POLICIES = ['None', 'PriorityExhaustive', 'PriorityRoundRobin', 'RoundRobin'] as const;
export type SaturationPolicy = (typeof SATURATION_POLICIES)[number];

export interface OptimizerSpec {
  readonly unlimited: boolean;
  readonly heterogeneous: boolean;
  readonly milpSolver: boolean;
  readonly useCplex: boolean;
  readonly delayedBestEffort: boolean;
  readonly saturationPolicy: SaturationPolicy;
}

/** All inputs of one optimization (Inferno's `SystemSpec`). Arrays keep document order. */
export interface InfernoSystem {
  readonly accelerators: readonly AcceleratorSpec[];
  readonly capacity: readonly CapacityEntry[];
  readonly models: readonly ModelPerfSpec[];
  readonly serviceClasses: readonly ServiceClassSpec[];
  readonly servers: readonly ServerSpec[];
  readonly optimizer: OptimizerSpec;
}

export const DEFAULT_SERVICE_CLASS_NAME = 'Free';
export const DEFAULT_LOW_PRIORITY = 100;
export const DEFAULT_HIGH_PRIORITY = 1;

export const FILE_NAMES = {
  accelerators: 'accelerator-data.json',
  capacity: 'capacity-data.json',
  models: 'model-data.json',
  serviceClasses: 'serviceclass-data.json',
  servers: 'server-data.json',
  optimizer: 'optimizer-data.json',
  system: 'system-data.json',
  solution: 'solution-data.json',
} as const;

/** Accelerators per replica as Inferno counts them (`accCount` <= 0 → 1). */
export function numInstances(perf: ModelPerfSpec | undefined): number {
  return perf !== undefined && perf.accCount > 0 ? perf.accCount : 1;
}

/** Service class priority as Inferno normalizes it: outside [1, 100] → 100. */
export function normalizePriority(p: number): number {
  return Number.isInteger(p) && p >= DEFAULT_HIGH_PRIORITY && p <= DEFAULT_LOW_PRIORITY ? p : DEFAULT_LOW_PRIORITY;
}

/** Unknown or absent policy → "None" (Go's enum default). Matched exactly, as Go compares the string. */
export function normalizeSaturationPolicy(p: unknown): SaturationPolicy {
  return (SATURATION_POLICIES as readonly unknown[]).includes(p) ? (p as SaturationPolicy) : 'None';
}

// ------------------------------------------------------------------------------------------------
// Case-insensitive field access with issue collection

type Obj = Record<string, unknown>;

/** Value of `key` matched case-insensitively; the last matching key in document order wins. */
export function getField(obj: Obj, key: string): unknown {
  const want = key.toLowerCase();
  let found: unknown;
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === want) found = v;
  return found === null ? undefined : found; // Go: null leaves the zero value
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `"${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`;
  if (typeof v === 'object') return 'an object';
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : typeof v;
}

/** Reads one document: paths are `file:a.b[3].c`. Issues are shared with the caller's list. */
class DocReader {
  constructor(readonly file: string, readonly issues: FieldIssue[]) {}

  fail(path: string, message: string): void {
    this.issues.push({ field: `${this.file}:${path}`, message });
  }

  obj(v: unknown, path: string, required = true): Obj | undefined {
    if (v === undefined && !required) return undefined;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Obj;
    this.fail(path, v === undefined ? 'is required' : `must be an object, got ${describe(v)}`);
    return undefined;
  }

  list(o: Obj, key: string, path: string, required = true): unknown[] {
    const v = getField(o, key);
    if (v === undefined && !required) return [];
    if (Array.isArray(v)) return v as unknown[];
    this.fail(`${path}${key}`, v === undefined ? 'is required' : `must be a list, got ${describe(v)}`);
    return [];
  }

  str(o: Obj, key: string, path: string, opts: { required?: boolean } = {}): string {
    const v = getField(o, key);
    if (v === undefined || v === '') {
      if (opts.required) this.fail(`${path}${key}`, v === undefined ? 'is required' : 'must not be empty');
      return '';
    }
    if (typeof v === 'string') return v;
    this.fail(`${path}${key}`, `must be a string, got ${describe(v)}`);
    return '';
  }

  num(o: Obj, key: string, path: string, opts: { required?: boolean; integer?: boolean; min?: number } = {}): number {
    const v = getField(o, key);
    if (v === undefined) {
      if (opts.required) this.fail(`${path}${key}`, 'is required');
      return 0;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.fail(`${path}${key}`, `must be a number, got ${describe(v)}`);
      return 0;
    }
    if (opts.integer && !Number.isInteger(v)) {
      this.fail(`${path}${key}`, `must be an integer, got ${v}`);
      return 0;
    }
    if (opts.min !== undefined && v < opts.min) {
      this.fail(`${path}${key}`, `must be >= ${opts.min}, got ${v}`);
      return 0;
    }
    return v;
  }

  optNum(o: Obj, key: string, path: string, opts: { integer?: boolean; min?: number } = {}): number | undefined {
    return getField(o, key) === undefined ? undefined : this.num(o, key, path, opts);
  }

  bool(o: Obj, key: string, path: string): boolean {
    const v = getField(o, key);
    if (v === undefined) return false;
    if (typeof v === 'boolean') return v;
    this.fail(`${path}${key}`, `must be true or false, got ${describe(v)}`);
    return false;
  }
}

function has(o: Obj, key: string): boolean {
  return getField(o, key) !== undefined;
}

// ------------------------------------------------------------------------------------------------
// Per-document readers (root = path prefix inside the file, '' or e.g. 'system.modelData.')

function readAccelerators(r: DocReader, doc: unknown, root: string): AcceleratorSpec[] {
  const o = r.obj(doc, root === '' ? '(document)' : root.slice(0, -1));
  if (o === undefined) return [];
  return r.list(o, 'accelerators', root).flatMap((item, i) => {
    const p = `${root}accelerators[${i}].`;
    const a = r.obj(item, p.slice(0, -1));
    if (a === undefined) return [];
    const powerObj = r.obj(getField(a, 'power'), `${p}power`, false) ?? {};
    return [{
      name: r.str(a, 'name', p, { required: true }),
      type: r.str(a, 'type', p, { required: true }),
      multiplicity: r.num(a, 'multiplicity', p, { required: true, integer: true, min: 1 }),
      memSize: r.num(a, 'memSize', p, { integer: true, min: 0 }),
      memBW: r.num(a, 'memBW', p, { integer: true, min: 0 }),
      power: {
        idle: r.num(powerObj, 'idle', `${p}power.`, { integer: true }),
        full: r.num(powerObj, 'full', `${p}power.`, { integer: true }),
        midPower: r.num(powerObj, 'midPower', `${p}power.`, { integer: true }),
        midUtil: r.num(powerObj, 'midUtil', `${p}power.`),
      },
      cost: r.num(a, 'cost', p, { required: true, min: 0 }),
    }];
  });
}

function readCapacity(r: DocReader, doc: unknown, root: string): CapacityEntry[] {
  const o = r.obj(doc, root === '' ? '(document)' : root.slice(0, -1));
  if (o === undefined) return [];
  return r.list(o, 'count', root).flatMap((item, i) => {
    const p = `${root}count[${i}].`;
    const c = r.obj(item, p.slice(0, -1));
    if (c === undefined) return [];
    return [{ type: r.str(c, 'type', p, { required: true }), count: r.num(c, 'count', p, { required: true, integer: true, min: 0 }) }];
  });
}

function readModels(r: DocReader, doc: unknown, root: string): ModelPerfSpec[] {
  const o = r.obj(doc, root === '' ? '(document)' : root.slice(0, -1));
  if (o === undefined) return [];
  return r.list(o, 'models', root).flatMap((item, i) => {
    const p = `${root}models[${i}].`;
    const m = r.obj(item, p.slice(0, -1));
    if (m === undefined) return [];
    const name = r.str(m, 'name', p, { required: true });
    const acc = r.str(m, 'acc', p, { required: true });
    const accCount = r.num(m, 'accCount', p, { integer: true });
    const maxBatchSize = r.num(m, 'maxBatchSize', p, { required: true, integer: true, min: 1 });
    const atTokens = r.num(m, 'atTokens', p, { required: true, integer: true, min: 1 });
    let perfParms: PerfParams = { alpha: 0, beta: 0, gamma: 0 };
    if (!has(m, 'perfParms')) {
      if (has(m, 'decodeParms') || has(m, 'prefillParms')) {
        r.fail(`${p}perfParms`, 'is required: this entry uses the Gen 1 performance format (decodeParms{alpha,beta}/prefillParms{gamma,delta}), which this optimizer does not read; convert it to Gen 2/3 perfParms{alpha,beta,gamma}');
      } else if (has(m, 'alpha') || has(m, 'beta')) {
        r.fail(`${p}perfParms`, 'is required: this entry uses the Gen 0 performance format (alpha/beta at top level), which this optimizer does not read; convert it to Gen 2/3 perfParms{alpha,beta,gamma}');
      } else {
        r.fail(`${p}perfParms`, 'is required (Gen 2/3 perfParms{alpha,beta,gamma})');
      }
    } else {
      const pp = r.obj(getField(m, 'perfParms'), `${p}perfParms`);
      if (pp !== undefined) {
        const q = `${p}perfParms.`;
        perfParms = {
          alpha: r.num(pp, 'alpha', q, { required: true, min: 0 }),
          beta: r.num(pp, 'beta', q, { required: true, min: 0 }),
          gamma: r.num(pp, 'gamma', q, { required: true, min: 0 }),
        };
      }
    }
    return [{ name, acc, accCount, maxBatchSize, atTokens, perfParms }];
  });
}

function readServiceClasses(r: DocReader, doc: unknown, root: string): ServiceClassSpec[] {
  const o = r.obj(doc, root === '' ? '(document)' : root.slice(0, -1));
  if (o === undefined) return [];
  return r.list(o, 'serviceClasses', root).flatMap((item, i) => {
    const p = `${root}serviceClasses[${i}].`;
    const c = r.obj(item, p.slice(0, -1));
    if (c === undefined) return [];
    const modelTargets = r.list(c, 'modelTargets', p, false).flatMap((t, j) => {
      const q = `${p}modelTargets[${j}].`;
      const mt = r.obj(t, q.slice(0, -1));
      if (mt === undefined) return [];
      if (has(mt, 'slo-ttw')) r.fail(`${q}slo-ttw`, 'is a Gen 0 field (request waiting time), which this optimizer does not read; use slo-ttft (Gen 1+)');
      return [{
        model: r.str(mt, 'model', q, { required: true }),
        sloItl: r.num(mt, 'slo-itl', q, { min: 0 }),
        sloTtft: r.num(mt, 'slo-ttft', q, { min: 0 }),
        sloTps: r.num(mt, 'slo-tps', q, { min: 0 }),
      }];
    });
    return [{ name: r.str(c, 'name', p, { required: true }), priority: normalizePriority(r.num(c, 'priority', p, { integer: true })), modelTargets }];
  });
}

const ZERO_LOAD: ServerLoad = { arrivalRate: 0, avgInTokens: 0, avgOutTokens: 0 };

function readLoad(r: DocReader, v: unknown, path: string): ServerLoad {
  const o = r.obj(v, path, false);
  if (o === undefined) return ZERO_LOAD;
  const p = `${path}.`;
  if (has(o, 'avgLength')) r.fail(`${p}avgLength`, 'is a Gen 0 load field, which this optimizer does not read; use avgInTokens/avgOutTokens');
  const throughput = r.optNum(o, 'throughput', p, { min: 0 });
  return {
    arrivalRate: r.num(o, 'arrivalRate', p, { min: 0 }),
    avgInTokens: r.num(o, 'avgInTokens', p, { integer: true, min: 0 }),
    avgOutTokens: r.num(o, 'avgOutTokens', p, { integer: true, min: 0 }),
    ...(throughput === undefined ? {} : { throughput }),
  };
}

function readAllocationData(r: DocReader, v: unknown, path: string): AllocationData {
  const o = r.obj(v, path, false) ?? {};
  const p = `${path}.`;
  return {
    accelerator: r.str(o, 'accelerator', p),
    numReplicas: r.num(o, 'numReplicas', p, { integer: true, min: 0 }),
    maxBatch: r.num(o, 'maxBatch', p, { integer: true, min: 0 }),
    cost: r.num(o, 'cost', p),
    itlAverage: r.num(o, 'itlAverage', p),
    ttftAverage: r.num(o, 'ttftAverage', p),
    load: readLoad(r, getField(o, 'load'), `${p}load`),
  };
}

function readServers(r: DocReader, doc: unknown, root: string): ServerSpec[] {
  const o = r.obj(doc, root === '' ? '(document)' : root.slice(0, -1));
  if (o === undefined) return [];
  return r.list(o, 'servers', root).flatMap((item, i) => {
    const p = `${root}servers[${i}].`;
    const s = r.obj(item, p.slice(0, -1));
    if (s === undefined) return [];
    const maxQueueSize = r.optNum(s, 'maxQueueSize', p, { integer: true, min: 0 });
    const cls = r.str(s, 'class', p);
    return [{
      name: r.str(s, 'name', p, { required: true }),
      class: cls === '' ? DEFAULT_SERVICE_CLASS_NAME : cls,
      model: r.str(s, 'model', p, { required: true }),
      keepAccelerator: r.bool(s, 'keepAccelerator', p),
      minNumReplicas: r.num(s, 'minNumReplicas', p, { integer: true, min: 0 }),
      maxBatchSize: r.num(s, 'maxBatchSize', p, { integer: true, min: 0 }),
      ...(maxQueueSize === undefined ? {} : { maxQueueSize }),
      currentAlloc: readAllocationData(r, getField(s, 'currentAlloc'), `${p}currentAlloc`),
      desiredAlloc: readAllocationData(r, getField(s, 'desiredAlloc'), `${p}desiredAlloc`),
    }];
  });
}

const DEFAULT_OPTIMIZER: OptimizerSpec = { unlimited: false, heterogeneous: false, milpSolver: false, useCplex: false, delayedBestEffort: false, saturationPolicy: 'None' };

function readOptimizer(r: DocReader, doc: unknown, root: string): OptimizerSpec {
  const o = r.obj(doc, root === '' ? '(document)' : root.slice(0, -1));
  if (o === undefined) return DEFAULT_OPTIMIZER;
  const p = `${root}optimizer.`;
  const spec = r.obj(getField(o, 'optimizer'), `${root}optimizer`);
  if (spec === undefined) return DEFAULT_OPTIMIZER;
  const policy = getField(spec, 'saturationPolicy');
  if (policy !== undefined && typeof policy !== 'string') r.fail(`${p}saturationPolicy`, `must be a string, got ${describe(policy)}`);
  return {
    unlimited: r.bool(spec, 'unlimited', p),
    heterogeneous: r.bool(spec, 'heterogeneous', p),
    milpSolver: r.bool(spec, 'milpSolver', p),
    useCplex: r.bool(spec, 'useCplex', p),
    delayedBestEffort: r.bool(spec, 'delayedBestEffort', p),
    saturationPolicy: normalizeSaturationPolicy(policy),
  };
}

// ------------------------------------------------------------------------------------------------
// Public single-document parsers (throw SSIS_INVALID_CONFIG listing every issue)

function parseOne<T>(fileName: string, doc: unknown, read: (r: DocReader, doc: unknown, root: string) => T): T {
  const issues: FieldIssue[] = [];
  const value = read(new DocReader(fileName, issues), doc, '');
  if (issues.length > 0) throw validationError('SSIS_INVALID_CONFIG', `invalid Inferno data (${fileName})`, issues);
  return value;
}

export const parseAcceleratorData = (doc: unknown, fileName: string = FILE_NAMES.accelerators): AcceleratorSpec[] => parseOne(fileName, doc, readAccelerators);
export const parseCapacityData = (doc: unknown, fileName: string = FILE_NAMES.capacity): CapacityEntry[] => parseOne(fileName, doc, readCapacity);
export const parseModelData = (doc: unknown, fileName: string = FILE_NAMES.models): ModelPerfSpec[] => parseOne(fileName, doc, readModels);
export const parseServiceClassData = (doc: unknown, fileName: string = FILE_NAMES.serviceClasses): ServiceClassSpec[] => parseOne(fileName, doc, readServiceClasses);
export const parseServerData = (doc: unknown, fileName: string = FILE_NAMES.servers): ServerSpec[] => parseOne(fileName, doc, readServers);
export const parseOptimizerData = (doc: unknown, fileName: string = FILE_NAMES.optimizer): OptimizerSpec => parseOne(fileName, doc, readOptimizer);

/** Parses a `solution-data.json` document ({allocations: {server: AllocationData}}). */
export function parseSolutionData(doc: unknown, fileName: string = FILE_NAMES.solution): Record<string, AllocationData> {
  return parseOne(fileName, doc, (r, d) => {
    const out: Record<string, AllocationData> = {};
    const o = r.obj(d, '(document)');
    const allocs = o === undefined ? undefined : r.obj(getField(o, 'allocations'), 'allocations');
    for (const [name, v] of Object.entries(allocs ?? {})) out[name] = readAllocationData(r, v, `allocations.${name}`);
    return out;
  });
}

// ------------------------------------------------------------------------------------------------
// Loader

const SYSTEM_KEYS = {
  accelerators: 'acceleratorData',
  capacity: 'capacityData',
  models: 'modelData',
  serviceClasses: 'serviceClassData',
  servers: 'serverData',
  optimizer: 'optimizerData',
} as const;

function baseName(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i < 0 ? path : path.slice(i + 1);
}

/**
 * Builds an {@link InfernoSystem} from parsed JSON documents keyed by file name (directories in the key are
 * ignored): the six files `accelerator-data.json`, `capacity-data.json`, `model-data.json`,
 * `serviceclass-data.json`, `server-data.json`, `optimizer-data.json`, or a `system-data.json` holding them
 * (`{system: {acceleratorData, modelData, serviceClassData, serverData, optimizerData, capacityData}}`); a
 * separate file takes precedence over the same section of system-data. `capacity-data.json` may be absent
 * when the optimizer is unlimited. Throws one SSIS_INVALID_CONFIG listing every problem with file and field.
 */
export function loadInfernoSystem(files: Readonly<Record<string, unknown>>): InfernoSystem {
  const byName = new Map<string, unknown>();
  for (const [k, v] of Object.entries(files)) byName.set(baseName(k), v);
  const issues: FieldIssue[] = [];

  let system: Obj | undefined;
  if (byName.has(FILE_NAMES.system)) {
    const r = new DocReader(FILE_NAMES.system, issues);
    const top = r.obj(byName.get(FILE_NAMES.system), '(document)');
    if (top !== undefined) system = r.obj(getField(top, 'system'), 'system');
  }

  function section<T>(part: keyof typeof SYSTEM_KEYS, read: (r: DocReader, doc: unknown, root: string) => T, fallback: T, optional = false): T {
    const file = FILE_NAMES[part];
    if (byName.has(file)) return read(new DocReader(file, issues), byName.get(file), '');
    if (system !== undefined) {
      const key = SYSTEM_KEYS[part];
      const doc = getField(system, key);
      if (doc !== undefined || !optional) return read(new DocReader(FILE_NAMES.system, issues), doc, `system.${key}.`);
      return fallback;
    }
    if (!optional) issues.push({ field: file, message: `is missing (give ${file} or ${FILE_NAMES.system})` });
    return fallback;
  }

  const optimizer = section('optimizer', readOptimizer, DEFAULT_OPTIMIZER);
  const result: InfernoSystem = {
    accelerators: section('accelerators', readAccelerators, []),
    capacity: section('capacity', readCapacity, [], optimizer.unlimited),
    models: section('models', readModels, []),
    serviceClasses: section('serviceClasses', readServiceClasses, []),
    servers: section('servers', readServers, []),
    optimizer,
  };
  if (issues.length > 0) throw validationError('SSIS_INVALID_CONFIG', 'invalid Inferno optimizer data', issues);
  return result;
}

// ------------------------------------------------------------------------------------------------
// Solution writer

/** One row of the solution as the solver produces it: AllocationData at full float64 precision. */
export type SolutionRow = AllocationData;

export interface SolutionData { readonly allocations: Record<string, AllocationData> }

/**
 * Shortest decimal that reads back as the same float32, like Go's encoding/json for a float32 field
 * (e.g. 36.419655). Non-finite values become 0 (Go would fail to marshal them).
 */
export function float32Json(x: number): number {
  if (!Number.isFinite(x)) return 0;
  const f = Math.fround(x);
  if (Number.isInteger(f)) return f;
  for (let p = 1; p <= 9; p++) {
    const s = Number(f.toPrecision(p));
    if (Math.fround(s) === f) return s;
  }
  return f;
}

/**
 * `solution-data.json` form: {allocations: {serverName: {accelerator, numReplicas, maxBatch, cost, itlAverage,
 * ttftAverage, load}}}, server names sorted (Go marshals map keys sorted), float fields written as float32 values.
 * Servers without an allocation are omitted, as in Inferno.
 */
export function toSolutionData(rows: Readonly<Record<string, SolutionRow>> | ReadonlyMap<string, SolutionRow>): SolutionData {
  const entries = rows instanceof Map ? [...(rows as ReadonlyMap<string, SolutionRow>).entries()] : Object.entries(rows as Record<string, SolutionRow>);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const allocations: Record<string, AllocationData> = {};
  for (const [name, row] of entries) {
    allocations[name] = {
      accelerator: row.accelerator,
      numReplicas: row.numReplicas,
      maxBatch: row.maxBatch,
      cost: float32Json(row.cost),
      itlAverage: float32Json(row.itlAverage),
      ttftAverage: float32Json(row.ttftAverage),
      load: {
        arrivalRate: float32Json(row.load.arrivalRate),
        avgInTokens: row.load.avgInTokens,
        avgOutTokens: row.load.avgOutTokens,
        ...(row.load.throughput === undefined ? {} : { throughput: float32Json(row.load.throughput) }),
      },
    };
  }
  return { allocations };
}
