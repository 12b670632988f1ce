/**
 * The broker's log of every accepted event, as JSON lines in the state folder (`.ssis/` by
 * default): what `npx ssis events` prints while the stack runs, and what replay reads.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { AnyCloudEvent } from '../../events/envelope';

export interface LoggedEvent {
  readonly offset: number;
  /** When the broker stored it (ms since epoch). */
  readonly storedAtMs: number;
  readonly event: AnyCloudEvent;
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
export function printable(e: AnyCloudEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { id: e.id, type: e.type, source: e.source, subject: e.subject, time: e.time, partitionkey: e.partitionkey };
  if (e.extensions && Object.keys(e.extensions).length > 0) out['extensions'] = e.extensions;
  // Data that is not JSON is shown as the event holds it: its media type and its bytes in base64.
  if (e.data_base64 !== undefined) Object.assign(out, { datacontenttype: e.datacontenttype, data_base64: e.data_base64 });
  else out['data'] = e.data;
  return out;
}
