/**
 * Label-matcher regular expressions. Prometheus uses Go's RE2 syntax and anchors the pattern at
 * both ends (`^(?s:re)$`, so `.` also matches a newline). This translates the RE2 forms that
 * differ in JavaScript and refuses the ones that cannot be expressed, rather than letting a
 * pattern silently mean something else.
 */

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

/** Compiles an RE2 pattern into a fully anchored JavaScript RegExp; throws Error with the reason. */
export function compileAnchoredRegex(source: string): RegExp {
  let pattern = source;
  let flags = 's';
  const leadingFlags = /^\(\?([a-zA-Z]+)\)/.exec(pattern);
  if (leadingFlags) {
    for (const flag of leadingFlags[1] ?? '') {
      if (flag === 'i') flags += 'i';
      else if (flag !== 's') throw new Error(`regex flag "${flag}" is not supported`);
    }
    pattern = pattern.slice(leadingFlags[0].length);
  }
  const translated = translate(pattern);
  try {
    return new RegExp(`^(?:${translated})$`, flags);
  } catch (err) {
    throw new Error(`invalid regular expression ${JSON.stringify(source)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function translate(pattern: string): string {
  let out = '';
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i] ?? '';
    if (ch === '\\') {
      const { text, end } = translateEscape(pattern, i);
      out += text;
      i = end;
    } else if (ch === '[') {
      const { text, end } = translateClass(pattern, i);
      out += text;
      i = end;
    } else if (ch === '(' && pattern[i + 1] === '?') {
      const { text, end } = translateGroupOpening(pattern, i);
      out += text;
      i = end;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

function translateEscape(pattern: string, at: number): { text: string; end: number } {
  const next = pattern[at + 1];
  if (next === undefined) throw new Error('regex ends with a lone backslash');
  if (/[1-9]/.test(next)) throw new Error('backreferences are not supported by RE2');
  if (next === 'p' || next === 'P') throw new Error('Unicode classes (\\p, \\P) are not supported');
  if (next === 'C') throw new Error('\\C is not supported');
  if (next === 'A') return { text: '^', end: at + 2 };
  if (next === 'z') return { text: '$', end: at + 2 };
  if (next === 'Q') {
    // \Q...\E quotes everything in between literally.
    const close = pattern.indexOf('\\E', at + 2);
    const literal = pattern.slice(at + 2, close === -1 ? undefined : close);
    return { text: literal.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&'), end: close === -1 ? pattern.length : close + 2 };
  }
  return { text: `\\${next}`, end: at + 2 };
}

function translateGroupOpening(pattern: string, at: number): { text: string; end: number } {
  const rest = pattern.slice(at);
  if (rest.startsWith('(?:')) return { text: '(?:', end: at + 3 };
  if (rest.startsWith('(?P<')) return { text: '(?<', end: at + 4 };
  if (/^\(\?<[a-zA-Z_]/.test(rest)) return { text: '(?<', end: at + 3 };
  if (/^\(\?(=|!|<=|<!)/.test(rest)) throw new Error('lookaround assertions are not supported by RE2');
  throw new Error('inline flags are only supported at the start of the pattern, as (?i)');
}

/** Copies a bracket expression, expanding POSIX classes and RE2's leading literal `]`. */
function translateClass(pattern: string, at: number): { text: string; end: number } {
  let out = '[';
  let i = at + 1;
  if (pattern[i] === '^') {
    out += '^';
    i++;
  }
  if (pattern[i] === ']') {
    out += '\\]';
    i++;
  }
  while (i < pattern.length) {
    const ch = pattern[i] ?? '';
    if (ch === ']') return { text: `${out}]`, end: i + 1 };
    if (ch === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) break;
      if (next === 'p' || next === 'P') throw new Error('Unicode classes (\\p, \\P) are not supported');
      out += `\\${next}`;
      i += 2;
      continue;
    }
    if (ch === '[' && pattern[i + 1] === ':') {
      const close = pattern.indexOf(':]', i + 2);
      const name = close === -1 ? '' : pattern.slice(i + 2, close);
      const expansion = POSIX_CLASSES[name];
      if (expansion === undefined) throw new Error(`unsupported character class [:${name}:]`);
      out += expansion;
      i = close + 2;
      continue;
    }
    if (ch === '[') {
      out += '\\[';
      i++;
      continue;
    }
    out += ch;
    i++;
  }
  throw new Error('missing closing ]');
}
