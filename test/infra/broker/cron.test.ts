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

  it('ORs day of month with day of week when both are restricted, as robfig/cron does', () => {
    const s = parseCron('0 0 13 * 5');
    expect(s.matches(at('2026-12-04T00:00:00Z')), 'a Friday, not the 13th').to.equal(true);
    expect(s.matches(at('2026-12-13T00:00:00Z')), 'the 13th, a Sunday').to.equal(true);
    expect(s.matches(at('2026-12-05T00:00:00Z')), 'a Saturday, the 5th').to.equal(false);
    expect(s.matches(at('2026-12-04T00:01:00Z')), 'the other fields still apply').to.equal(false);
    // A step above 1 restricts the field too: the 1st, 11th, 21st, 31st or any Monday.
    const stepped = parseCron('0 0 */10 * MON');
    expect(['2026-12-07', '2026-12-11', '2026-12-08'].map((d) => stepped.matches(at(`${d}T00:00:00Z`)))).to.deep.equal([true, true, false]);
  });

  it('ANDs them when either field starts with * or ? (and no step above 1)', () => {
    for (const schedule of ['0 0 ? * 5', '0 0 * * 5', '0 0 */1 * 5', '0 0 13 * ?', '0 0 13 * *']) {
      const s = parseCron(schedule);
      const friday = s.matches(at('2026-12-04T00:00:00Z'));
      const thirteenth = s.matches(at('2026-12-13T00:00:00Z'));
      expect([friday, thirteenth], schedule).to.deep.equal(schedule.endsWith('5') ? [true, false] : [false, true]);
    }
  });

  it('reads month and weekday names in any case, in ranges and lists', () => {
    const s = parseCron('0 9 * JAN MON-FRI');
    expect(s.matches(at('2026-01-05T09:00:00Z')), 'Monday 5 January').to.equal(true);
    expect(s.matches(at('2026-01-03T09:00:00Z')), 'a Saturday').to.equal(false);
    expect(s.matches(at('2026-02-02T09:00:00Z')), 'February').to.equal(false);
    expect(parseCron('0 9 * jan,Feb mon-fri').matches(at('2026-02-02T09:00:00Z'))).to.equal(true);
    expect(parseCron('0 0 * * sun').matches(at('2026-12-13T00:00:00Z'))).to.equal(true);
  });

  it('reads n/step as n-max/step', () => {
    const s = parseCron('5/20 * * * *');
    expect([5, 25, 45, 0, 15].map((m) => s.matches(at(`2026-12-04T10:${String(m).padStart(2, '0')}:00Z`)))).to.deep.equal([true, true, true, false, false]);
  });

  it('expands every descriptor as robfig/cron does', () => {
    const fires = (schedule: string, iso: string): boolean => parseCron(schedule).matches(at(iso));
    expect(fires('@weekly', '2026-12-13T00:00:00Z')).to.equal(true);
    expect(fires('@weekly', '2026-12-14T00:00:00Z')).to.equal(false);
    expect(fires('@monthly', '2026-12-01T00:00:00Z')).to.equal(true);
    expect(fires('@monthly', '2026-12-02T00:00:00Z')).to.equal(false);
    for (const yearly of ['@yearly', '@annually']) {
      expect(fires(yearly, '2027-01-01T00:00:00Z')).to.equal(true);
      expect(fires(yearly, '2026-12-01T00:00:00Z')).to.equal(false);
    }
    for (const daily of ['@daily', '@midnight']) {
      expect(fires(daily, '2026-12-04T00:00:00Z')).to.equal(true);
      expect(fires(daily, '2026-12-04T01:00:00Z')).to.equal(false);
    }
  });

  it('matches in the zone of a CRON_TZ= or TZ= prefix, or of spec.timezone', () => {
    // Berlin is UTC+1 in December, New York UTC-5.
    expect(parseCron('CRON_TZ=Europe/Berlin 0 9 * * *').matches(at('2026-12-04T08:00:00Z'))).to.equal(true);
    expect(parseCron('CRON_TZ=Europe/Berlin 0 9 * * *').matches(at('2026-12-04T09:00:00Z'))).to.equal(false);
    expect(parseCron('TZ=America/New_York 0 0 13 * 5').matches(at('2026-12-13T05:00:00Z'))).to.equal(true);
    expect(parseCron('0 9 * * FRI', 'America/New_York').matches(at('2026-12-04T14:00:00Z'))).to.equal(true);
    expect(parseCron('CRON_TZ=UTC @hourly').matches(at('2026-12-04T14:00:00Z'))).to.equal(true);
  });

  it('refuses what robfig/cron refuses, with its reason, naming spec.schedule or spec.timezone', () => {
    const refusal = (schedule: string, timezone?: string): { field: string; message: string } => {
      try {
        parseCron(schedule, timezone);
      } catch (err) {
        return (err as { issues: { field: string; message: string }[] }).issues[0]!;
      }
      throw new Error(`${schedule} was accepted`);
    };
    expect(refusal('0 0 * * 7')).to.deep.equal({ field: 'spec.schedule', message: 'day of week: end of range (7) above maximum (6): 7' });
    expect(refusal('0 0 0 * *')).to.deep.equal({ field: 'spec.schedule', message: 'day of month: beginning of range (0) below minimum (1): 0' });
    expect(refusal('0 0 * FOO *').message).to.equal('month: failed to parse int from FOO');
    expect(refusal('0 0 * * MON/2/3').message).to.equal('day of week: too many slashes: MON/2/3');
    expect(refusal('0 0 * * 5-1').message).to.equal('day of week: beginning of range (5) beyond end of range (1): 5-1');
    expect(refusal('@fortnightly').message).to.equal('unrecognized descriptor: @fortnightly');
    expect(refusal('* * * * * * *').message).to.equal('expected 5 to 6 fields, found 7: [* * * * * * *]');
    expect(refusal('CRON_TZ=Mars/Olympus 0 9 * * *')).to.deep.equal({ field: 'spec.schedule', message: 'provided bad location Mars/Olympus: unknown time zone Mars/Olympus' });
    expect(refusal('0 9 * * *', 'Mars/Olympus').field).to.equal('spec.timezone');
    expect(refusal('TZ=Europe/Berlin').field).to.equal('spec.schedule');
  });

  it('builds Knative ping events: type, source, JSON data', () => {
    const e = pingSourceEvent({ name: 'ssis-sample-tick', namespace: 'ssis', schedule: '*/10 * * * * *', data: '{"reason":"sample"}', sink: { uri: 'x' } }, 0, 'p1');
    expect(e).to.include({ type: 'dev.knative.sources.ping', source: '/apis/v1/namespaces/ssis/pingsources/ssis-sample-tick', id: 'p1' });
    expect(e.data).to.deep.equal({ reason: 'sample' });
  });
});
