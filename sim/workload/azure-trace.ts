/**
 * The Azure LLM inference trace 2023 (Azure/AzurePublicDataset, CC BY 4.0; shared/reference/traces/):
 * `TIMESTAMP,ContextTokens,GeneratedTokens` with CRLF line ends. Parsed from text (the caller reads
 * the file) into columns of arrival offsets and token counts.
 */
import { SsisError } from '../../core/errors';

export interface AzureTrace {
  /** Seconds since the first request. */
  readonly offsetSec: Float64Array;
  readonly inputTokens: Int32Array;
  readonly outputTokens: Int32Array;
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d+)?$/;

function epochSec(ts: string, line: number, where: string): number {
  const m = TIMESTAMP.exec(ts);
  if (!m) throw new SsisError('SSIS_INVALID_CONFIG', `${where}:${line}: bad TIMESTAMP "${ts}"`, { issues: [{ field: `${where}:${line}.TIMESTAMP`, message: `expected YYYY-MM-DD HH:MM:SS.fffffff, got "${ts}"` }] });
  const whole = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) / 1000;
  return whole + (m[7] ? Number(`0${m[7]}`) : 0);
}

export function parseAzureTrace(text: string, where = 'trace'): AzureTrace {
  const lines = text.split('\n');
  const header = lines[0]?.replace(/\r$/, '').trim();
  if (header !== 'TIMESTAMP,ContextTokens,GeneratedTokens') {
    throw new SsisError('SSIS_INVALID_CONFIG', `${where}: unexpected header "${header ?? ''}"`, { issues: [{ field: `${where}:1`, message: 'expected TIMESTAMP,ContextTokens,GeneratedTokens' }] });
  }
  const n = lines.length - 1;
  const offsetSec = new Float64Array(n);
  const inputTokens = new Int32Array(n);
  const outputTokens = new Int32Array(n);
  let count = 0;
  let first = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line === '') continue;
    const [ts, ctx, gen] = line.split(',');
    const input = Number(ctx);
    const output = Number(gen);
    if (ts === undefined || !Number.isInteger(input) || !Number.isInteger(output) || input < 0 || output < 0) {
      throw new SsisError('SSIS_INVALID_CONFIG', `${where}:${i + 1}: bad row "${line}"`, { issues: [{ field: `${where}:${i + 1}`, message: 'expected TIMESTAMP,<int>,<int>' }] });
    }
    const t = epochSec(ts, i + 1, where);
    if (count === 0) first = t;
    offsetSec[count] = t - first;
    inputTokens[count] = input;
    outputTokens[count] = output;
    count++;
  }
  return { offsetSec: offsetSec.subarray(0, count), inputTokens: inputTokens.subarray(0, count), outputTokens: outputTokens.subarray(0, count) };
}
