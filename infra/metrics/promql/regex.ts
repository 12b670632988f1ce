/**
 * Label-matcher regular expressions with Prometheus' semantics, which are RE2's: the pattern is
 * parsed on its own (so `a)(b` is refused rather than balanced by the anchoring) and then matched
 * fully anchored, with `.` matching a newline too (`^(?s:re)$`, as Prometheus' regex matcher
 * compiles it). re2js is a port of RE2/J, so the syntax (`\x{41}`, `\pL`, `(?U)`, `(?m)`...), the
 * limits (repeat counts up to 1000) and the error messages are RE2's, not JavaScript's.
 */
import { RE2JS, RE2JSException, RE2JSSyntaxException } from 're2js';

export interface AnchoredRegex {
  readonly source: string;
  /** True when the whole value matches. */
  matches(value: string): boolean;
}

/**
 * Compiled patterns by source, least recently used first. A query's selectors are parsed once per
 * query text, but one pattern recurs across queries and configuration checks, and compiling an
 * RE2 program costs far more than matching one label value.
 */
const compiled = new Map<string, AnchoredRegex>();
const CACHE_CAPACITY = 512;

/** Compiles an RE2 pattern, fully anchored; throws Error with RE2's reason. */
export function compileAnchoredRegex(source: string): AnchoredRegex {
  const cached = compiled.get(source);
  if (cached) {
    compiled.delete(source);
    compiled.set(source, cached);
    return cached;
  }
  const regex = compile(source);
  compiled.set(source, regex);
  if (compiled.size > CACHE_CAPACITY) {
    const oldest = compiled.keys().next();
    if (!oldest.done) compiled.delete(oldest.value);
  }
  return regex;
}

function compile(source: string): AnchoredRegex {
  try {
    // Without flags first, so that an error quotes the pattern as written (no added `(?s)`).
    RE2JS.compile(source);
    const program = RE2JS.compile(source, RE2JS.DOTALL);
    return { source, matches: (value) => program.testExact(value) };
  } catch (err) {
    if (err instanceof RE2JSException) throw new Error(reasonOf(err), { cause: err });
    throw err;
  }
}

/** A lookahead or lookbehind opening, which RE2 reports only as unsupported syntax. */
const LOOKAROUND = /^\(\?<?[=!]/;

/** RE2's message (`error parsing regexp: invalid repeat count: `{1001}``), with a hint where it is terse. */
function reasonOf(err: RE2JSException): string {
  const fragment = err instanceof RE2JSSyntaxException ? err.getPattern() : null;
  if (fragment !== null && LOOKAROUND.test(fragment)) return `${err.message}: lookaround assertions are not supported by RE2`;
  return err.message;
}
