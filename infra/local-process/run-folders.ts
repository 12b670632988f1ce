/**
 * Local services the project starts for itself (Kafka, Prometheus, the Kubernetes control plane)
 * each live in a run folder: the folder is in each process's arguments and holds its pid files
 * and `owner.pid`, the process that started it. The folder is what makes a pid ours: a pid is
 * only ever signalled after /proc/<pid>/cmdline shows that folder, so a recycled pid of someone
 * else is never hit; and a folder whose owner is gone is a leftover to reap.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RunFolderProcess {
  readonly name: string;
  readonly logPath: string;
  pid(): number | undefined;
  running(): boolean;
  /** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone. */
  stop(graceMs: number): Promise<void>;
  /** Synchronous, for process 'exit' handlers. */
  killNow(): void;
}

/** A zombie counts as gone: a detached process's new parent may take its time to reap it. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function readPid(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export function belongsToRunFolder(pid: number, runDir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(runDir);
  } catch {
    return false;
  }
}

/** The live processes of `runDir` by name (from its pid files). */
export function runFolderPids(runDir: string): Map<string, number> {
  const pids = new Map<string, number>();
  let files: string[];
  try {
    files = readdirSync(join(runDir, 'pids'));
  } catch {
    return pids;
  }
  for (const file of files) {
    if (!file.endsWith('.pid')) continue;
    const pid = readPid(join(runDir, 'pids', file));
    if (pid !== undefined && isAlive(pid) && belongsToRunFolder(pid, runDir)) pids.set(file.slice(0, -'.pid'.length), pid);
  }
  return pids;
}

/** Signals `pid`, which may have gone in the meantime. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

async function waitGone(pid: number, graceMs: number): Promise<void> {
  const deadline = Date.now() + graceMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) signal(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Stops processes that are not our children (a detached control plane), in the order given. */
export async function stopRunFolderPids(runDir: string, order: readonly string[], graceMs: number): Promise<boolean> {
  const pids = runFolderPids(runDir);
  const names = [...order.filter((n) => pids.has(n)), ...[...pids.keys()].filter((n) => !order.includes(n))];
  for (const name of names) {
    const pid = pids.get(name)!;
    signal(pid, 'SIGTERM');
    await waitGone(pid, graceMs);
  }
  return pids.size > 0;
}

/** SIGKILLs every process of `runDir` at once (a run whose owner died). */
export function killRunFolderPids(runDir: string): number {
  const pids = runFolderPids(runDir);
  for (const pid of pids.values()) signal(pid, 'SIGKILL');
  return pids.size;
}

/** Starts `command` with stdout and stderr in `<runDir>/logs/<name>.log`. */
export function startRunFolderProcess(opts: { name: string; command: string; args: readonly string[]; runDir: string; detached: boolean }): RunFolderProcess {
  mkdirSync(join(opts.runDir, 'logs'), { recursive: true });
  mkdirSync(join(opts.runDir, 'pids'), { recursive: true });
  const logPath = join(opts.runDir, 'logs', `${opts.name}.log`);
  const pidPath = join(opts.runDir, 'pids', `${opts.name}.pid`);
  const out = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(opts.command, [...opts.args], { cwd: opts.runDir, detached: opts.detached, stdio: ['ignore', out, out] });
  } finally {
    closeSync(out);
  }
  // A spawn failure (ENOENT) arrives as an 'error' event; running() then reports it gone.
  child.once('error', () => undefined);
  const exited = new Promise<void>((done) => {
    child.once('exit', () => done());
    child.once('error', () => done());
  });
  if (child.pid !== undefined) writeFileSync(pidPath, `${child.pid}\n`);
  if (opts.detached) child.unref();
  const running = (): boolean => child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  return {
    name: opts.name,
    logPath,
    pid: () => child.pid,
    running,
    async stop(graceMs) {
      if (running()) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      rmSync(pidPath, { force: true });
    },
    killNow() {
      if (running()) child.kill('SIGKILL');
    },
  };
}

export function tailOf(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Reaps the run folders under `base` named `<prefix>…` whose owner process is gone (a run that was
 * SIGKILLed): `kill` ends the folder's processes, then the folder goes. A folder without
 * `owner.pid` belongs to a detached service (or a start under way) and is kept. Returns how many.
 */
export function reapOrphanedRunFolders(base: string, prefix: string, kill: (runDir: string) => void): number {
  let reaped = 0;
  for (const name of readdirSync(base)) {
    if (!name.startsWith(prefix)) continue;
    const dir = join(base, name);
    const owner = readPid(join(dir, 'owner.pid'));
    if (owner === undefined || isAlive(owner)) continue;
    kill(dir);
    rmSync(dir, { recursive: true, force: true });
    reaped++;
  }
  return reaped;
}

/** SIGKILLs the process whose pid `pidFile` holds, if it is alive and belongs to `runDir`. */
export function killPidFileProcess(pidFile: string, runDir: string): void {
  const pid = readPid(pidFile);
  if (pid !== undefined && isAlive(pid) && belongsToRunFolder(pid, runDir)) process.kill(pid, 'SIGKILL');
}
