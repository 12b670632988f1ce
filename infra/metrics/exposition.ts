/**
 * Parser for the Prometheus text exposition format 0.0.4, as prom-client and vLLM serve it on
 * /metrics. It yields flat samples: histogram and summary series (`_bucket`, `_sum`, `_count`)
 * are ordinary samples with their own names, as Prometheus stores them.
 *
 * A page that cannot be parsed means the scraped server is broken, so the error is
 * SSIS_UPSTREAM_FAILED (retriable) and names the offending line.
 */
import { SsisError } from '../../core/errors';
import { parseGoFloat } from './float-syntax';

export interface ExpositionSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** Present only when the line carries a timestamp (ms since the epoch); prom-client and vLLM never send one. */
  readonly timestampMs?: number;
}

const METRIC_TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const METRIC_NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;
const TIMESTAMP = /^-?\d+$/;

/** Parses a whole page. Throws SsisError('SSIS_UPSTREAM_FAILED') naming the first bad line. */
export function parseExposition(text: string): ExpositionSample[] {
  const samples: ExpositionSample[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index] ?? '';
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const lineNumber = index + 1;
    const content = line.trimStart();
    if (content === '') continue;
    if (content.startsWith('#')) {
      checkCommentLine(content, lineNumber);
      continue;
    }
    samples.push(parseSampleLine(line, lineNumber));
  }
  return samples;
}

function malformed(lineNumber: number, why: string, line: string): SsisError {
  return new SsisError('SSIS_UPSTREAM_FAILED', `metrics exposition line ${lineNumber}: ${why}`, {
    details: { lineNumber, line: line.length > 200 ? `${line.slice(0, 200)}…` : line },
  });
}

/** HELP and TYPE lines must be well formed (Prometheus rejects the scrape otherwise); other comments are free text. */
function checkCommentLine(content: string, lineNumber: number): void {
  const words = content.slice(1).trim().split(/[ \t]+/);
  const keyword = words[0];
  if (keyword !== 'HELP' && keyword !== 'TYPE') return;
  const name = words[1];
  if (name === undefined || !isMetricName(name)) throw malformed(lineNumber, `${keyword} line without a valid metric name`, content);
  if (keyword === 'TYPE') {
    const type = words[2];
    if (type === undefined || !METRIC_TYPES.has(type) || words.length > 3) {
      throw malformed(lineNumber, `invalid metric type ${JSON.stringify(type ?? '')}`, content);
    }
  }
}

function isMetricName(text: string): boolean {
  METRIC_NAME.lastIndex = 0;
  return METRIC_NAME.test(text) && METRIC_NAME.lastIndex === text.length;
}

function readToken(line: string, at: number, pattern: RegExp): string | undefined {
  pattern.lastIndex = at;
  const match = pattern.exec(line);
  return match ? match[0] : undefined;
}

function skipBlanks(line: string, at: number): number {
  let i = at;
  while (line[i] === ' ' || line[i] === '\t') i++;
  return i;
}

function parseSampleLine(line: string, lineNumber: number): ExpositionSample {
  let i = skipBlanks(line, 0);
  const name = readToken(line, i, METRIC_NAME);
  if (name === undefined) throw malformed(lineNumber, 'expected a metric name', line);
  i += name.length;

  const labels: Record<string, string> = {};
  const afterName = skipBlanks(line, i);
  if (line[afterName] === '{') i = parseLabels(line, afterName + 1, labels, lineNumber);
  else if (afterName === i && i < line.length) throw malformed(lineNumber, `expected a blank after metric name ${name}`, line);

  const fields = line.slice(i).trim().split(/[ \t]+/);
  const valueText = fields[0];
  if (valueText === undefined || valueText === '') throw malformed(lineNumber, `sample ${name} has no value`, line);
  const value = parseGoFloat(valueText);
  if (value === undefined) throw malformed(lineNumber, `invalid sample value ${JSON.stringify(valueText)}`, line);
  if (fields.length > 2) throw malformed(lineNumber, 'unexpected text after the timestamp', line);
  const timestampText = fields[1];
  if (timestampText === undefined) return { name, labels, value };
  if (!TIMESTAMP.test(timestampText)) throw malformed(lineNumber, `invalid timestamp ${JSON.stringify(timestampText)}`, line);
  return { name, labels, value, timestampMs: Number(timestampText) };
}

/** Parses `name="value",...}` starting after `{`; returns the index after `}`. */
function parseLabels(line: string, start: number, labels: Record<string, string>, lineNumber: number): number {
  let i = start;
  for (;;) {
    i = skipBlanks(line, i);
    if (line[i] === '}') return i + 1;
    const labelName = readToken(line, i, LABEL_NAME);
    if (labelName === undefined) throw malformed(lineNumber, `expected a label name at column ${i + 1}`, line);
    i = skipBlanks(line, i + labelName.length);
    if (line[i] !== '=') throw malformed(lineNumber, `expected "=" after label ${labelName}`, line);
    i = skipBlanks(line, i + 1);
    if (line[i] !== '"') throw malformed(lineNumber, `expected a quoted value for label ${labelName}`, line);
    const { value, end } = readLabelValue(line, i + 1, lineNumber);
    if (Object.prototype.hasOwnProperty.call(labels, labelName)) throw malformed(lineNumber, `duplicate label ${labelName}`, line);
    labels[labelName] = value;
    i = skipBlanks(line, end);
    if (line[i] === ',') {
      i++;
      continue;
    }
    if (line[i] !== '}') throw malformed(lineNumber, `expected "," or "}" after label ${labelName}`, line);
  }
}

/** Reads a label value up to the closing quote, undoing the format's three escapes (\\, \", \n). */
function readLabelValue(line: string, start: number, lineNumber: number): { value: string; end: number } {
  let value = '';
  for (let i = start; i < line.length; i++) {
    const ch = line[i];
    if (ch === '"') return { value, end: i + 1 };
    if (ch !== '\\') {
      value += ch;
      continue;
    }
    const escaped = line[i + 1];
    if (escaped === undefined) break;
    i++;
    if (escaped === 'n') value += '\n';
    else if (escaped === '\\' || escaped === '"') value += escaped;
    // Prometheus' scrape parser keeps any other escape sequence as written.
    else value += `\\${escaped}`;
  }
  throw malformed(lineNumber, 'unterminated label value', line);
}
