/**
 * The `ssis` command: one sub-command per module of cli/, loaded when it runs.
 */
const HELP = `ssis — Scalable Serving Inference System

Usage: ssis <command> [options]

Commands:
  start     run the whole system on the embedded default (ingress on http://localhost:8080)
  keys      create API keys for the inference APIs (a key file, or a Kubernetes Secret)
  events    print the running stack's events as JSON lines
  replay    re-deliver events from the Kafka broker topic, or replay them offline with another policy (what-if)
  kafka     fetch, start, wait for or stop a local Apache Kafka for Kafka mode (SSIS_BROKER=kafka://…)
  kube      build, start or stop a local Kubernetes control plane (kube-apiserver, etcd, Knative CRDs, KWOK nodes)
  optimize  solve an Inferno system (accelerator, replicas, batch per server at least cost)
  mig       plan MIG layouts: ssis mig plan --state <file> --demand <file> (placement, moves, unmet, node labels)
  simulate  discrete-event simulation: compare scaling configurations on a scenario, write a report
  help      show this help

Run "ssis <command> --help" for a command's options.
`;

export async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  try {
    // Each command loads its own modules only when it runs: `ssis --help` should not pay for
    // the stack, the solver and the simulator. (A dynamic import() would bypass tsx's require
    // hook, through which the tests load these sources.)
    /* eslint-disable @typescript-eslint/no-require-imports -- the lazy loading described above */
    switch (command) {
      case 'start':
        await (require('./start') as typeof import('./start')).runStart(rest);
        return;
      case 'keys':
        (require('./keys') as typeof import('./keys')).runKeys(rest);
        return;
      case 'events':
        await (require('./events') as typeof import('./events')).runEvents(rest);
        return;
      case 'replay':
        await (require('./replay') as typeof import('./replay')).runReplay(rest);
        return;
      case 'kafka':
        await (require('./kafka') as typeof import('./kafka')).runKafka(rest);
        return;
      case 'kube':
        await (require('./kube') as typeof import('./kube')).runKube(rest);
        return;
      case 'mig':
        await (require('./mig') as typeof import('./mig')).runMig(rest);
        return;
      case 'optimize':
        await (require('./optimize') as typeof import('./optimize')).runOptimize(rest);
        return;
      case 'simulate':
        (require('./simulate') as typeof import('./simulate')).runSimulate(rest);
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
    /* eslint-enable @typescript-eslint/no-require-imports */
  } catch (err) {
    const e = err as { code?: string; message?: string; issues?: { field: string; message: string }[] };
    process.stderr.write(`ssis ${command ?? ''}: ${e.message ?? String(err)}\n`);
    for (const i of e.issues ?? []) process.stderr.write(`  - ${i.field}: ${i.message}\n`);
    process.exitCode = 1;
  }
}
