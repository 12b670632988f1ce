import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseNodes } from '../../cli/start';

const BIN = join(__dirname, '..', '..', 'bin', 'ssis.js');

describe('cli: the ssis command', () => {
  it('prints help, and refuses an unknown command with exit code 2', () => {
    expect(execFileSync('node', [BIN, 'help'], { encoding: 'utf8' })).to.contain('ssis <command>');
    const bad = spawnSync('node', [BIN, 'frobnicate'], { encoding: 'utf8' });
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.contain('unknown command "frobnicate"');
    expect(execFileSync('node', [BIN, 'start', '--help'], { encoding: 'utf8' })).to.contain('--nodes');
  });

  it('ssis events prints the log as JSON lines {id,type,source,subject,time,partitionkey,data}, filtered by type and subject', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssis-cli-'));
    const ev = (id: string, type: string, key: string) => ({ offset: 0, storedAtMs: 0, event: { specversion: '1.0', id, type, source: '/s', subject: key, time: '2026-11-23T00:00:00.000Z', datacontenttype: 'application/json', partitionkey: key, data: { n: id } } });
    writeFileSync(join(dir, 'events.jsonl'), [ev('1', 'ssis.scale.decided', 'gpt2'), ev('2', 'ssis.metrics.sampled', 'gpt2'), ev('3', 'ssis.scale.decided', 'llama')].map((e) => JSON.stringify(e)).join('\n') + '\n');
    const all = execFileSync('node', [BIN, 'events', '--state-dir', dir], { encoding: 'utf8' }).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(all).to.have.length(3);
    expect(Object.keys(all[0]!)).to.deep.equal(['id', 'type', 'source', 'subject', 'time', 'partitionkey', 'data']);
    const some = execFileSync('node', [BIN, 'events', '--state-dir', dir, '--type', 'ssis.scale.*', '--subject', 'gpt2'], { encoding: 'utf8' }).trim().split('\n');
    expect(some.map((l) => (JSON.parse(l) as { id: string }).id)).to.deep.equal(['1']);
    const none = spawnSync('node', [BIN, 'events', '--state-dir', join(dir, 'missing')], { encoding: 'utf8' });
    expect(none.status).to.equal(1);
    expect(none.stderr).to.contain('start the stack first');
  });

  it('parses --nodes specs', () => {
    expect(parseNodes('node-a=2xA100-SXM4-40GB;node-b=1xH100-80GB,1xA100-SXM4-80GB')).to.deep.equal([
      { name: 'node-a', gpus: [{ model: 'A100-SXM4-40GB', count: 2 }] },
      { name: 'node-b', gpus: [{ model: 'H100-80GB', count: 1 }, { model: 'A100-SXM4-80GB', count: 1 }] },
    ]);
    expect(() => parseNodes('node-a=lots')).to.throw(/--nodes/);
  });
});
