/**
 * The Prometheus metrics source against a REAL Prometheus: result types and the values
 * Prometheus writes as strings (NaN, ±Inf), the query time's millisecond precision, and the error
 * mapping — a query Prometheus refuses is SSIS_INVALID_CONFIG on the `query` field (as the local
 * engine says for the same query), Prometheus down is retriable. Two FAKE loopback servers (named
 * below) stand in for what a real Prometheus will not do on demand: hang, or fail behind a proxy.
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { QueryResult } from '../../../core/ports/metrics-source';
import { createLocalQueryEngine } from '../../../infra/metrics/query-engine';
import { createSeriesStore } from '../../../infra/metrics/series-store';
import { createPrometheusSource } from '../../../infra/prometheus/http-source';
import type { LocalPrometheus } from '../../../infra/prometheus/local-prometheus';
import { PrometheusPool, requirePrometheus } from './fixture';
import { rejection } from '../../support/rejection';

async function fakeServer(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const only = (r: QueryResult): number => {
  if (r.resultType === 'scalar') return r.value;
  expect(r.result).to.have.length(1);
  return r.result[0]!.value;
};

describe('infra/prometheus/http-source on a real Prometheus', function () {
  this.timeout(30_000);
  const pool = new PrometheusPool();
  let prom: LocalPrometheus;
  const servers: Server[] = [];

  before(async function () {
    requirePrometheus(this);
    prom = await pool.start({ targets: () => [] });
  });
  after(async () => {
    await pool.stopAll();
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      s.close();
    }
  });

  it('maps vectors and scalars, NaN and ±Inf included, with labels as Prometheus returns them', async () => {
    const now = Date.now();
    const v = await prom.source.query('label_replace(vector(2.5), "service", "gpt2", "", "")', now);
    expect(v).to.deep.equal({ resultType: 'vector', result: [{ metric: { service: 'gpt2' }, value: 2.5 }] });
    expect(await prom.source.query('scalar(vector(1.5e-05))', now)).to.deep.equal({ resultType: 'scalar', value: 1.5e-5 });
    expect(only(await prom.source.query('vector(0/0)', now))).to.be.NaN;
    expect(only(await prom.source.query('vector(1/0)', now))).to.equal(Number.POSITIVE_INFINITY);
    expect(only(await prom.source.query('-1/0', now))).to.equal(Number.NEGATIVE_INFINITY);
    expect(await prom.source.query('vector(1) > 2', now)).to.deep.equal({ resultType: 'vector', result: [] });
  });

  it('sends the query time in seconds with millisecond precision', async () => {
    const atMs = Date.parse('2026-03-02T09:00:00.123Z');
    expect(await prom.source.query('time()', atMs)).to.deep.equal({ resultType: 'scalar', value: atMs / 1000 });
  });

  it('a query Prometheus refuses is SSIS_INVALID_CONFIG naming the query, as the local engine says', async () => {
    const local = createLocalQueryEngine(createSeriesStore());
    for (const bad of ['sum(rate(vllm:request_success_total{service="gpt2"}[20s])', 'vllm:num_requests_waiting{service="gpt2"}[20s]']) {
      const remote = await rejection(prom.source.query(bad, Date.now()));
      expect(remote).to.include({ code: 'SSIS_INVALID_CONFIG', retriable: false });
      expect(remote.issues.map((i) => i.field)).to.deep.equal(['query']);
      expect(remote.message).to.contain(JSON.stringify(bad));
      expect(remote.details['query']).to.equal(bad);
      const inProcess = await rejection(local.query(bad, Date.now()));
      expect([inProcess.code, inProcess.issues.map((i) => i.field)], 'the local engine agrees').to.deep.equal(['SSIS_INVALID_CONFIG', ['query']]);
    }
  });

  it('an answer larger than the bound is refused (the query must aggregate)', async () => {
    const bounded = createPrometheusSource({ url: prom.url, maxResponseBytes: 256 });
    const wide = `label_replace(vector(1), "pod", "${'x'.repeat(400)}", "", "")`;
    const err = await rejection(bounded.query(wide, Date.now()));
    expect(err).to.include({ code: 'SSIS_INVALID_CONFIG' });
    expect(err.message).to.contain('larger than 256 bytes');
    expect(only(await bounded.query('vector(1)', Date.now())), 'a small answer still passes').to.equal(1);
  });

  it('Prometheus not running: SSIS_METRICS_UNAVAILABLE, retriable', async () => {
    const stopped = await pool.start({ targets: () => [] });
    await stopped.stop();
    const err = await rejection(stopped.source.query('up', Date.now()));
    expect(err).to.include({ code: 'SSIS_METRICS_UNAVAILABLE', retriable: true });
    expect(err.message).to.contain('ECONNREFUSED');
  });

  it('a Prometheus that does not answer times out within the bound, retriable (FAKE: a server that never replies)', async () => {
    const hang = await fakeServer(() => undefined);
    servers.push(hang.server);
    const started = Date.now();
    const err = await rejection(createPrometheusSource({ url: hang.url, timeoutMs: 300 }).query('up', Date.now()));
    expect(err).to.include({ code: 'SSIS_METRICS_UNAVAILABLE', retriable: true });
    expect(err.message).to.contain('no answer within 300 ms');
    expect(Date.now() - started).to.be.lessThan(2000);
  });

  it('5xx behind a proxy is retriable; a body that is not the API is not taken for a result (FAKE: proxy answers)', async () => {
    const answers: Record<string, [number, string]> = {
      '/bad-gateway/api/v1/query': [502, '<html>Bad Gateway</html>'],
      '/timeout/api/v1/query': [503, JSON.stringify({ status: 'error', errorType: 'timeout', error: 'query timed out in expression evaluation' })],
      '/not-prometheus/api/v1/query': [200, JSON.stringify({ hello: 'world' })],
    };
    const proxy = await fakeServer((req, res) => {
      const [status, body] = answers[req.url ?? ''] ?? [404, 'not found'];
      res.writeHead(status, { 'content-type': body.startsWith('<') ? 'text/html' : 'application/json' });
      res.end(body);
    });
    servers.push(proxy.server);
    for (const path of ['bad-gateway', 'timeout', 'not-prometheus']) {
      const err = await rejection(createPrometheusSource({ url: `${proxy.url}/${path}` }).query('up', Date.now()));
      expect([err.code, err.retriable], path).to.deep.equal(['SSIS_METRICS_UNAVAILABLE', true]);
    }
  });
});
