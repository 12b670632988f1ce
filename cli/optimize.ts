/**
 * `ssis optimize --data <dir>`: runs the Inferno optimizer port on a folder of Inferno's JSON files
 * (accelerator, capacity, model, serviceclass, server, optimizer data — or system-data.json) and
 * prints the allocation per server as a table, or `--json` as Inferno's solution-data.json.
 * The solver follows optimizer-data.json (`unlimited`, `milpSolver`, `heterogeneous`) unless --solver says otherwise.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SsisError } from '../core/errors';
import { indexSystem, type Allocation } from '../core/optimizer/allocation';
import { toSolutionData, type InfernoSystem, type SolutionRow } from '../core/optimizer/data';
import { solveMilp } from '../core/optimizer/milp';
import { loadHighsSolver } from '../infra/solver/highs';
import { buildCandidates, solve } from '../core/optimizer/solver';
import { loadInfernoFolder } from '../infra/optimizer/inferno-files';

const HELP = `Usage: ssis optimize --data <dir> [--solver auto|greedy|milp] [--json]

Solves an Inferno system: for every server (service class × model) the accelerator, replicas and
batch size that meet its SLOs at least cost.

Options:
  --data <dir>     folder with accelerator-data.json, capacity-data.json, model-data.json,
                   serviceclass-data.json, server-data.json, optimizer-data.json (or system-data.json)
  --solver <name>  auto (default: optimizer-data.json decides — milpSolver → MILP, else Unlimited or
                   Greedy by "unlimited"), greedy (Unlimited/Greedy), milp (HiGHS; single or multi by
                   "heterogeneous", limited unless "unlimited")
  --json           print solution-data.json instead of a table
`;

interface Outcome {
  /** Server → its allocations (several only for a MULTI MILP split). */
  readonly rows: ReadonlyMap<string, readonly Allocation[]>;
  readonly unallocated: readonly string[];
  readonly totalCost: number;
  readonly note: string;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c >= 2 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ')).join('\n');
}

function greedy(system: InfernoSystem): Outcome {
  const s = solve(system);
  const lines = [...s.byType].map(([type, t]) => `  ${type}: ${t.cards} cards, cost ${t.cost}`);
  return { rows: new Map([...s.allocations].map(([k, a]) => [k, [a]])), unallocated: s.unallocated, totalCost: s.totalCost, note: `${system.optimizer.unlimited ? 'Unlimited' : 'Greedy'}\n${lines.join('\n')}` };
}

async function milp(system: InfernoSystem): Promise<Outcome> {
  const index = indexSystem(system);
  const mode = system.optimizer.heterogeneous ? 'multi' : 'single';
  const s = solveMilp(index, buildCandidates(index), await loadHighsSolver(), { mode, limited: !system.optimizer.unlimited });
  const lines = [...s.cardsByType].map(([type, cards]) => `  ${type}: ${cards} cards`);
  return { rows: s.allocations, unallocated: s.unmet, totalCost: s.totalCost, note: `MILP ${mode}, ${system.optimizer.unlimited ? 'unlimited' : 'limited'}: ${s.status} (HiGHS ${s.solverStatus})\n${lines.join('\n')}` };
}

export async function runOptimize(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({ args: [...argv], options: { data: { type: 'string' }, solver: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } } });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (!values.data) throw new SsisError('SSIS_INVALID_CONFIG', '--data <dir> is required', { issues: [{ field: '--data', message: 'is required' }] });
  const solver = values.solver ?? 'auto';
  if (!['auto', 'greedy', 'milp'].includes(solver)) {
    throw new SsisError('SSIS_INVALID_CONFIG', `--solver must be auto, greedy or milp, got "${solver}"`, { issues: [{ field: '--solver', message: 'must be auto, greedy or milp' }] });
  }
  const system = loadInfernoFolder(resolve(values.data));
  const useMilp = solver === 'milp' || (solver === 'auto' && system.optimizer.milpSolver);
  const out = useMilp ? await milp(system) : greedy(system);
  if (values.json) {
    // solution-data.json has one allocation per server: a MULTI split reports its largest part.
    const rows = new Map<string, SolutionRow>();
    const load = new Map(system.servers.map((s) => [s.name, s.currentAlloc.load]));
    for (const [name, parts] of out.rows) {
      const a = [...parts].sort((x, y) => y.numReplicas - x.numReplicas)[0];
      if (a) rows.set(name, { accelerator: a.accelerator, numReplicas: a.numReplicas, maxBatch: a.batchSize, cost: a.cost, itlAverage: a.itl, ttftAverage: a.ttft, load: load.get(name)! });
    }
    process.stdout.write(`${JSON.stringify(toSolutionData(rows), null, 2)}\n`);
    return;
  }
  const rows: string[][] = [['server', 'accelerator', 'replicas', 'batch', 'cost', 'ITL ms', 'TTFT ms']];
  for (const server of system.servers) {
    for (const a of out.rows.get(server.name) ?? []) {
      rows.push([server.name, a.accelerator, String(a.numReplicas), String(a.batchSize), String(a.cost), a.itl.toFixed(2), a.ttft.toFixed(2)]);
    }
  }
  const lines = [table(rows), '', `total cost ${out.totalCost} cents/hour (${out.note.split('\n')[0]!})`, ...out.note.split('\n').slice(1)];
  if (out.unallocated.length > 0) lines.push(`no feasible allocation for: ${out.unallocated.join(', ')}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
