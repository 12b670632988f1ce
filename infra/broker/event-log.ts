/**
 * The broker's log of every accepted event, as JSON lines in the state folder (`.ssis/` by
 * default): what `npx ssis events` prints while the stack runs, and what replay reads.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { SsisEvent } from '../../events/envelope';

export interface LoggedEvent {
  readonly offset: number;
  /** When the broker stored it (ms since epoch). */
  readonly storedAtMs: number;
  readonly event: SsisEvent;
}

export interface EventLogWriter {
  append(entry: LoggedEvent): void;
  close(): Promise<void>;
}

export function fileEventLog(path: string): EventLogWriter {
  mkdirSync(dirname(path), { recursive: true });
  const stream: WriteStream = createWriteStream(path, { flags: 'a' });
  return {
    append(entry) {
      stream.write(`${JSON.stringify(entry)}\n`);
    },
    close() {
      return new Promise((resolve) => stream.end(() => resolve()));
    },
  };
}

/** The projection `ssis events` prints: one JSON object per event. */
export function printable(e: SsisEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { id: e.id, type: e.type, source: e.source, subject: e.subject, time: e.time, partitionkey: e.partitionkey };
  if (e.extensions && Object.keys(e.extensions).length > 0) out['extensions'] = e.extensions;
  out['data'] = e.data;
  return out;
}
