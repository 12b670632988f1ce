/**
 * Replays cases.json against the local engine and compares with what the real Prometheus engine
 * answered for the same data and queries (prometheus-*.json, produced by prometheus_check_test.go
 * in this folder). Values must match bit for bit; vectors are compared as sets.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SsisError } from '../../../../core/errors';
import { parseGoFloat } from '../../../../infra/metrics/float-syntax';
import { labelsKey } from '../../../../infra/metrics/labels';
import { parseDuration } from '../../../../infra/metrics/promql/lexer';
import type { QueryResult } from '../../../../core/ports/metrics-source';
import type { PrometheusCompatibility } from '../../../../infra/metrics/query-engine';
import { engineFor } from '../query-helpers';

interface ConformanceCase {
  readonly name: string;
  readonly step: string;
  readonly series: Readonly<Record<string, string>>;
  /** orderDependent: the value depends on the order Prometheus visits series in (its storage order), so it matches to 1e-12 only. */
  readonly queries: readonly { readonly expr: string; readonly at: number; readonly orderDependent?: boolean }[];
}

interface PrometheusAnswer {
  readonly expr: string;
  readonly at: number;
  readonly type: 'vector' | 'scalar' | 'error';
  readonly result?: readonly { readonly metric: Record<string, string>; readonly value: string }[];
  readonly scalar?: string;
  readonly error?: string;
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(join(__dirname, file), 'utf8')) as T;
}

function goFloat(text: string | undefined): number {
  const value = text === undefined ? undefined : parseGoFloat(text);
  if (value === undefined) throw new Error(`not a Go float: ${text}`);
  return value;
}

/** Same number, NaN included, -0 told from 0; or within 1e-12 (relative) when the value depends on series order. */
function sameNumber(actual: number, expected: number, orderDependent = false): boolean {
  if (Object.is(actual, expected)) return true;
  return orderDependent && Math.abs(actual - expected) <= 1e-12 * Math.abs(expected);
}

async function answerOf(run: () => Promise<QueryResult>): Promise<QueryResult | SsisError> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof SsisError) return err;
    throw err;
  }
}

function describeConformance(compatibility: PrometheusCompatibility, answersFile: string, version: string): void {
  const cases = readJson<ConformanceCase[]>('cases.json');
  const answers = readJson<PrometheusAnswer[]>(answersFile);
  let index = 0;

  describe(`conformance with ${version} (${compatibility})`, () => {
    for (const testCase of cases) {
      describe(testCase.name, () => {
        const stepMs = parseDuration(testCase.step) ?? NaN;
        const engine = engineFor(stepMs, testCase.series, { compatibility });
        for (const query of testCase.queries) {
          const expected = answers[index++];
          it(`${query.expr} @ ${query.at}s`, async () => {
            expect(expected?.expr).to.equal(query.expr, 'answers out of step with cases.json: regenerate them');
            const actual = await answerOf(() => engine.query(query.expr, query.at * 1000));
            if (expected?.type === 'error') {
              expect(actual, `Prometheus: ${expected.error}`).to.be.instanceOf(SsisError);
              expect((actual as SsisError).code).to.equal('SSIS_INVALID_CONFIG');
              return;
            }
            if (actual instanceof SsisError) throw actual;
            if (expected?.type === 'scalar') {
              expect(actual.resultType).to.equal('scalar');
              const value = actual.resultType === 'scalar' ? actual.value : NaN;
              expect(sameNumber(value, goFloat(expected.scalar)), `got ${value}, Prometheus ${expected.scalar}`).to.equal(true);
              return;
            }
            expect(actual.resultType).to.equal('vector');
            const mine = actual.resultType === 'vector' ? [...actual.result].sort((a, b) => labelsKey(a.metric).localeCompare(labelsKey(b.metric))) : [];
            const theirs = [...(expected?.result ?? [])].sort((a, b) => labelsKey(a.metric).localeCompare(labelsKey(b.metric)));
            expect(mine.map((e) => e.metric)).to.deep.equal(theirs.map((e) => e.metric));
            mine.forEach((element, i) => {
              const want = goFloat(theirs[i]?.value);
              expect(sameNumber(element.value, want, query.orderDependent), `${labelsKey(element.metric)}: got ${element.value}, Prometheus ${theirs[i]?.value}`).to.equal(true);
            });
          });
        }
      });
    }
  });
}

describe('PromQL conformance', () => {
  describeConformance('prometheus-3', 'prometheus-3.json', 'Prometheus 3 (module v0.316.0)');
  describeConformance('prometheus-2', 'prometheus-2.json', 'Prometheus 2.42 (Debian bookworm)');
});
