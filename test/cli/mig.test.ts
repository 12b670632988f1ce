import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInstance } from '../../sim/workload/mig-instances';

const BIN = join(__dirname, '..', '..', 'bin', 'ssis.js');
const EXAMPLES = join(__dirname, '..', '..', 'examples', 'mig');
const STATE = join(EXAMPLES, 'proposal-state.json');
const DEMAND = join(EXAMPLES, 'proposal-demand.json');

describe('cli: ssis mig plan', function () {
  this.timeout(30_000);

  it('prints the proposal example as a table: one move make-before-break, the 3g at slot 4, the node label', () => {
    const out = execFileSync('node', [BIN, 'mig', 'plan', '--state', STATE, '--demand', DEMAND], { encoding: 'utf8' });
    expect(out).to.match(/^MIG plan \(planner\): 2 GPUs in use \(before: 2\), 1 new replica\(s\) placed, 0 unmet, 1 move, 1 GPU\(s\) changed/);
    expect(out).to.match(/1\s+embed-00001-1\s+embed\s+node-a\/gpu0 2g\.10gb@4\s+node-a\/gpu0 2g\.10gb@2\s+repartition/);
    expect(out).to.match(/summarize-00001-1\s+summarize\s+node-a\/gpu0\s+3g\.20gb@4\s+created node-a\/gpu0\/3g\.20gb@4/);
    expect(out).to.contain('node-a/gpu0  A100-SXM4-40GB  MIG  2g.10gb@0 chat-00001-1, 2g.10gb@2 embed-00001-1, 3g.20gb@4 summarize-00001-1');
    expect(out).to.match(/node-a: nvidia\.com\/mig\.config=ssis-node-a-[0-9a-f]{8}/);
  });

  it('--json prints the plan value; --algorithm first-fit shows the baseline leaving the 3g unmet', () => {
    const plan = JSON.parse(execFileSync('node', [BIN, 'mig', 'plan', '--state', STATE, '--demand', DEMAND, '--json'], { encoding: 'utf8' })) as { moves: unknown[]; summary: Record<string, number>; migParted: { config: { version: string } } };
    expect(plan.summary).to.include({ moves: 1, unmet: 0, gpusUsed: 2 });
    expect(plan.migParted.config.version).to.equal('v1');
    const ff = execFileSync('node', [BIN, 'mig', 'plan', '--state', STATE, '--demand', DEMAND, '--algorithm', 'first-fit'], { encoding: 'utf8' });
    expect(ff).to.contain('summarize (priority 1): 1 of 1 3g.20gb replica(s) unplaced');
  });

  it('runs the exact stage by default where it beats the heuristic (seeded 32-GPU instance 11: one GPU fewer); --no-exact skips it', () => {
    const input = randomInstance({ gpus: 32, seed: 11 });
    const dir = mkdtempSync(join(tmpdir(), 'ssis-mig-'));
    writeFileSync(join(dir, 'state.json'), JSON.stringify({ gpus: input.gpus }));
    writeFileSync(join(dir, 'demand.json'), JSON.stringify({ services: input.demand }));
    const run = (...extra: string[]): { algorithm: string; summary: Record<string, number> } =>
      JSON.parse(execFileSync('node', [BIN, 'mig', 'plan', '--state', join(dir, 'state.json'), '--demand', join(dir, 'demand.json'), '--json', ...extra], { encoding: 'utf8' })) as { algorithm: string; summary: Record<string, number> };
    const exact = run();
    const heuristic = run('--no-exact');
    expect(exact.algorithm).to.equal('planner/exact');
    expect(heuristic.algorithm).to.equal('planner');
    expect(exact.summary.gpusUsed).to.equal(heuristic.summary.gpusUsed! - 1);
    expect(execFileSync('node', [BIN, 'mig', 'plan', '--help'], { encoding: 'utf8' })).to.contain('--no-exact');
  });

  it('--help, and refusals: missing options, a state that breaks the geometry (naming GPU, slot, profile)', () => {
    expect(execFileSync('node', [BIN, 'mig', 'plan', '--help'], { encoding: 'utf8' })).to.contain('--state <file>');
    expect(execFileSync('node', [BIN, 'help'], { encoding: 'utf8' })).to.contain('mig       plan MIG layouts');
    const missing = spawnSync('node', [BIN, 'mig', 'plan', '--state', STATE], { encoding: 'utf8' });
    expect(missing.status).to.equal(1);
    expect(missing.stderr).to.contain('--demand <file> required');
    const dir = mkdtempSync(join(tmpdir(), 'ssis-mig-'));
    const bad = join(dir, 'state.json');
    writeFileSync(bad, JSON.stringify({ gpus: [{ node: 'n1', index: 0, model: 'A100-SXM4-40GB', migEnabled: true, instances: [{ id: 'a', profile: '3g.20gb', start: 0, owner: 'x' }, { id: 'b', profile: '2g.10gb', start: 2, owner: 'y' }] }] }));
    const r = spawnSync('node', [BIN, 'mig', 'plan', '--state', bad, '--demand', DEMAND], { encoding: 'utf8' });
    expect(r.status).to.equal(1);
    expect(r.stderr).to.contain('n1/gpu0: 2g.10gb@2').and.contain('overlaps 3g.20gb@0').and.contain('memory slots 2, 3');
  });
});
