/**
 * A Logger that lets through at most `maxLines` lines of one kind per window and then stays quiet,
 * writing one line with the count of what it held back once the window is over. For warnings a
 * client can trigger at will (a malformed event, a failing subscriber): without a bound, anyone who
 * can send requests can fill the disk with our log.
 *
 * A kind is a key computed from each line (by default its level and message, so the fields, which
 * carry event ids and the like, do not make every line a new kind). Keys are tracked up to
 * `maxKeys`; lines of further keys share one overflow key, so the limiter's own memory is bounded
 * too. Children share their parent's budget: the bound is on the log, not on one component.
 */
import type { LogFields, Logger } from '../../core/common/ports';
import type { LogLevel } from './json-logger';

export interface RateLimitOptions {
  /** Lines of one key let through per window (default 10). */
  readonly maxLines?: number;
  /** Length of a window in ms (default 60 s). */
  readonly windowMs?: number;
  /** Which lines count together (default: level and message). */
  readonly keyOf?: (level: LogLevel, fields: LogFields, msg: string) => string;
  /** Most keys tracked at once (default 1000). */
  readonly maxKeys?: number;
  readonly now?: () => number;
  /**
   * Report a suppression when its window ends even if no further line comes (default true; an
   * unref'd timer, so it never keeps the process alive). With false, the report comes with the
   * next line logged through this limiter, or with flush().
   */
  readonly summaryTimer?: boolean;
}

export interface RateLimitedLogger extends Logger {
  /** Writes the pending "n lines suppressed" reports now (call it on shutdown). */
  flush(): void;
  child(fields: LogFields): RateLimitedLogger;
}

/** The key of lines past maxKeys: they share one budget. */
export const OVERFLOW_KEY = '(other)';

interface Window {
  startMs: number;
  written: number;
  suppressed: number;
  /** Where the report goes (the logger and level of the last suppressed line) and what it was. */
  report?: { logger: Logger; level: LogLevel; msg: string };
}

export function rateLimitedLogger(logger: Logger, options: RateLimitOptions = {}): RateLimitedLogger {
  const maxLines = options.maxLines ?? 10;
  const windowMs = options.windowMs ?? 60_000;
  const maxKeys = options.maxKeys ?? 1000;
  const keyOf = options.keyOf ?? ((level, _fields, msg) => `${level} ${msg}`);
  const now = options.now ?? Date.now;
  const windows = new Map<string, Window>();
  /** When the earliest window ends: lines before then need no sweep. */
  let nextSweepMs = Infinity;
  let timer: NodeJS.Timeout | null = null;

  const report = (key: string, w: Window): void => {
    if (w.suppressed === 0 || !w.report) return;
    const { logger: target, level, msg } = w.report;
    target[level]({ key, suppressed: w.suppressed, windowMs }, `suppressed ${w.suppressed} more log lines like "${msg}"`);
    w.suppressed = 0;
    delete w.report;
  };

  /** Reports and forgets every window that is over; keys with nothing pending free their slot. */
  const sweep = (atMs: number): void => {
    if (atMs < nextSweepMs) return;
    nextSweepMs = Infinity;
    for (const [key, w] of windows) {
      if (atMs - w.startMs < windowMs) {
        nextSweepMs = Math.min(nextSweepMs, w.startMs + windowMs);
        continue;
      }
      report(key, w);
      windows.delete(key);
    }
  };

  const armTimer = (): void => {
    if (options.summaryTimer === false || timer !== null) return;
    timer = setTimeout(() => {
      timer = null;
      sweep(now());
      if ([...windows.values()].some((w) => w.suppressed > 0)) armTimer();
    }, windowMs);
    timer.unref();
  };

  const admit = (target: Logger, level: LogLevel, fields: LogFields, msg: string): boolean => {
    const atMs = now();
    sweep(atMs);
    let key = keyOf(level, fields, msg);
    if (!windows.has(key) && windows.size >= maxKeys) key = OVERFLOW_KEY;
    let w = windows.get(key);
    if (!w) {
      w = { startMs: atMs, written: 0, suppressed: 0 };
      windows.set(key, w);
      nextSweepMs = Math.min(nextSweepMs, atMs + windowMs);
    }
    if (w.written < maxLines) {
      w.written += 1;
      return true;
    }
    w.suppressed += 1;
    w.report = { logger: target, level, msg };
    armTimer();
    return false;
  };

  const make = (target: Logger): RateLimitedLogger => {
    const at = (level: LogLevel) => (fields: LogFields, msg: string): void => {
      if (admit(target, level, fields, msg)) target[level](fields, msg);
    };
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (fields) => make(target.child(fields)),
      flush: () => {
        for (const [key, w] of windows) report(key, w);
      },
    };
  };
  return make(logger);
}
