/**
 * The whole embedded stack with `metrics: 'local-prometheus'` (`ssis start --metrics prometheus`):
 * a REAL Prometheus scrapes the replicas the stack starts, and the sample function's
 * metrics-sampled events carry what it measured. Stopping the stack stops Prometheus.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedStack, type RunningStack } from '../../../app/embedded-stack';
import type { MetricsSampled } from '../../../events/metrics-sampled';
import { createJsonLogger } from '../../../infra/logging/json-logger';
import { gpt2, postJson, ROOT, waitFor } from '../../e2e/helpers';
import { requirePrometheus } from './fixture';

describe('embedded stack with a local Prometheus as its metrics source', function () {
  this.timeout(90_000);
  let stack: RunningStack | undefined;
  const stateDir = mkdtempSync(join(tmpdir(), 'ssis-stack-metrics-'));

  before(function () {
    requirePrometheus(this);
  });
  after(async () => {
    await stack?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('samples gpt2’s load from Prometheus, and stops Prometheus with the stack', async () => {
    const logLines: string[] = [];
    stack = await startEmbeddedStack({
      knativeDir: join(ROOT, 'knative'),
      stateDir,
      ingressPort: 0,
      logger: createJsonLogger({ level: 'debug', write: (l) => logLines.push(l) }),
      sampleEverySec: 1,
      loadTimeScale: 0.2,
      metrics: 'local-prometheus',
      // Short windows, as the end-to-end tests use, so that a few seconds of traffic show.
      configure: (c) => ({
        ...c,
        ssis: { ...c.ssis, sampler: { windowSec: 4 } },
        autoscaler: new Map([...c.autoscaler].map(([k, rules]) => [k, rules.map((r) => ({ ...r, query: r.query.replaceAll('[20s]', '[4s]') }))])),
      }),
    });
    const prometheusUrl = stack.metricsMode;
    expect(prometheusUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);

    const first = await postJson(stack.ingressUrl, gpt2('Warm up', 8));
    expect(first.status, JSON.stringify(first.body)).to.equal(200);
    const s = stack;
    // Keep gpt2 busy until a sample shows Prometheus' view of it: requests and a TTFT.
    let sending = true;
    const traffic = (async () => {
      while (sending) await postJson(s.ingressUrl, gpt2('Explain MIG slices briefly', 8));
    })();
    const sample = await waitFor('a metrics-sampled of gpt2 with traffic, from Prometheus', () => {
      const samples = s.broker.events().filter((e) => e.event.type === 'ssis.metrics.sampled').map((e) => e.event.data as MetricsSampled);
      return samples.find((m) => m.service === 'gpt2' && m.load.arrivalRatePerSec > 0 && m.load.ttftMs !== null && m.metrics.every((x) => x.value !== null));
    }, 60_000);
    sending = false;
    await traffic;
    expect(sample.metrics.map((m) => m.name)).to.deep.equal(['time_per_output_token_seconds', 'waiting_requests']);
    expect(sample.load.avgOutputTokens).to.be.closeTo(8, 1e-9);
    expect(logLines.filter((l) => l.includes('query failed')), 'no query failed').to.deep.equal([]);

    await stack.stop();
    stack = undefined;
    const after = await fetch(`${prometheusUrl}/-/ready`).then(() => 'answered', (err: Error) => (err.cause instanceof Error ? err.cause.message : err.message));
    expect(after, 'Prometheus stopped with the stack').to.contain('ECONNREFUSED');
  });
});
