/**
 * Structured JSON-lines logger. Secrets never reach logs: values under secret-looking keys are
 * replaced, and token-shaped strings (Hugging Face `hf_…`, OpenAI `sk-…`, bearer credentials)
 * are masked wherever they appear, as a second line of defence behind "never copy env values".
 */
import type { LogFields, Logger } from '../../core/common/ports';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const SECRET_KEY = /(token|secret|password|passwd|api[-_]?key|authorization|credential)/i;
const SECRET_VALUE = /\b(hf_[A-Za-z0-9]{6,}|sk-[A-Za-z0-9_-]{8,}|Bearer\s+[A-Za-z0-9._~+/=-]{8,})/g;

export function scrubSecrets(value: unknown, key = ''): unknown {
  // camelCase counts such as inputTokens are numbers, not credentials.
  if (key && SECRET_KEY.test(key) && !/[a-z]Tokens?$/.test(key)) {
    return value === undefined ? undefined : '[redacted]';
  }
  if (typeof value === 'string') return value.replace(SECRET_VALUE, '[redacted]');
  if (Array.isArray(value)) return value.map((v) => scrubSecrets(v));
  if (value instanceof Error) return { name: value.name, message: scrubSecrets(value.message) };
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = scrubSecrets(v, k);
    return out;
  }
  return value;
}

export interface JsonLoggerOptions {
  readonly level?: LogLevel;
  readonly write?: (line: string) => void;
  readonly base?: LogFields;
  readonly now?: () => number;
}

export function createJsonLogger(opts: JsonLoggerOptions = {}): Logger {
  const min = ORDER[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = opts.now ?? Date.now;
  const make = (base: LogFields): Logger => {
    const log = (level: LogLevel) => (fields: LogFields, msg: string) => {
      if (ORDER[level] < min) return;
      const record = scrubSecrets({ time: new Date(now()).toISOString(), level, msg, ...base, ...fields }) as Record<string, unknown>;
      write(JSON.stringify(record));
    };
    return {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make(opts.base ?? {});
}
