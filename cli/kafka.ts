/**
 * `ssis kafka fetch|start|wait|stop|status`: a local single-node Apache Kafka for Kafka mode,
 * from Maven Central jars (infra/kafka/pom.xml → .cache/kafka/<version>/lib). The broker runs
 * detached with its data in .cache/kafka/run/, so topics survive a stop/start (replay them later);
 * `--fresh` starts from empty storage. Tests do not use this one: they start their own on free ports.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SsisError } from '../core/errors';
import { detachedKafka, fetchKafka, KAFKA_VERSION, PROJECT_ROOT, startLocalKafka, stopDetachedKafka, waitForKafka } from '../infra/kafka/local-kafka';

const HELP = `Usage: ssis kafka <fetch|start|wait|stop|status> [options]   (npm run kafka -- <command>)

A local Apache Kafka ${KAFKA_VERSION} (KRaft, one node, loopback) for SSIS_BROKER=kafka://127.0.0.1:<port>.

  fetch    download kafka_2.13 and its dependencies from Maven Central with mvn (once; cached in .cache/kafka/)
  start    fetch if needed, format storage (first time), start the broker detached and wait until ready
  wait     wait until the started broker answers (--timeout seconds, default 60)
  stop     stop it (SIGTERM, then SIGKILL after 15 s)
  status   print its address and pid, exit 1 when not running

Options:
  --port <n>      PLAINTEXT port (default 9092); the controller listens on port + 1
  --fresh         start: delete the stored topics first
  --timeout <s>   wait: seconds (default 60)
`;

const RUN_DIR = join(PROJECT_ROOT, '.cache', 'kafka', 'run');

export async function runKafka(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { port: { type: 'string' }, fresh: { type: 'boolean' }, timeout: { type: 'string' }, help: { type: 'boolean' } } });
  const command = positionals[0];
  if (values.help || command === undefined) {
    process.stdout.write(HELP);
    return;
  }
  switch (command) {
    case 'fetch':
      process.stdout.write(`${fetchKafka({ quiet: false })}\n`);
      return;
    case 'start': {
      const running = detachedKafka(RUN_DIR);
      if (running) {
        process.stdout.write(`Kafka already running: kafka://${running.bootstrap} (pid ${running.pid})\n`);
        return;
      }
      const port = Number(values.port ?? 9092);
      if (!Number.isInteger(port) || port < 1 || port > 65534) throw new SsisError('SSIS_INVALID_CONFIG', `--port must be 1-65534, got ${values.port ?? ''}`);
      if (values.fresh) rmSync(join(RUN_DIR, 'data'), { recursive: true, force: true });
      const kafka = await startLocalKafka({ runDir: RUN_DIR, port, controllerPort: port + 1, detached: true, partitions: 1 });
      process.stdout.write(`Kafka ${KAFKA_VERSION} ready: kafka://${kafka.bootstrap} (pid ${kafka.pid() ?? '?'}, log ${join(RUN_DIR, 'kafka.log')})\nexport SSIS_BROKER=kafka://${kafka.bootstrap}\n`);
      return;
    }
    case 'wait': {
      const running = detachedKafka(RUN_DIR);
      if (!running) throw new SsisError('SSIS_BROKER_UNAVAILABLE', 'no local Kafka started: npm run kafka -- start');
      const timeoutSec = Number(values.timeout ?? 60);
      if (!(timeoutSec > 0)) throw new SsisError('SSIS_INVALID_CONFIG', `--timeout must be a number of seconds > 0, got ${values.timeout ?? ''}`, { issues: [{ field: '--timeout', message: 'must be > 0' }] });
      await waitForKafka(running.bootstrap, { timeoutMs: timeoutSec * 1000, logPath: join(RUN_DIR, 'kafka.log') });
      process.stdout.write(`kafka://${running.bootstrap} ready\n`);
      return;
    }
    case 'stop':
      process.stdout.write((await stopDetachedKafka(RUN_DIR)) ? 'Kafka stopped\n' : 'Kafka was not running\n');
      return;
    case 'status': {
      const running = detachedKafka(RUN_DIR);
      process.stdout.write(running ? `kafka://${running.bootstrap} (pid ${running.pid})\n` : 'not running\n');
      if (!running) process.exitCode = 1;
      return;
    }
    default:
      throw new SsisError('SSIS_INVALID_CONFIG', `unknown kafka command "${command}" (fetch, start, wait, stop, status)`);
  }
}
