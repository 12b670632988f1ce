/**
 * The `ssis` command. `ssis start` runs the whole system on the embedded default; `ssis events`
 * prints the running stack's events as JSON lines.
 */
import { resolve } from 'node:path';
import { runEvents } from './events';
import { runKafka } from './kafka';
import { runMig } from './mig';
import { runOptimize } from './optimize';
import { runReplay } from './replay';
import { runSimulate } from './simulate';
import { runStart } from './start';

const HELP = `ssis — Scalable Serving Inference System

Usage: ssis <command> [options]

Commands:
  start     run the whole system on the embedded default (ingress on http://localhost:8080)
  events    print the running stack's events as JSON lines
  replay    re-deliver events from the Kafka broker topic, or replay them offline with another policy (what-if)
  kafka     fetch, start, wait for or stop a local Apache Kafka for Kafka mode (SSIS_BROKER=kafka://…)
  optimize  solve an Inferno system (accelerator, replicas, batch per server at least cost)
  mig       plan MIG layouts: ssis mig plan --state <file> --demand <file> (placement, moves, unmet, node labels)
  simulate  discrete-event simulation: compare scaling configurations on a scenario, write a report
  help      show this help

Run "ssis <command> --help" for a command's options.
`;

export const ROOT = resolve(__dirname, '..');

export async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'start':
        await runStart(rest);
        return;
      case 'events':
        await runEvents(rest);
        return;
      case 'replay':
        await runReplay(rest);
        return;
      case 'kafka':
        await runKafka(rest);
        return;
      case 'mig':
        await runMig(rest);
        return;
      case 'optimize':
        await runOptimize(rest);
        return;
      case 'simulate':
        runSimulate(rest);
        return;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(HELP);
        return;
      default:
        process.stderr.write(`ssis: unknown command "${command}"\n\n${HELP}`);
        process.exitCode = 2;
    }
  } catch (err) {
    const e = err as { code?: string; message?: string; issues?: { field: string; message: string }[] };
    process.stderr.write(`ssis ${command ?? ''}: ${e.message ?? String(err)}\n`);
    for (const i of e.issues ?? []) process.stderr.write(`  - ${i.field}: ${i.message}\n`);
    process.exitCode = 1;
  }
}
