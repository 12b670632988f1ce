import { expect } from 'chai';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnyCloudEvent } from '../../../events/envelope';
import { DEFAULT_RECENT_LIMITS, fileEventLog, loggedEventBytes, readLogTail, RecentWindow, type LoggedEvent } from '../../../infra/broker/event-log';

const ev = (id: string, data: unknown = {}): AnyCloudEvent => ({ specversion: '1.0', id, type: 'com.example.t', source: '/test', data });
const entry = (offset: number, data: unknown = {}): LoggedEvent => ({ offset, storedAtMs: 1, event: ev(`e-${offset}`, data) });

describe('infra/broker event log file', () => {
  const dir = (): string => mkdtempSync(join(tmpdir(), 'ssis-event-log-'));

  it('starts at offset 0 in a new folder, and a reopened log continues after its last entry', async () => {
    const path = join(dir(), 'state', 'events.jsonl');
    const first = fileEventLog(path);
    expect(first.nextOffset).to.equal(0);
    for (let i = 0; i < 3; i++) first.append(entry(i));
    await first.close();
    const second = fileEventLog(path);
    expect(second.nextOffset).to.equal(3);
    await second.close();
  });

  it('cuts off a torn last line (a write cut short) and continues after the last whole entry', async () => {
    const path = join(dir(), 'events.jsonl');
    writeFileSync(path, `${JSON.stringify(entry(7))}\n${JSON.stringify(entry(8))}\n{"offset":9,"storedAtMs":1,"ev`);
    const log = fileEventLog(path);
    expect(log.nextOffset).to.equal(9);
    log.append(entry(9));
    await log.close();
    const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
    expect(lines.map((l) => (JSON.parse(l) as LoggedEvent).offset)).to.deep.equal([7, 8, 9]);
  });

  it('finds the last entry behind lines longer than its read chunk and behind lines that are no entry', () => {
    const path = join(dir(), 'events.jsonl');
    writeFileSync(path, `${JSON.stringify(entry(41))}\n${JSON.stringify(entry(42, { blob: 'x'.repeat(300_000) }))}\n`);
    expect(readLogTail(path)).to.deep.equal({ nextOffset: 43, wholeBytes: readFileSync(path).length, tornBytes: 0 });
    appendFileSync(path, 'garbage\n\n');
    expect(readLogTail(path).nextOffset).to.equal(43);
    // An entry whose keys were written in another order is still read (whole).
    appendFileSync(path, `${JSON.stringify({ storedAtMs: 1, event: ev('e'), offset: 50 })}\n`);
    expect(readLogTail(path).nextOffset).to.equal(51);
  });

  it('reads a missing or empty log as starting at 0', () => {
    const d = dir();
    expect(readLogTail(join(d, 'none.jsonl')).nextOffset).to.equal(0);
    writeFileSync(join(d, 'empty.jsonl'), '');
    expect(readLogTail(join(d, 'empty.jsonl'))).to.deep.equal({ nextOffset: 0, wholeBytes: 0, tornBytes: 0 });
  });
});

describe('infra/broker recent window', () => {
  it('keeps the most recent items within the count bound', () => {
    const w = new RecentWindow<number>({ maxItems: 3, maxBytes: 1000 }, () => 1);
    for (let i = 0; i < 5000; i++) w.push(i);
    expect(w.list()).to.deep.equal([4997, 4998, 4999]);
    expect(w.retainedBytes).to.equal(3);
  });

  it('keeps the most recent items within the byte bound, and none larger than it', () => {
    const w = new RecentWindow<LoggedEvent>({ maxItems: 100, maxBytes: 2_500_000 }, loggedEventBytes);
    for (let i = 0; i < 5; i++) w.push(entry(i, { blob: 'x'.repeat(1_000_000) }));
    expect(w.list().map((e) => e.offset)).to.deep.equal([3, 4]);
    w.push(entry(5, { blob: 'x'.repeat(3_000_000) }));
    expect(w.list()).to.deep.equal([]);
    expect(w.retainedBytes).to.equal(0);
  });

  it('has default bounds that hold a long run without growing without end', () => {
    expect(DEFAULT_RECENT_LIMITS.maxItems).to.be.at.most(50_000);
    expect(DEFAULT_RECENT_LIMITS.maxBytes).to.be.at.most(128 * 1024 * 1024);
  });
});
