/**
 * Reading untrusted YAML values field by field while collecting every problem, each tagged with
 * where it is: `<file>#<document index>:<path>`, e.g. `triggers.yaml#2:spec.filters[0].exact`.
 * Collecting instead of throwing lets a manifest set be reported in one go (ARCHITECTURE.md:
 * "validate at the boundary, report every problem with its field").
 */
import type { FieldIssue } from '../../core/errors';

export type PlainObject = Record<string, unknown>;

/** A position in a manifest plus the shared list its problems go to. */
export class FieldContext {
  constructor(
    readonly field: string,
    private readonly issues: FieldIssue[],
  ) {}

  /** The root of one YAML document: `<file>#<index>`; paths below it follow a colon. */
  static document(file: string, index: number, issues: FieldIssue[]): FieldContext {
    return new FieldContext(`${file}#${index}:`, issues);
  }

  at(segment: string | number): FieldContext {
    return new FieldContext(joinField(this.field, segment), this.issues);
  }

  fail(message: string): void {
    this.issues.push({ field: this.field, message });
  }
}

function joinField(base: string, segment: string | number): string {
  if (typeof segment === 'number') return `${base}[${segment}]`;
  // Annotation keys hold dots and slashes; quote them so the path stays unambiguous.
  const name = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment) ? segment : `[${JSON.stringify(segment)}]`;
  if (base.endsWith(':') || name.startsWith('[')) return `${base}${name}`;
  return `${base}.${name}`;
}

export function isPlainObject(value: unknown): value is PlainObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return typeof value;
}

export function readObject(value: unknown, at: FieldContext): PlainObject | undefined {
  if (isPlainObject(value)) return value;
  at.fail(value === undefined ? 'is required' : `must be an object, got ${describeValue(value)}`);
  return undefined;
}

export function readOptionalObject(value: unknown, at: FieldContext): PlainObject | undefined {
  return value === undefined ? undefined : readObject(value, at);
}

export function readList(value: unknown, at: FieldContext): unknown[] | undefined {
  if (Array.isArray(value)) return value as unknown[];
  at.fail(value === undefined ? 'is required' : `must be a list, got ${describeValue(value)}`);
  return undefined;
}

/** A required, non-empty string. Numbers are refused: Kubernetes would refuse them too. */
export function readString(value: unknown, at: FieldContext): string | undefined {
  if (typeof value === 'string' && value.length > 0) return value;
  if (value === undefined) at.fail('is required');
  else if (value === '') at.fail('must not be empty');
  else at.fail(`must be a string, got ${describeValue(value)}`);
  return undefined;
}

export function readOptionalString(value: unknown, at: FieldContext): string | undefined {
  return value === undefined ? undefined : readString(value, at);
}

/** A map of strings (labels, annotations, ConfigMap data, filter attributes). */
export function readStringMap(value: unknown, at: FieldContext, options: { allowEmptyValues: boolean }): Record<string, string> | undefined {
  const object = readObject(value, at);
  if (!object) return undefined;
  const map: Record<string, string> = {};
  let valid = true;
  for (const [key, entry] of Object.entries(object)) {
    if (typeof entry !== 'string') {
      at.at(key).fail(`must be a string, got ${describeValue(entry)} (quote it in YAML)`);
      valid = false;
    } else if (entry === '' && !options.allowEmptyValues) {
      at.at(key).fail('must not be empty');
      valid = false;
    } else {
      map[key] = entry;
    }
  }
  return valid ? map : undefined;
}

export function rejectUnknownKeys(object: PlainObject, known: readonly string[], at: FieldContext): void {
  for (const key of Object.keys(object)) {
    if (!known.includes(key)) at.at(key).fail(`unknown field (known: ${known.join(', ')})`);
  }
}
