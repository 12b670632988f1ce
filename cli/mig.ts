/**
 * `ssis mig plan --state <file> --demand <file>`: runs the MIG planner (or a baseline) on a cluster
 * state and a demand and prints the plan — moves in make-before-break order, new replicas, target
 * layouts of the changed GPUs, GPUs to drain, unmet demand with the reason, and the mig-parted label
 * per node — as a table, or `--json` as the plan value.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { SsisError } from '../core/errors';
import type { GpuState } from '../core/mig/layout';
import { MIG_CONFIG_LABEL } from '../core/mig/mig-parted';
import { EXACT_BUDGET_SEC, EXACT_MAX_GPUS, planBestFit, planCountGreedy, planFirstFit, planMig, type MigPlan, type PlannerInput, type ServiceDemand } from '../core/mig/planner/index';
import { loadHighsSolver } from '../infra/solver/highs';

const HELP = `Usage: ssis mig plan --state <file> --demand <file> [options]

Plans MIG layouts: places the demand by priority on as few GPUs as possible, moving as few running
replicas as possible (make-before-break), keeping large profiles placeable.

Options:
  --state <file>      cluster state: {"gpus": [{node, index, model, migEnabled, instances: [{id, profile, start, owner}]}]}
  --demand <file>     demand: {"services": [{service, profiles | memoryGiB, gpuModels?, replicas, priority?, movable?,
                      runningReplicas?, newReplicaIds?}]}
  --algorithm <name>  planner (default), first-fit, best-fit or count-greedy (nos-style, profile counts only)
  --no-consolidate    do not drain GPUs whose replicas fit elsewhere
  --no-exact          heuristic only: skip the planner's exact stage (the placement ILP, solved with HiGHS on
                      clusters of at most ${EXACT_MAX_GPUS} GPUs within ${EXACT_BUDGET_SEC} s, kept where it beats the heuristic)
  --json              print the plan as JSON
  --mig-parted        print the mig-parted config (YAML) for the changed nodes after the table
`;

const ALGORITHMS: Readonly<Record<string, (input: PlannerInput) => MigPlan>> = {
  planner: (input) => planMig(input),
  'first-fit': planFirstFit,
  'best-fit': planBestFit,
  'count-greedy': planCountGreedy,
};

function readJson(path: string, option: string): unknown {
  let text: string;
  try {
    text = readFileSync(resolve(path), 'utf8');
  } catch (err) {
    throw new SsisError('SSIS_INVALID_CONFIG', `${option} ${path}: cannot read (${(err as Error).message})`, { issues: [{ field: option, message: 'cannot read' }] });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new SsisError('SSIS_INVALID_CONFIG', `${path} is not valid JSON: ${(err as Error).message}`, { issues: [{ field: option, message: 'not valid JSON' }] });
  }
}

/** The list in `{key: [...]}` or a bare list. */
function listIn(value: unknown, keys: readonly string[]): unknown[] | undefined {
  if (Array.isArray(value)) return value as unknown[];
  if (typeof value === 'object' && value !== null) {
    for (const key of keys) {
      const inner = (value as Record<string, unknown>)[key];
      if (Array.isArray(inner)) return inner as unknown[];
    }
  }
  return undefined;
}

function table(rows: readonly (readonly string[])[]): string[] {
  if (rows.length === 0) return [];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => `  ${r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')}`.trimEnd());
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function layoutLine(gpu: GpuState): string[] {
  const instances = gpu.instances.map((i) => `${i.profile}@${i.start} ${i.owner ?? '(free)'}`);
  return [`${gpu.node}/gpu${gpu.index}`, gpu.model, gpu.migEnabled ? 'MIG' : 'whole GPU', instances.length > 0 ? instances.join(', ') : '(empty)'];
}

