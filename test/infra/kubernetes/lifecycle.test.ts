/**
 * The control plane's own lifecycle: stop() leaves no process and no folder behind, and a plane
 * whose owning process was killed outright is reaped by the next start.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { reapStaleControlPlanes, startLocalControlPlane } from '../../../infra/kubernetes/local-control-plane';
import { isAlive, runFolderPids } from '../../../infra/local-process/run-folders';
import { ROOT, waitFor } from './control-plane-fixture';

describe('local control plane: start, stop, reaping', function () {
  this.timeout(120_000);

  it('stop() ends every process and deletes the run folder it made', async () => {
    const plane = await startLocalControlPlane({ nodes: false, knativeCrds: false, buildProgress: false });
    const pids = [...runFolderPids(plane.runDir).values()];
    expect([...runFolderPids(plane.runDir).keys()].sort()).to.deep.equal(['etcd', 'kube-apiserver']);
    expect(plane.server).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
    await plane.stop();
    expect(pids.filter(isAlive)).to.deep.equal([]);
    expect(existsSync(plane.runDir)).to.equal(false);
  });

  it('reaps the plane of a run that was SIGKILLed', async () => {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', join(__dirname, 'orphan-child.ts')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const runDir = await waitFor('the child plane', () => {
      if (child.exitCode !== null) throw new Error(`the child exited: ${err}`);
      return out.includes('\n') ? out.trim() : undefined;
    }, 90_000);
    const pids = [...runFolderPids(runDir).values()];
    expect(pids).to.have.length(2);

    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGKILL');
    await exited;
    expect(pids.filter(isAlive), 'the plane outlives its killed owner').to.have.length(2);

    expect(reapStaleControlPlanes()).to.be.at.least(1);
    await waitFor('the orphaned processes gone', () => (pids.some(isAlive) ? undefined : true), 10_000);
    expect(existsSync(runDir)).to.equal(false);
  });
});
