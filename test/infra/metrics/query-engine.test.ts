/**
 * The whole embedded path as the sample function drives it: serve exposition pages like vLLM and
 * TGI, parse them, store them with the target labels of each replica, and evaluate the SSIS
 * autoscaler queries. Expected values are worked out by hand (see rate.test.ts for the
 * extrapolation rules) and written as the same float expressions Prometheus evaluates.
 */
import { expect } from 'chai';
import { SsisError } from '../../../core/errors';
import { parseExposition } from '../../../infra/metrics/exposition';
import { scalarOf, type QueryResult } from '../../../core/ports/metrics-source';
import { createLocalQueryEngine, validatePromql } from '../../../infra/metrics/query-engine';
import { createSeriesStore, type SeriesStore } from '../../../infra/metrics/series-store';
import { queryError } from './query-helpers';

const SECOND = 1000;

function target(pod: string): Record<string, string> {
  return { namespace: 'default', service: 'gpt2', revision: 'gpt2-00001', pod, job: 'inference' };
}

/** The lines of a vLLM /metrics page that the SSIS queries read. */
function vllmPage(state: { waiting: number; tpotSum: number; tpotCount: number }): string {
  return [
    '# HELP vllm:num_requests_waiting Number of requests waiting to be processed.',
    '# TYPE vllm:num_requests_waiting gauge',
    `vllm:num_requests_waiting{model_name="gpt2"} ${state.waiting}`,
    '# HELP vllm:request_time_per_output_token_seconds Histogram of time per output token in seconds.',
    '# TYPE vllm:request_time_per_output_token_seconds histogram',
    `vllm:request_time_per_output_token_seconds_bucket{le="0.05",model_name="gpt2"} ${state.tpotCount}`,
    `vllm:request_time_per_output_token_seconds_bucket{le="+Inf",model_name="gpt2"} ${state.tpotCount}`,
    `vllm:request_time_per_output_token_seconds_count{model_name="gpt2"} ${state.tpotCount}`,
    `vllm:request_time_per_output_token_seconds_sum{model_name="gpt2"} ${state.tpotSum}`,
  ].join('\n');
}

/** The lines of a TGI page behind the SSIS reference query. */
function tgiPage(sum: number, count: number): string {
  return [
    '# TYPE tgi_request_mean_time_per_token_duration histogram',
    `tgi_request_mean_time_per_token_duration_bucket{le="0.1"} ${count}`,
    `tgi_request_mean_time_per_token_duration_bucket{le="+Inf"} ${count}`,
    `tgi_request_mean_time_per_token_duration_sum ${sum}`,
    `tgi_request_mean_time_per_token_duration_count ${count}`,
  ].join('\n');
}

async function rejection(promise: Promise<QueryResult>): Promise<SsisError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof SsisError) return err;
    throw err;
  }
  throw new Error('expected the query to be rejected');
}

