import { expect } from 'chai';
import { SsisError } from '../../core/errors';
import { loadScenario, loadSsisConfiguration, loadTraces, namedScenarios } from '../../sim/io/files';
import { renderReport } from '../../sim/report/markdown';
import type { RunResult } from '../../sim/results';
import { POLICY_IDS, runComparison } from '../../sim/run';
import { parseScenario, type Scenario } from '../../sim/scenario';
import { parseAzureTrace } from '../../sim/workload/azure-trace';

const configuration = loadSsisConfiguration();

function shortBimodal(): Scenario {
  const { scenario } = loadScenario('bimodal');
  return { ...scenario, durationSec: 300 };
}

function outcome(r: RunResult): unknown {
  const { wallMs, ...rest } = r;
  void wallMs;
  return rest;
}

describe('sim: determinism and scenarios', () => {
  it('the same seed gives identical results; another seed gives other numbers', () => {
    const scenario = shortBimodal();
    const run = (seed: number): RunResult[] => runComparison({ scenario, catalog: configuration.catalog, config: configuration.ssis, autoscaler: configuration.autoscaler, traces: {}, policies: POLICY_IDS, seed });
    const first = run(1);
    const again = run(1);
    expect(again.map(outcome)).to.deep.equal(first.map(outcome));
    const report = (rs: RunResult[]): string => renderReport({ scenario, results: rs })['README.md']!;
    expect(report(again)).to.equal(report(first));
    expect(run(2)[0]!.jct.mean).to.not.equal(first[0]!.jct.mean);
    for (const r of first) {
      expect(r.unfinished, `(${r.policy}) unfinished`).to.equal(0);
      expect(r.completed).to.be.greaterThan(1000);
    }
  });

  it('ships the named scenarios, each valid', () => {
    expect(namedScenarios()).to.include.members(['azure', 'bimodal', 'large-1000gpu']);
    for (const name of namedScenarios()) expect(loadScenario(name).scenario.name).to.equal(name);
  });

  it('refuses a scenario with bad fields, naming each field', () => {
    const bad = {
      name: 'x', durationSec: -1, cluster: { gpus: [{ model: 'B200', count: 1 }] },
      services: [{ name: 's', model: 'm', slo: { ttftMs: 100 } }],
      workload: [{ kind: 'gamma', name: 'w', services: ['nope'], ratePerSec: 1, inputTokens: { mean: 10 }, outputTokens: { mean: 10 }, burst: {} }],
    };
    let error: SsisError | undefined;
    try {
      parseScenario(bad, 'bad.yaml');
    } catch (err) {
      error = err as SsisError;
    }
    expect(error?.code).to.equal('SSIS_INVALID_CONFIG');
    const fields = error!.issues.map((i) => i.field);
    expect(fields).to.include.members(['bad.yaml.durationSec', 'bad.yaml.cluster.gpus[0].model', 'bad.yaml.services[0].slo.itlMs', 'bad.yaml.workload[0].services[0]', 'bad.yaml.workload[0].burst']);
  });

  it('parses the Azure trace format (CRLF, 7 fractional digits) and replays the shipped trace', () => {
    const t = parseAzureTrace('TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 18:17:03.9799600,4808,10\r\n2023-11-16 18:17:04.0319600,3180,8');
    expect(t.offsetSec.length).to.equal(2);
    expect(t.offsetSec[1]).to.be.closeTo(0.052, 1e-6);
    expect([t.inputTokens[0], t.outputTokens[1]]).to.deep.equal([4808, 8]);
    const { scenario, file } = loadScenario('azure');
    const traces = loadTraces(scenario, file);
    expect(traces.code?.offsetSec.length).to.equal(8819);
    expect(traces.conv?.offsetSec.length).to.equal(19366);
  });
});
