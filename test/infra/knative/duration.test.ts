import { expect } from 'chai';
import { parseIsoDurationMs } from '../../../infra/knative/duration';

describe('infra/knative/duration', () => {
  const cases: [string, number][] = [
    ['PT0.2S', 200],
    ['PT0.5S', 500],
    ['PT1S', 1_000],
    ['PT30S', 30_000],
    ['PT10M', 600_000],
    ['PT1H30M', 5_400_000],
    ['PT1H0.5M', 3_630_000],
    ['PT0,25S', 250],
    ['PT0.29S', 290],
    ['P1D', 86_400_000],
    ['P1W', 604_800_000],
    ['P1DT1S', 86_401_000],
    ['PT0S', 0],
    ['PT0.0005S', 0],
  ];
  for (const [text, ms] of cases) {
    it(`parses ${text} as ${ms} ms`, () => {
      expect(parseIsoDurationMs(text)).to.deep.equal({ ok: true, ms });
    });
  }

  for (const text of ['', 'P', 'PT', 'P1DT', '0.2S', 'PT0.2', 'PT1S1M', 'pt1s', 'PT-1S', 'PT.5S', '30s']) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      const result = parseIsoDurationMs(text);
      expect(result.ok).to.equal(false);
      if (!result.ok) expect(result.message).to.contain('is not an ISO-8601 duration');
    });
  }

  it('refuses negative durations and calendar units with a reason', () => {
    const negative = parseIsoDurationMs('-PT1S');
    const years = parseIsoDurationMs('P1Y');
    const months = parseIsoDurationMs('P2M');
    expect(!negative.ok && negative.message).to.contain('negative');
    expect(!years.ok && years.message).to.contain('years and months');
    expect(!months.ok && months.message).to.contain('years and months');
  });
});