export function formatPlan(plan: MigPlan): string {
  const s = plan.summary;
  const lines = [
    `MIG plan (${plan.algorithm}): ${plural(s.gpusUsed, 'GPU')} in use (before: ${s.gpusUsedBefore}), ${s.placed} new replica(s) placed, ${s.unmet} unmet, ${plural(s.moves, 'move')}, ${s.changedGpus} GPU(s) changed`,
    `fragmentation of the GPUs in use: ${s.strandedMemorySlots} stranded memory slot(s), ${s.largePlacements} open half-GPU-or-larger position(s) on ${s.gpusWithLargePlacement} GPU(s)`,
    '',
  ];
  lines.push('Moves (make-before-break, in this order: start on the new slice, then stop the old replica and destroy its slice):');
  if (plan.moves.length === 0) lines.push('  none');
  else {
    lines.push(...table([['#', 'replica', 'service', 'from', 'to', 'why'], ...plan.moves.map((m, k) => [
      String(k + 1), m.replica, m.service, `${m.from.node}/gpu${m.from.gpuIndex} ${m.from.profile}@${m.from.start}`, `${m.to.node}/gpu${m.to.gpuIndex} ${m.to.profile}@${m.to.start}`, m.why,
    ])]));
  }
  lines.push('', 'New replicas:');
  if (plan.placements.length === 0) lines.push('  none');
  else lines.push(...table([['replica', 'service', 'gpu', 'profile@start', 'slice'], ...plan.placements.map((p) => [p.replica, p.service, `${p.node}/gpu${p.gpuIndex}`, `${p.profile}@${p.start}`, `${p.action} ${p.instanceId}`])]));
  if (plan.released.length > 0) {
    lines.push('', 'Released (more replicas running than wanted):');
    lines.push(...table(plan.released.map((r) => [r.replica, r.service, `${r.node}/gpu${r.gpuIndex} ${r.profile}@${r.start}`])));
  }
  lines.push('', 'Target layout of the changed GPUs:');
  const changed = plan.gpus.filter((g) => plan.changed.includes(`${g.node}/gpu${g.index}`));
  if (changed.length === 0) lines.push('  none');
  else lines.push(...table(changed.map(layoutLine)));
  lines.push('', 'GPUs to drain:');
  lines.push(...(plan.drain.length === 0 ? ['  none'] : plan.drain.map((d) => `  ${d.node}/gpu${d.gpuIndex}: ${d.replicas.join(', ')} move off`)));
  lines.push('', 'Unmet demand:');
  lines.push(...(plan.unmet.length === 0 ? ['  none'] : plan.unmet.map((u) => `  ${u.service} (priority ${u.priority}): ${u.reason}`)));
  const labels = Object.entries(plan.migParted.nodeLabels);
  lines.push('', `Node labels (${MIG_CONFIG_LABEL}, mig-parted config per changed node):`);
  lines.push(...(labels.length === 0 ? ['  none'] : labels.map(([node, value]) => `  ${node}: ${MIG_CONFIG_LABEL}=${value}`)));
  return `${lines.join('\n')}\n`;
}

async function runPlan(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      state: { type: 'string' }, demand: { type: 'string' }, algorithm: { type: 'string' }, json: { type: 'boolean' },
      'no-consolidate': { type: 'boolean' }, 'no-exact': { type: 'boolean' }, 'mig-parted': { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const missing = (['state', 'demand'] as const).filter((k) => values[k] === undefined);
  if (missing.length > 0) {
    throw new SsisError('SSIS_INVALID_CONFIG', `${missing.map((k) => `--${k} <file>`).join(' and ')} required`, { issues: missing.map((k) => ({ field: `--${k}`, message: 'is required' })) });
  }
  const algorithm = values.algorithm ?? 'planner';
  const run = ALGORITHMS[algorithm];
  if (run === undefined) {
    throw new SsisError('SSIS_INVALID_CONFIG', `unknown --algorithm ${algorithm}; one of ${Object.keys(ALGORITHMS).join(', ')}`, { issues: [{ field: '--algorithm', message: 'unknown' }] });
  }
  const gpus = listIn(readJson(values.state!, '--state'), ['gpus']);
  const demand = listIn(readJson(values.demand!, '--demand'), ['services', 'demand']);
  if (gpus === undefined) throw new SsisError('SSIS_INVALID_CONFIG', `${values.state}: expected {"gpus": [...]}`, { issues: [{ field: 'gpus', message: 'missing list' }] });
  if (demand === undefined) throw new SsisError('SSIS_INVALID_CONFIG', `${values.demand}: expected {"services": [...]}`, { issues: [{ field: 'services', message: 'missing list' }] });
  const input: PlannerInput = { gpus: gpus as GpuState[], demand: demand as ServiceDemand[], options: { consolidate: values['no-consolidate'] !== true } };
  const exact = algorithm === 'planner' && values['no-exact'] !== true && gpus.length <= EXACT_MAX_GPUS;
  const plan = exact ? planMig(input, { exact: { solver: await loadHighsSolver() } }) : run(input);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
    return;
  }
  process.stdout.write(formatPlan(plan));
  if (values['mig-parted']) process.stdout.write(`\n${stringify(plan.migParted.config)}`);
}

export async function runMig(argv: readonly string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'plan') {
    await runPlan(rest);
    return;
  }
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP);
    return;
  }
  throw new SsisError('SSIS_INVALID_CONFIG', `unknown mig subcommand "${sub}"; try: ssis mig plan --help`, { issues: [{ field: 'mig', message: `unknown subcommand ${sub}` }] });
}
