import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(__dirname, '..', '..', 'bin', 'ssis.js');
const SAMPLES = join(__dirname, '..', '..', '..', 'shared', 'reference', 'inferno', 'sample-data');

describe('cli: ssis optimize (Inferno port)', function () {
  this.timeout(30_000);
  before(function () {
    if (!existsSync(SAMPLES)) this.skip(); // the reference data lives beside the checkout (../shared)
  });

  it('reproduces the published solution of sample-data/small with --json', () => {
    const ours = JSON.parse(execFileSync('node', [BIN, 'optimize', '--data', join(SAMPLES, 'small'), '--json'], { encoding: 'utf8' })) as { allocations: Record<string, Record<string, unknown>> };
    const published = JSON.parse(readFileSync(join(SAMPLES, 'small', 'solution-data.json'), 'utf8')) as { allocations: Record<string, Record<string, unknown>> };
    expect(Object.keys(ours.allocations).sort()).to.deep.equal(Object.keys(published.allocations).sort());
    for (const [server, p] of Object.entries(published.allocations)) {
      expect(ours.allocations[server], server).to.deep.include({ accelerator: p['accelerator'], numReplicas: p['numReplicas'], maxBatch: p['maxBatch'], cost: p['cost'] });
    }
  });

  it('prints a table with the total cost of sample-data/large (27007, as published)', () => {
    const out = execFileSync('node', [BIN, 'optimize', '--data', join(SAMPLES, 'large')], { encoding: 'utf8' });
    expect(out).to.match(/^server\s+accelerator\s+replicas\s+batch\s+cost/);
    expect(out).to.contain('total cost 27007 cents/hour (Greedy)');
  });

  it('solves the MILP with HiGHS on request: single, limited, cheaper than Greedy on sample-data/large', () => {
    const out = execFileSync('node', [BIN, 'optimize', '--data', join(SAMPLES, 'large'), '--solver', 'milp'], { encoding: 'utf8' });
    expect(out).to.contain('total cost 26888 cents/hour (MILP single, limited: optimal (HiGHS Optimal))');
    const bad = spawnSync('node', [BIN, 'optimize', '--data', join(SAMPLES, 'large'), '--solver', 'cplex'], { encoding: 'utf8' });
    expect(bad.status).to.equal(1);
    expect(bad.stderr).to.contain('--solver must be auto, greedy or milp');
  });

  it('refuses a malformed data file naming the file and the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssis-opt-'));
    cpSync(join(SAMPLES, 'small'), dir, { recursive: true });
    const models = JSON.parse(readFileSync(join(dir, 'model-data.json'), 'utf8')) as { models: { perfParms: Record<string, unknown> }[] };
    models.models[0]!.perfParms['beta'] = 'fast';
    writeFileSync(join(dir, 'model-data.json'), JSON.stringify(models));
    const r = spawnSync('node', [BIN, 'optimize', '--data', dir], { encoding: 'utf8' });
    expect(r.status).to.equal(1);
    expect(r.stderr).to.contain('model-data.json:models[0].perfParms.beta');
    writeFileSync(join(dir, 'server-data.json'), '{"servers": [');
    const bad = spawnSync('node', [BIN, 'optimize', '--data', dir], { encoding: 'utf8' });
    expect(bad.stderr).to.contain('server-data.json is not valid JSON');
  });
});
