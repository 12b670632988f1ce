/**
 * A real llama.cpp engine on loopback: llama-server (built by llama-cpp/build.sh) serving one GGUF
 * model on 127.0.0.1 on a free port, with its OpenAI-compatible API (/v1/completions,
 * /v1/chat/completions), /health, /slots and Prometheus /metrics. It closes the connection after
 * every streamed answer although it offered keep-alive, so a client must not pool that connection
 * (the next request on it fails with "other side closed").
 *
 * Each start gets a run folder (infra/local-process/run-folders.ts) holding the log, the pid file,
 * `owner.pid` and a link to the model; the server is given the model through that link, so its
 * command line names the folder and a recycled pid of someone else is never signalled. A process
 * 'exit' hook kills a server its owner forgot, and the next start reaps servers whose owner was
 * killed outright.
 */
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SsisError } from '../../core/errors';
import { killRunFolderPids, reapOrphanedRunFolders, startRunFolderProcess, tailOf, type RunFolderProcess } from '../local-process/run-folders';
import { ENGINE_FAILURE } from './engine-errors';
import { llamaCppArtifacts } from './llama-cpp-binaries';

const RUN_DIR_PREFIX = 'ssis-llama-server-';

export interface LlamaServerOptions {
  readonly modelPath: string;
  /** The model id clients name in `model` (and the server reports in /v1/models). */
  readonly alias: string;
  /** CPU threads for generation and prompt processing (default 2: the size of this project's machines). */
  readonly threads?: number;
  /** KV-cache size in tokens, shared by all slots (default 2048). */
  readonly contextSize?: number;
  /** Requests decoded at once; each gets contextSize / parallel tokens (default 1). */
  readonly parallel?: number;
  /** Default: the cached build of build.sh. */
  readonly binary?: string;
  /** Bounds the wait for /health; loading the 270M model takes a few seconds (default 60 s). */
  readonly readyTimeoutMs?: number;
  /** Appended after the options above; a later flag wins in llama-server. */
  readonly extraArgs?: readonly string[];
}

export interface LlamaServer {
  /** http://127.0.0.1:<port>, no trailing slash. */
  readonly url: string;
  readonly alias: string;
  readonly runDir: string;
  readonly logPath: string;
  pid(): number | undefined;
  /** SIGTERM, SIGKILL after graceMs, then deletes the run folder. Idempotent. */
  stop(graceMs?: number): Promise<void>;
  /** Synchronous last resort (process 'exit' handlers): SIGKILL, no clean-up. */
  killNow(): void;
}

/** Kills llama-servers whose owner process is gone and deletes their run folders. */
export function reapStaleLlamaServers(base = tmpdir()): number {
  return reapOrphanedRunFolders(base, RUN_DIR_PREFIX, killRunFolderPids);
}

/** The flags the server runs with, apart from where it listens. */
export function llamaServerArgs(o: { model: string; alias: string; threads: number; contextSize: number; parallel: number }): string[] {
  return [
    '-m', o.model,
    '--alias', o.alias,
    '-t', String(o.threads),
    '-c', String(o.contextSize),
    '-np', String(o.parallel),
    // ggml's weight repacking (for its wide-SIMD matmul kernels) has segfaulted on this project's
    // machines; the plain kernels are correct, and a 270M model does not need the speed.
    '--no-repack',
    '--metrics',
    // Never reach for a model hub, even if a flag or a future default asked it to.
    '--offline',
  ];
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

/** 'ready' once /health answers 200 (it answers 503 while the model loads). */
async function waitHealthy(url: string, running: () => boolean, timeoutMs: number): Promise<'ready' | 'exited' | 'timeout'> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!running()) return 'exited';
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      if (res.status === 200) return 'ready';
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return running() ? 'timeout' : 'exited';
}

/**
 * Starts llama-server and resolves once /health says the model is loaded.
 * @throws {SsisError} when the binary or the model is missing, the server exits during start-up
 * or it is not healthy within readyTimeoutMs; nothing is left running then
 */
export async function startLlamaServer(opts: LlamaServerOptions): Promise<LlamaServer> {
  const binary = opts.binary ?? llamaCppArtifacts().llamaServer;
  if (!existsSync(binary)) throw new SsisError(ENGINE_FAILURE, `no llama-server at ${binary}: build it with infra/engines/llama-cpp/build.sh`);
  const model = resolve(opts.modelPath);
  if (!existsSync(model)) throw new SsisError(ENGINE_FAILURE, `no model at ${model}: fetch it with infra/engines/llama-cpp/build.sh`);
  const readyTimeoutMs = opts.readyTimeoutMs ?? 60_000;
  reapStaleLlamaServers();
  const runDir = mkdtempSync(join(tmpdir(), RUN_DIR_PREFIX));
  writeFileSync(join(runDir, 'owner.pid'), `${process.pid}\n`);
  const link = join(runDir, 'model.gguf');
  symlinkSync(model, link);
  const args = llamaServerArgs({ model: link, alias: opts.alias, threads: opts.threads ?? 2, contextSize: opts.contextSize ?? 2048, parallel: opts.parallel ?? 1 });

  let proc: RunFolderProcess | undefined;
  const killNow = (): void => proc?.killNow();
  let stopped = false;
  const stop = async (graceMs = 5_000): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', killNow);
    await proc?.stop(graceMs);
    rmSync(runDir, { recursive: true, force: true });
  };
  process.once('exit', killNow);

  // The free port can be taken between the probe and the server's bind: try another one.
  const listen = async (attempt: number): Promise<{ url: string; started: RunFolderProcess }> => {
    const port = await freeLoopbackPort();
    const url = `http://127.0.0.1:${port}`;
    const started = startRunFolderProcess({
      name: 'llama-server',
      command: binary,
      args: [...args, '--host', '127.0.0.1', '--port', String(port), ...(opts.extraArgs ?? [])],
      runDir,
      detached: false,
    });
    proc = started;
    const outcome = await waitHealthy(url, () => started.running(), readyTimeoutMs);
    if (outcome === 'ready') return { url, started };
    const log = tailOf(started.logPath);
    started.killNow();
    if (outcome === 'exited' && /couldn't bind|address already in use/i.test(log) && attempt < 3) return listen(attempt + 1);
    const what = outcome === 'exited' ? 'exited during start-up' : `was not healthy within ${readyTimeoutMs} ms`;
    throw new SsisError(ENGINE_FAILURE, `llama-server ${what}${log === '' ? '' : `:\n${log}`}`);
  };

  let listening: { url: string; started: RunFolderProcess };
  try {
    listening = await listen(1);
  } catch (err) {
    await stop(1_000);
    throw err;
  }
  const { url, started } = listening;
  return {
    url,
    alias: opts.alias,
    runDir,
    logPath: started.logPath,
    pid: () => started.pid(),
    stop,
    killNow,
  };
}
