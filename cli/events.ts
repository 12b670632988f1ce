/** `ssis events`: the stack's events (the broker log) as JSON lines, optionally filtered and followed. */
import { createReadStream, existsSync, statSync, watchFile, unwatchFile } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { SsisError } from '../core/errors';
import { printable, type LoggedEvent } from '../infra/broker/event-log';
import { isKafkaUrl, knativeNames, parseKafkaUrl } from '../infra/kafka/names';
import { parsePosition, readTopic } from '../infra/kafka/topic-reader';
import { loadManifests } from '../infra/knative/manifests';
import { PROJECT_ROOT } from '../infra/project-root';

const HELP = `Usage: ssis events [options]

Prints the events of the running (or last) embedded stack as JSON lines:
{id, type, source, subject, time, partitionkey, data}.

Options:
  --type <type>       only events of this type (repeatable; prefix match with a trailing *)
  --subject <s>       only events about this subject (the model service, e.g. gpt2)
  --follow, -f        keep printing new events
  --dead-letter       print the dead-lettered events instead (with knativeerror* extensions)
  --state-dir <dir>   where the stack keeps its log (default: .ssis/)
  --broker <url>      kafka://host:port: read the Kafka broker topic (or, with --dead-letter, the
                      KafkaSink's topic) instead of the log (default: $SSIS_BROKER when kafka://)
  --from <pos>        with --broker: start at a time (RFC 3339, -5m) or offsets p:offset,… (default: beginning)
`;

export async function runEvents(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      type: { type: 'string', multiple: true }, subject: { type: 'string' }, follow: { type: 'boolean', short: 'f' }, 'state-dir': { type: 'string' }, 'dead-letter': { type: 'boolean' }, help: { type: 'boolean' },
      broker: { type: 'string' }, from: { type: 'string' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const broker = values.broker ?? (isKafkaUrl(process.env['SSIS_BROKER']) ? process.env['SSIS_BROKER'] : undefined);
  if (broker !== undefined) {
    const names = knativeNames(loadManifests(join(PROJECT_ROOT, 'knative')));
    const topic = values['dead-letter'] ? names.sinkTopic('ssis-dead-letter') ?? 'ssis-dead-letter' : names.topic;
    const types = values.type ?? [];
    const abort = new AbortController();
    if (values.follow) process.once('SIGINT', () => abort.abort());
    await readTopic({ brokers: parseKafkaUrl(broker, '--broker'), topic, ...(values.from ? { from: parsePosition(values.from, '--from') } : {}), ...(values.follow ? { follow: abort.signal } : {}) }, (r) => {
      const e = r.event;
      if (!e) return;
      const keep = (types.length === 0 || types.some((t) => (t.endsWith('*') ? e.type.startsWith(t.slice(0, -1)) : e.type === t))) && (values.subject === undefined || e.subject === values.subject || e.partitionkey === values.subject);
      if (keep) process.stdout.write(`${JSON.stringify(printable(e))}\n`);
    });
    return;
  }
  const path = join(resolve(values['state-dir'] ?? join(PROJECT_ROOT, '.ssis')), values['dead-letter'] ? 'dead-letter.jsonl' : 'events.jsonl');
  if (!existsSync(path)) throw new SsisError('SSIS_NOT_FOUND', `no event log at ${path}: start the stack first (npm start)`);
  const types = values.type ?? [];
  const keep = (e: LoggedEvent): boolean =>
    (types.length === 0 || types.some((t) => (t.endsWith('*') ? e.event.type.startsWith(t.slice(0, -1)) : e.event.type === t))) &&
    (values.subject === undefined || e.event.subject === values.subject || e.event.partitionkey === values.subject);
  const print = (line: string): void => {
    if (line.trim() === '') return;
    try {
      const entry = JSON.parse(line) as LoggedEvent;
      if (keep(entry)) process.stdout.write(`${JSON.stringify(printable(entry.event))}\n`);
    } catch {
      /* a line being written while we read; the next read gets it whole */
    }
  };
  let offset = await readFrom(path, 0, print);
  if (!values.follow) return;
  await new Promise<void>((done) => {
    watchFile(path, { interval: 250 }, () => {
      void readFrom(path, offset, print).then((next) => (offset = next));
    });
    process.once('SIGINT', () => {
      unwatchFile(path);
      done();
    });
  });
}

async function readFrom(path: string, start: number, onLine: (line: string) => void): Promise<number> {
  const size = statSync(path).size;
  if (size <= start) return start;
  // Only whole lines are consumed; a partial last line is read again next time.
  let consumed = start;
  const rl = createInterface({ input: createReadStream(path, { start, end: size - 1 }), crlfDelay: Infinity });
  for await (const line of rl) {
    consumed += Buffer.byteLength(line) + 1;
    if (consumed > size) {
      consumed -= Buffer.byteLength(line) + 1;
      break;
    }
    onLine(line);
  }
  return consumed;
}
