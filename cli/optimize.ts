/**
 * `ssis optimize --data <dir>`: runs the Inferno optimizer port on a folder of Inferno's JSON files
 * (accelerator, capacity, model, serviceclass, server, optimizer data — or system-data.json) and
 * prints the allocation per server as a table, or `--json` as Inferno's solution-data.json.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SsisError } from '../core/errors';
import { solve } from '../core/optimizer/solver';
import { loadInfernoFolder } from '../infra/optimizer/inferno-files';

const HELP = `Usage: ssis optimize --data <dir> [--json]

Solves an Inferno system: for every server (service class × model) the accelerator, replicas and
batch size that meet its SLOs at least cost (Unlimited or Greedy per optimizer-data.json).

Options:
  --data <dir>   folder with accelerator-data.json, capacity-data.json, model-data.json,
                 serviceclass-data.json, server-data.json, optimizer-data.json (or system-data.json)
  --json         print solution-data.json instead of a table
`;

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c >= 2 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ')).join('\n');
}

export function runOptimize(argv: readonly string[]): void {
  const { values } = parseArgs({ args: [...argv], options: { data: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } } });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (!values.data) throw new SsisError('SSIS_INVALID_CONFIG', '--data <dir> is required', { issues: [{ field: '--data', message: 'is required' }] });
  const system = loadInfernoFolder(resolve(values.data));
  const solution = solve(system);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(solution.data, null, 2)}\n`);
    return;
  }
  const rows: string[][] = [['server', 'accelerator', 'replicas', 'batch', 'cost', 'ITL ms', 'TTFT ms']];
  for (const [name, a] of Object.entries(solution.data.allocations)) {
    rows.push([name, a.accelerator, String(a.numReplicas), String(a.maxBatch), String(a.cost), a.itlAverage.toFixed(2), a.ttftAverage.toFixed(2)]);
  }
  const lines = [table(rows), '', `total cost ${solution.totalCost} cents/hour`];
  for (const [type, t] of solution.byType) lines.push(`  ${type}: ${t.cards} cards, cost ${t.cost}`);
  if (solution.unallocated.length > 0) lines.push(`no feasible allocation for: ${solution.unallocated.join(', ')}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
