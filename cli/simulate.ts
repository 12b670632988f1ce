/**
 * `ssis simulate --scenario <name|file> [--policies static-gpu,ssis-full|a,e] [--out dir] [--seed n] [--sweep key=v1,v2]`:
 * runs the discrete-event simulator (sim/) on a scenario under the chosen configurations and writes
 * a Markdown report with SVG plots. Progress goes to stderr: a bar on a terminal, one line per
 * configuration otherwise.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SsisError } from '../core/errors';
import { loadScenario, loadSsisConfiguration, loadTraces, namedScenarios, writeFiles } from '../sim/io/files';
import { policyTag } from '../sim/policies/ids';
import type { PolicyId } from '../sim/policies/port';
import { renderReport, type SweepRow } from '../sim/report/markdown';
import { comparisonTable } from '../sim/report/markdown';
import { parsePolicyList, POLICY_IDS, POLICY_TITLES, runComparison } from '../sim/run';
import { SWEEPABLE_DELAYS, withDelay, type ControlDelays } from '../sim/scenario';

const HELP = `Usage: ssis simulate --scenario <name|file> [options]

Runs the discrete-event simulator on a scenario and compares configurations on the same workload
and cluster (the reports label them by letter):
${POLICY_IDS.map((id) => `  ${id.padEnd(12)} ${policyTag(id)} ${POLICY_TITLES[id]}`).join('\n')}

Options:
  --scenario <name|file>  a shipped scenario (${namedScenarios().join(', ')}) or a YAML/JSON file
  --policies <list>       configurations to run, by name or letter, e.g. static-gpu,ssis-full or a,e
                          (default: all)
  --out <dir>             report folder (default: sim-reports/<scenario>)
  --seed <n>              overrides the scenario's seed
  --sweep <key=v1,v2,…>   reruns ssis-full (or --policies) for each value of a control delay
                          (${SWEEPABLE_DELAYS.join(', ')})
`;

function progressReporter(): (policy: PolicyId, fraction: number) => void {
  const tty = process.stderr.isTTY === true;
  let last: PolicyId | null = null;
  return (policy, fraction) => {
    if (tty) {
      const width = 30;
      const filled = Math.round(fraction * width);
      process.stderr.write(`\r${policyTag(policy)} ${POLICY_TITLES[policy].padEnd(38)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)} %`);
      if (fraction >= 1) process.stderr.write('\n');
    } else if (fraction >= 1 && last !== policy) {
      last = policy;
      process.stderr.write(`${policyTag(policy)} ${POLICY_TITLES[policy]}: done\n`);
    }
  };
}

function parseSweep(spec: string): { key: keyof ControlDelays; values: number[] } {
  const [key, list] = spec.split('=', 2);
  const values = (list ?? '').split(',').map(Number);
  if (!key || !(SWEEPABLE_DELAYS as string[]).includes(key) || values.length === 0 || values.some((v) => !Number.isFinite(v) || v < 0)) {
    throw new SsisError('SSIS_INVALID_CONFIG', `--sweep: expected <${SWEEPABLE_DELAYS.join('|')}>=<v1,v2,…>, got "${spec}"`, { issues: [{ field: '--sweep', message: `bad value "${spec}"` }] });
  }
  return { key: key as keyof ControlDelays, values };
}

export function runSimulate(argv: readonly string[]): void {
  const { values } = parseArgs({
    args: [...argv],
    options: { scenario: { type: 'string' }, policies: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' }, sweep: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (!values.scenario) throw new SsisError('SSIS_INVALID_CONFIG', '--scenario <name|file> is required', { issues: [{ field: '--scenario', message: `is required (shipped: ${namedScenarios().join(', ')})` }] });
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && (!Number.isInteger(seed) || seed < 0)) throw new SsisError('SSIS_INVALID_CONFIG', `--seed must be a non-negative integer, got "${values.seed}"`, { issues: [{ field: '--seed', message: 'must be a non-negative integer' }] });
  const policies = parsePolicyList(values.policies ?? POLICY_IDS.join(','));
  const { scenario, file } = loadScenario(values.scenario);
  const configuration = loadSsisConfiguration();
  const traces = loadTraces(scenario, file);
  const onProgress = progressReporter();
  const common = { catalog: configuration.catalog, config: configuration.ssis, autoscaler: configuration.autoscaler, traces, onProgress, wallClockMs: () => Date.now(), ...(seed === undefined ? {} : { seed }) };
  const started = Date.now();
  const results = runComparison({ ...common, scenario, policies });
  let sweep: SweepRow[] | undefined;
  if (values.sweep) {
    const { key, values: points } = parseSweep(values.sweep);
    const swept: PolicyId[] = values.policies ? policies : ['ssis-full'];
    sweep = points.flatMap((v) => runComparison({ ...common, scenario: withDelay(scenario, key, v), policies: swept }).map((result) => ({ parameter: key, value: v, result })));
  }
  const out = resolve(values.out ?? join('sim-reports', scenario.name));
  // The report names the command that made it, without where it was written (--out <dir> or --out=<dir>).
  const shown = argv.filter((a, i) => !a.startsWith('--out') && argv[i - 1] !== '--out');
  const command = ['ssis simulate', ...shown.map((a) => (/\s/.test(a) ? `"${a}"` : a))].join(' ');
  const written = writeFiles(out, renderReport({ scenario, results, ...(sweep ? { sweep } : {}), command }));
  const simulated = results.reduce((n, r) => n + r.requests, 0) + (sweep ?? []).reduce((n, s) => n + s.result.requests, 0);
  process.stdout.write(`${comparisonTable(results)}\n\n${simulated} simulated requests in ${((Date.now() - started) / 1000).toFixed(1)} s wall\nreport: ${written[0]}\n`);
}
