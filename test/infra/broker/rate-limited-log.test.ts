/**
 * infra/logging/rate-limited.ts: the bound on warnings a client can trigger at will (the broker's
 * per-event warnings use it). Kept beside the broker's tests, its first user.
 */
import { expect } from 'chai';
import { ManualClock, type LogFields, type Logger } from '../../../core/common/ports';
import { OVERFLOW_KEY, rateLimitedLogger } from '../../../infra/logging/rate-limited';

interface Line {
  readonly level: string;
  readonly fields: LogFields;
  readonly msg: string;
}

function recording(lines: Line[] = [], base: LogFields = {}): Logger {
  const at = (level: string) => (fields: LogFields, msg: string): void => {
    lines.push({ level, fields: { ...base, ...fields }, msg });
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (fields) => recording(lines, { ...base, ...fields }) };
}

describe('infra/logging rate-limited logger', () => {
  it('lets through maxLines lines per key and window, then reports how many it held back', () => {
    const lines: Line[] = [];
    const clock = new ManualClock(0);
    const log = rateLimitedLogger(recording(lines), { maxLines: 3, windowMs: 1000, now: () => clock.nowMs(), summaryTimer: false });
    for (let i = 0; i < 100; i++) log.warn({ event: `e-${i}` }, 'delivery failed');
    expect(lines.map((l) => l.fields['event'])).to.deep.equal(['e-0', 'e-1', 'e-2']);
    clock.advance(1000);
    log.warn({ event: 'e-100' }, 'delivery failed');
    expect(lines).to.have.length(5);
    expect(lines[3]).to.deep.include({ level: 'warn', msg: 'suppressed 97 more log lines like "delivery failed"' });
    expect(lines[3]!.fields).to.include({ suppressed: 97, windowMs: 1000 });
    expect(lines[4]!.fields['event']).to.equal('e-100');
  });

  it('counts each key apart: other messages and levels keep their own budget', () => {
    const lines: Line[] = [];
    const log = rateLimitedLogger(recording(lines), { maxLines: 1, windowMs: 1000, now: () => 0, summaryTimer: false });
    log.warn({}, 'a');
    log.warn({}, 'a');
    log.warn({}, 'b');
    log.error({}, 'a');
    expect(lines.map((l) => `${l.level} ${l.msg}`)).to.deep.equal(['warn a', 'warn b', 'error a']);
  });

  it('keys by what keyOf says, and bounds the keys it tracks', () => {
    const lines: Line[] = [];
    const log = rateLimitedLogger(recording(lines), {
      maxLines: 1, windowMs: 1000, maxKeys: 2, now: () => 0, summaryTimer: false,
      keyOf: (_level, fields, msg) => `${msg} ${String(fields['client'])}`,
    });
    for (let client = 0; client < 50; client++) log.warn({ client }, 'bad event');
    // clients 0 and 1 have their own keys; all the others share the overflow key's one line.
    expect(lines.map((l) => l.fields['client'])).to.deep.equal([0, 1, 2]);
    log.flush();
    expect(lines[3]!.fields).to.include({ key: OVERFLOW_KEY, suppressed: 47 });
  });

  it('children share the budget and report through the logger of the suppressed line', () => {
    const lines: Line[] = [];
    const log = rateLimitedLogger(recording(lines), { maxLines: 1, windowMs: 1000, now: () => 0, summaryTimer: false });
    log.child({ component: 'a' }).warn({}, 'x');
    log.child({ component: 'b' }).warn({}, 'x');
    log.flush();
    expect(lines.map((l) => [l.fields['component'], l.msg])).to.deep.equal([['a', 'x'], ['b', 'suppressed 1 more log lines like "x"']]);
    log.flush();
    expect(lines).to.have.length(2);
  });

  it('reports a suppression when its window ends even if no line follows', async () => {
    const lines: Line[] = [];
    const log = rateLimitedLogger(recording(lines), { maxLines: 1, windowMs: 30 });
    log.warn({}, 'x');
    log.warn({}, 'x');
    await new Promise((r) => setTimeout(r, 80));
    expect(lines.map((l) => l.msg)).to.deep.equal(['x', 'suppressed 1 more log lines like "x"']);
  });
});
