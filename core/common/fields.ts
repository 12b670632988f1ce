/**
 * Reading untrusted configuration objects field by field while collecting every problem, so a bad
 * ConfigMap is reported in one go with each field named (ARCHITECTURE.md "validate at the boundary").
 */
import type { FieldIssue } from '../errors';

export class FieldReader {
  readonly issues: FieldIssue[] = [];

  constructor(private readonly prefix = '') {}

  path(name: string | number): string {
    if (typeof name === 'number') return `${this.prefix}[${name}]`;
    if (name === '') return this.prefix;
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  child(name: string | number): FieldReader {
    const child = new FieldReader(this.path(name));
    // Children share the issue list so the caller sees every problem.
    (child as { issues: FieldIssue[] }).issues = this.issues;
    return child;
  }

  fail(name: string | number, message: string): void {
    this.issues.push({ field: this.path(name), message });
  }

  object(value: unknown, name: string | number): Record<string, unknown> | undefined {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    this.fail(name, `must be an object, got ${describe(value)}`);
    return undefined;
  }

  array(value: unknown, name: string | number): unknown[] | undefined {
    if (Array.isArray(value)) return value as unknown[];
    this.fail(name, `must be a list, got ${describe(value)}`);
    return undefined;
  }

  string(obj: Record<string, unknown>, name: string, opts: { optional?: boolean; nonEmpty?: boolean } = {}): string | undefined {
    const v = obj[name];
    if (v === undefined && opts.optional) return undefined;
    if (typeof v !== 'string') {
      this.fail(name, v === undefined ? 'is required' : `must be a string, got ${describe(v)}`);
      return undefined;
    }
    if (opts.nonEmpty !== false && v.length === 0) {
      this.fail(name, 'must not be empty');
      return undefined;
    }
    return v;
  }

  /**
   * Numbers may be given as decimal strings (YAML/ConfigMap values often are), unless `fromString`
   * is false (a JSON body, whose numbers are JSON numbers). Only JSON's number syntax is read
   * from a string: Number() alone would take "0x10" as 16, " 5 " as 5 and "0b11" as 3, so a value
   * that is not a plain number could pass the bounds as one.
   */
  number(obj: Record<string, unknown>, name: string, opts: { optional?: boolean; min?: number; max?: number; integer?: boolean; exclusiveMin?: number; fromString?: boolean } = {}): number | undefined {
    const raw = obj[name];
    if (raw === undefined && opts.optional) return undefined;
    const v = typeof raw === 'string' && opts.fromString !== false && DECIMAL_NUMBER.test(raw) ? Number(raw) : raw;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.fail(name, raw === undefined ? 'is required' : `must be a number, got ${describe(raw)}`);
      return undefined;
    }
    if (opts.integer && !Number.isInteger(v)) this.fail(name, `must be an integer, got ${v}`);
    else if (opts.min !== undefined && v < opts.min) this.fail(name, `must be >= ${opts.min}, got ${v}`);
    else if (opts.exclusiveMin !== undefined && v <= opts.exclusiveMin) this.fail(name, `must be > ${opts.exclusiveMin}, got ${v}`);
    else if (opts.max !== undefined && v > opts.max) this.fail(name, `must be <= ${opts.max}, got ${v}`);
    else return v;
    return undefined;
  }

  boolean(obj: Record<string, unknown>, name: string, fallback: boolean): boolean {
    const v = obj[name];
    if (v === undefined) return fallback;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    this.fail(name, `must be true or false, got ${describe(v)}`);
    return fallback;
  }

  unknownKeys(obj: Record<string, unknown>, known: readonly string[]): void {
    for (const key of Object.keys(obj)) if (!known.includes(key)) this.fail(key, `unknown field (known: ${known.join(', ')})`);
  }
}

/** A JSON number (RFC 8259 §6): optional minus, no leading zeros, no hex, no whitespace. */
const DECIMAL_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$/;

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `"${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`;
  if (typeof v === 'object') return 'an object';
  return typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : typeof v;
}
