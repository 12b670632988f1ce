/**
 * Start-up cost of the `ssis` command: wall time of `ssis --help` and of an optimizer run, each
 * as a ratio to a bare `node -e ''` measured in the same run, alternating the commands so that
 * machine noise hits all of them alike. "via tsx" is the same command run from the TypeScript
 * sources through tsx, the way the CLI started before it ran compiled JavaScript.
 *
 *   npm run bench:cli            # 15 repetitions
 *   BENCH_REPS=30 npm run bench:cli
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../infra/project-root';

const REPS = Number(process.env['BENCH_REPS'] ?? 15);
const LARGE = join(PROJECT_ROOT, '..', 'shared', 'reference', 'inferno', 'sample-data', 'large');

interface Command {
  readonly name: string;
  readonly args: readonly string[];
}

const COMMANDS: readonly Command[] = [
  { name: "node -e ''", args: ['-e', ''] },
  { name: 'ssis --help', args: ['bin/ssis.js', '--help'] },
  { name: 'ssis --help via tsx', args: ['--require', 'tsx/cjs', '-e', "require('./cli/main.ts').main(['--help'])"] },
  { name: 'ssis optimize --data …/large', args: ['bin/ssis.js', 'optimize', '--data', LARGE] },
  { name: 'ssis optimize --data …/large via tsx', args: ['--require', 'tsx/cjs', '-e', `require('./cli/main.ts').main(['optimize','--data',${JSON.stringify(LARGE)}])`] },
];

function wallMs(cmd: Command): number {
  const start = process.hrtime.bigint();
  const run = spawnSync(process.execPath, cmd.args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (run.status !== 0) throw new Error(`${cmd.name} exited ${run.status}: ${run.stderr.toString()}`);
  return ms;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function main(): void {
  spawnSync(process.execPath, ['scripts/cli-build.js'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  const samples = new Map<string, number[]>(COMMANDS.map((c) => [c.name, []]));
  for (const c of COMMANDS) wallMs(c); // warm the page cache and tsx's transpile cache
  for (let i = 0; i < REPS; i++) for (const c of COMMANDS) samples.get(c.name)!.push(wallMs(c));
  const base = median(samples.get(COMMANDS[0]!.name)!);
  console.log(`CLI start-up, median of ${REPS} runs each (same run, alternating)`);
  console.log(`${'command'.padEnd(40)} ${'median ms'.padStart(10)} ${'× node -e'.padStart(10)}`);
  for (const c of COMMANDS) {
    const m = median(samples.get(c.name)!);
    console.log(`${c.name.padEnd(40)} ${m.toFixed(0).padStart(10)} ${(m / base).toFixed(2).padStart(10)}`);
  }
}

main();
