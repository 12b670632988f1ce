/**
 * The broker's log of every accepted event, as JSON lines in the state folder (`.ssis/` by
 * default): what `npx ssis events` prints while the stack runs, and what replay reads. A restarted
 * stack appends to the same file and continues its offsets, so an offset names one event for good.
 *
 * The broker itself keeps only a bounded window of recent events in memory (RecentWindow): the
 * file holds them all.
 */
import { closeSync, createWriteStream, existsSync, fstatSync, mkdirSync, openSync, readSync, truncateSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../../core/common/ports';
import { silentLogger } from '../../core/common/ports';
import type { AnyCloudEvent } from '../../events/envelope';

export interface LoggedEvent {
  readonly offset: number;
  /** When the broker stored it (ms since epoch). */
  readonly storedAtMs: number;
  readonly event: AnyCloudEvent;
}

export interface EventLogWriter {
  /** The offset the next entry gets: one past the last entry already in the log (absent = 0). */
  readonly nextOffset?: number;
  append(entry: LoggedEvent): void;
  close(): Promise<void>;
}

/**
 * Appends to the log at `path`, continuing after what an earlier run wrote there. A torn last
 * line (a write cut short when the process died) is cut off first: it is no event anyone can
 * read, and the next entry must start on a line of its own.
 */
export function fileEventLog(path: string, logger: Logger = silentLogger): EventLogWriter {
  mkdirSync(dirname(path), { recursive: true });
  const tail = readLogTail(path);
  if (tail.tornBytes > 0) {
    truncateSync(path, tail.wholeBytes);
    logger.warn({ path, tornBytes: tail.tornBytes }, 'event log ended in a torn line: cut it off');
  }
  const stream: WriteStream = createWriteStream(path, { flags: 'a' });
  return {
    nextOffset: tail.nextOffset,
    append(entry) {
      stream.write(`${JSON.stringify(entry)}\n`);
    },
    close() {
      return new Promise((resolve) => stream.end(() => resolve()));
    },
  };
}

export interface LogTail {
  /** One past the offset of the last whole entry; 0 for a missing or empty log. */
  readonly nextOffset: number;
  /** Bytes of whole lines: where the next entry goes. */
  readonly wholeBytes: number;
  /** Bytes after the last newline (a torn write). */
  readonly tornBytes: number;
}

const CHUNK_BYTES = 64 * 1024;
/** Every entry is written as `{"offset":N,…`, so the first bytes of a line name its offset. */
const OFFSET_PREFIX = /^\{"offset":(\d+)[,}]/;
/** A line whose prefix is not as written is parsed whole only up to this size. */
const MAX_PARSED_LINE_BYTES = 16 * 1024 * 1024;

/**
 * Reads where the log at `path` ends, from its tail: the last whole line that is an entry gives
 * the next offset (lines that are not entries are skipped, backwards, until one is).
 */
export function readLogTail(path: string): LogTail {
  if (!existsSync(path)) return { nextOffset: 0, wholeBytes: 0, tornBytes: 0 };
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const wholeBytes = lastNewlineBefore(fd, size) + 1;
    let lineEnd = wholeBytes - 1;
    while (lineEnd > 0) {
      const lineStart = lastNewlineBefore(fd, lineEnd) + 1;
      const offset = offsetOfLine(fd, lineStart, lineEnd - lineStart);
      if (offset !== undefined) return { nextOffset: offset + 1, wholeBytes, tornBytes: size - wholeBytes };
      lineEnd = lineStart - 1;
    }
    return { nextOffset: 0, wholeBytes, tornBytes: size - wholeBytes };
  } finally {
    closeSync(fd);
  }
}

/** Position of the last `\n` before byte `end`, or -1. */
function lastNewlineBefore(fd: number, end: number): number {
  const buf = Buffer.alloc(CHUNK_BYTES);
  for (let chunkEnd = end; chunkEnd > 0; chunkEnd -= CHUNK_BYTES) {
    const start = Math.max(0, chunkEnd - CHUNK_BYTES);
    const read = readSync(fd, buf, 0, chunkEnd - start, start);
    const at = buf.subarray(0, read).lastIndexOf(0x0a);
    if (at >= 0) return start + at;
  }
  return -1;
}

function offsetOfLine(fd: number, start: number, length: number): number | undefined {
  if (length <= 0) return undefined;
  const head = Buffer.alloc(Math.min(length, 64));
  readSync(fd, head, 0, head.length, start);
  const m = OFFSET_PREFIX.exec(head.toString('utf8'));
  if (m) return Number(m[1]);
  if (length > MAX_PARSED_LINE_BYTES) return undefined;
  const line = Buffer.alloc(length);
  readSync(fd, line, 0, length, start);
  try {
    const offset = (JSON.parse(line.toString('utf8')) as { offset?: unknown }).offset;
    return typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0 ? offset : undefined;
  } catch {
    return undefined;
  }
}

export interface RecentLimits {
  /** Most items kept. */
  readonly maxItems: number;
  /** Most bytes kept (as each item's size is estimated); an item larger than this is not kept at all. */
  readonly maxBytes: number;
}

export const DEFAULT_RECENT_LIMITS: RecentLimits = { maxItems: 10_000, maxBytes: 64 * 1024 * 1024 };

/**
 * The most recent items, oldest first, bounded by count and by bytes: what a broker keeps in
 * memory of its log for its in-process views.
 */
export class RecentWindow<T> {
  private items: T[] = [];
  private sizes: number[] = [];
  /** Items before this index are already evicted (dropped in bulk, not one shift per push). */
  private head = 0;
  private bytes = 0;

  constructor(private readonly limits: RecentLimits, private readonly sizeOf: (item: T) => number) {}

  push(item: T): void {
    const size = this.sizeOf(item);
    this.items.push(item);
    this.sizes.push(size);
    this.bytes += size;
    while (this.head < this.items.length && (this.items.length - this.head > this.limits.maxItems || this.bytes > this.limits.maxBytes)) {
      this.bytes -= this.sizes[this.head]!;
      this.head += 1;
    }
    if (this.head > 1024 && this.head * 2 > this.items.length) this.compact();
  }

  /** The kept items, oldest first. */
  list(): readonly T[] {
    if (this.head > 0) this.compact();
    return this.items;
  }

  get retainedBytes(): number {
    return this.bytes;
  }

  private compact(): void {
    this.items = this.items.slice(this.head);
    this.sizes = this.sizes.slice(this.head);
    this.head = 0;
  }
}

/** A logged event's weight in memory, estimated by its JSON form (what the file log writes). */
export function loggedEventBytes(entry: { readonly event: AnyCloudEvent }): number {
  return JSON.stringify(entry.event).length;
}

/** The projection `ssis events` prints: one JSON object per event. */
export function printable(e: AnyCloudEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { id: e.id, type: e.type, source: e.source, subject: e.subject, time: e.time, partitionkey: e.partitionkey };
  if (e.extensions && Object.keys(e.extensions).length > 0) out['extensions'] = e.extensions;
  // Data that is not JSON is shown as the event holds it: its media type and its bytes in base64.
  if (e.data_base64 !== undefined) Object.assign(out, { datacontenttype: e.datacontenttype, data_base64: e.data_base64 });
  else out['data'] = e.data;
  return out;
}