describe('local query engine on scraped pages', () => {
  describe('vLLM service gpt2 with two replicas scraped every 5 s', () => {
    let store: SeriesStore;
    beforeEach(() => {
      store = createSeriesStore();
      // Replica a: 50 tokens and 1 s of per-token time per 5 s (20 ms/token); replica b: 25 tokens, 1 s (40 ms/token).
      for (let step = 0; step <= 12; step++) {
        const atMs = step * 5 * SECOND;
        store.append(parseExposition(vllmPage({ waiting: 3, tpotSum: step, tpotCount: 50 * step })), atMs, target('gpt2-a'));
        store.append(parseExposition(vllmPage({ waiting: 4, tpotSum: step, tpotCount: 25 * step })), atMs, target('gpt2-b'));
      }
    });

    it('answers the TPOT ratio of summed rates', async () => {
      const engine = createLocalQueryEngine(store);
      const query =
        'sum(rate(vllm:request_time_per_output_token_seconds_sum{service="gpt2"}[20s])) / sum(rate(vllm:request_time_per_output_token_seconds_count{service="gpt2"}[20s]))';
      // Window (40 s, 60 s] holds 45..60 s: Δ over 15 s, start gap 5 s (< 1.1 × 5 s), end gap 0, and the
      // zero point (e.g. 15·(9/3) = 45 s) is far, so every rate is Δ · f with f = (15 + 5 + 0)/15/20.
      const f = (15 + 5 + 0) / 15 / 20;
      const result = await engine.query(query, 60 * SECOND);
      expect(result).to.deep.equal({ resultType: 'vector', result: [{ metric: {}, value: (3 * f + 3 * f) / (150 * f + 75 * f) }] });
      expect(scalarOf(result)).to.be.closeTo(6 / 225, 1e-15); // 26.7 ms per output token
    });

    it('sums a gauge over the replicas of the service', async () => {
      const engine = createLocalQueryEngine(store);
      expect(scalarOf(await engine.query('sum(vllm:num_requests_waiting{service="gpt2"})', 60 * SECOND))).to.equal(7);
    });

    it('gives an empty vector, so null, for a service without replicas', async () => {
      const engine = createLocalQueryEngine(store);
      const result = await engine.query('sum(rate(vllm:request_time_per_output_token_seconds_sum{service="llama"}[20s]))', 60 * SECOND);
      expect(result).to.deep.equal({ resultType: 'vector', result: [] });
      expect(scalarOf(result)).to.equal(null);
    });

    it('stops seeing a replica right after it goes away', async () => {
      const engine = createLocalQueryEngine(store);
      store.markStale(target('gpt2-b'), 61 * SECOND);
      expect(scalarOf(await engine.query('sum(vllm:num_requests_waiting{service="gpt2"})', 62 * SECOND))).to.equal(3);
    });
  });

  describe('the SSIS reference query (TGI, per pod)', () => {
    const reference =
      'increase(tgi_request_mean_time_per_token_duration_sum{pod="%s"}[1m])/increase(tgi_request_mean_time_per_token_duration_count{pod="%s"}[1m])';
    const forPod = (pod: string): string => reference.split('%s').join(pod);

    it('gives the mean time per token over the last minute', async () => {
      const store = createSeriesStore();
      // Every 15 s: 10 more tokens and 0.25 s more time (25 ms/token).
      for (let step = 0; step <= 4; step++) store.append(parseExposition(tgiPage(0.25 * step, 10 * step)), step * 15 * SECOND, { pod: 'tgi-0', job: 'tgi' });
      const engine = createLocalQueryEngine(store);
      // Window (0 s, 60 s] holds 15..60 s. sum: Δ = 1 − 0.25 = 0.75; count: Δ = 40 − 10 = 30. Start gap 15 s
      // < 16.5 s; zero points 45·(0.25/0.75) and 45·(10/30) are 15 s, not closer → factor (45 + 15 + 0)/45.
      const factor = (45 + 15 + 0) / 45;
      const result = await engine.query(forPod('tgi-0'), 60 * SECOND);
      expect(result).to.deep.equal({ resultType: 'vector', result: [{ metric: { pod: 'tgi-0', job: 'tgi' }, value: (0.75 * factor) / (30 * factor) }] });
      expect(scalarOf(result)).to.equal(0.025);
    });

    it('gives NaN (0/0), not null, over a minute without requests', async () => {
      const store = createSeriesStore();
      for (let step = 0; step <= 8; step++) store.append(parseExposition(tgiPage(2, 80)), step * 15 * SECOND, { pod: 'tgi-0', job: 'tgi' });
      const result = await createLocalQueryEngine(store).query(forPod('tgi-0'), 120 * SECOND);
      expect(result.resultType).to.equal('vector');
      expect(scalarOf(result)).to.be.NaN;
      expect(scalarOf(await createLocalQueryEngine(store).query(forPod('tgi-1'), 120 * SECOND))).to.equal(null);
    });
  });
});

describe('scalarOf', () => {
  it('takes a scalar, the only element, or the last of several (the SSIS reference rule)', () => {
    expect(scalarOf({ resultType: 'scalar', value: 2 })).to.equal(2);
    expect(scalarOf({ resultType: 'vector', result: [{ metric: {}, value: 3 }] })).to.equal(3);
    expect(scalarOf({ resultType: 'vector', result: [{ metric: { pod: 'a' }, value: 3 }, { metric: { pod: 'b' }, value: 4 }] })).to.equal(4);
    expect(scalarOf({ resultType: 'vector', result: [] })).to.equal(null);
  });
});

describe('local query engine errors', () => {
  const engine = createLocalQueryEngine(createSeriesStore());

  it('rejects a syntax error with SSIS_INVALID_CONFIG naming the position', async () => {
    const err = await rejection(engine.query('increase(foo[1m]))', 0));
    expect(err.code).to.equal('SSIS_INVALID_CONFIG');
    expect(err.issues).to.deep.equal([{ field: 'query', message: 'unexpected token ")" at position 17' }]);
    expect(err.details).to.deep.equal({ query: 'increase(foo[1m]))', position: 17 });
    // Cached parses fail the same way every time.
    expect(await rejection(engine.query('increase(foo[1m]))', 0))).to.deep.equal(err);
  });

  it('refuses queries that are range vectors or strings', async () => {
    expect((await queryError(engine, 'foo[5m]')).issues[0]?.message).to.equal('the query is a range vector; an instant vector or a scalar is needed');
    expect((await queryError(engine, '"text"')).code).to.equal('SSIS_INVALID_CONFIG');
  });

  it('refuses a query time that is not a number, and a lookback that is not positive', async () => {
    expect((await rejection(engine.query('1', NaN))).code).to.equal('SSIS_INVALID_REQUEST');
    expect(() => createLocalQueryEngine(createSeriesStore(), { lookbackDeltaMs: 0 })).to.throw(SsisError, /lookback/);
  });

  it('validates a query without evaluating it', () => {
    expect(() => validatePromql('sum(rate(x[1m]))')).not.to.throw();
    expect(() => validatePromql('sum(rate(x[1m])')).to.throw(SsisError, /unexpected end of input at position 15/);
  });

  it('answers scalars as scalars', async () => {
    expect(await engine.query('1 + 2 * 3', 0)).to.deep.equal({ resultType: 'scalar', value: 7 });
  });
});
