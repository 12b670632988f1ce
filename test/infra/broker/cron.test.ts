import { expect } from 'chai';
import { parseCron } from '../../../infra/broker/cron';
import { pingSourceEvent } from '../../../infra/broker/ping-source';

const at = (iso: string): Date => new Date(iso);

describe('infra/broker PingSource cron (robfig SecondOptional|Descriptor)', () => {
  it('reads 6-field schedules with seconds, e.g. the shipped */10', () => {
    const s = parseCron('*/10 * * * * *');
    expect(s.matches(at('2026-11-23T10:00:20Z'))).to.equal(true);
    expect(s.matches(at('2026-11-23T10:00:25Z'))).to.equal(false);
  });

  it('reads 5-field schedules (second 0), ranges, lists, steps and descriptors', () => {
    expect(parseCron('*/5 9-17 * * 1-5').matches(at('2026-11-23T09:15:00Z'))).to.equal(true); // a Monday
    expect(parseCron('*/5 9-17 * * 1-5').matches(at('2026-11-22T09:15:00Z'))).to.equal(false); // a Sunday
    expect(parseCron('0 0,30 * * * *').matches(at('2026-11-23T10:30:00Z'))).to.equal(true);
    expect(parseCron('@hourly').matches(at('2026-11-23T10:00:00Z'))).to.equal(true);
    expect(parseCron('@hourly').matches(at('2026-11-23T10:01:00Z'))).to.equal(false);
  });

  it('refuses @every, wrong field counts and out-of-range values, naming spec.schedule', () => {
    for (const bad of ['@every 10s', '* * *', '61 * * * * *', '*/0 * * * *']) {
      let fields: string[] = [];
      try {
        parseCron(bad);
      } catch (err) {
        fields = (err as { issues: { field: string }[] }).issues.map((i) => i.field);
      }
      expect(fields, bad).to.deep.equal(['spec.schedule']);
    }
  });

  it('builds Knative ping events: type, source, JSON data', () => {
    const e = pingSourceEvent({ name: 'ssis-sample-tick', namespace: 'ssis', schedule: '*/10 * * * * *', data: '{"reason":"sample"}', sink: { uri: 'x' } }, 0, 'p1');
    expect(e).to.include({ type: 'dev.knative.sources.ping', source: '/apis/v1/namespaces/ssis/pingsources/ssis-sample-tick', id: 'p1' });
    expect(e.data).to.deep.equal({ reason: 'sample' });
  });
});
