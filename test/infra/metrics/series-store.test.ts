import { expect } from 'chai';
import { SsisError } from '../../../core/errors';
import { labelsKey } from '../../../infra/metrics/labels';
import { createLocalQueryEngine } from '../../../infra/metrics/query-engine';
import { createLabelMatcher } from '../../../infra/metrics/promql/matchers';
import { createSeriesStore } from '../../../infra/metrics/series-store';

const podA = { namespace: 'default', service: 'gpt2', revision: 'gpt2-00001', pod: 'gpt2-a', job: 'inference' };
const podB = { ...podA, pod: 'gpt2-b' };

function running(value: number, labels: Record<string, string> = { model_name: 'gpt2' }): { name: string; labels: Record<string, string>; value: number } {
  return { name: 'vllm:num_requests_running', labels, value };
}

describe('series store', () => {
  it('attaches target labels like Prometheus: collisions kept as exported_<name>, empty and __ labels dropped', () => {
    const store = createSeriesStore();
    store.append([running(1, { model_name: 'gpt2', pod: 'from-exporter', exported_pod: 'taken', empty: '' })], 0, { ...podA, __address__: '10.0.0.1:8000', zone: '' });
    const [series] = store.select([createLabelMatcher('__name__', '=', 'vllm:num_requests_running')]);
    expect(series?.labels).to.deep.equal({
      __name__: 'vllm:num_requests_running',
      model_name: 'gpt2',
      exported_pod: 'taken',
      exported_exported_pod: 'from-exporter',
      ...podA,
    });
    expect(series?.key).to.equal(labelsKey(series?.labels ?? {}));
  });

  it('selects by matchers, sorted by label set', () => {
    const store = createSeriesStore();
    store.append([running(2)], 0, podB);
    store.append([running(1), { name: 'other', labels: {}, value: 3 }], 0, podA);
    const pods = (matchers: Parameters<typeof store.select>[0]): string[] => store.select(matchers).map((s) => s.labels['pod'] ?? '');
    expect(pods([createLabelMatcher('__name__', '=', 'vllm:num_requests_running')])).to.deep.equal(['gpt2-a', 'gpt2-b']);
    expect(pods([createLabelMatcher('__name__', '=~', 'vllm:.*'), createLabelMatcher('pod', '!=', 'gpt2-a')])).to.deep.equal(['gpt2-b']);
    expect(pods([createLabelMatcher('pod', '=~', 'gpt2-.')])).to.deep.equal(['gpt2-a', 'gpt2-a', 'gpt2-b']);
    // Regexes are anchored: "gpt2" alone does not match "gpt2-a".
    expect(pods([createLabelMatcher('pod', '=~', 'gpt2')])).to.deep.equal([]);
  });

  it('reports samples refused for being out of order', () => {
    const store = createSeriesStore();
    expect(store.append([running(1)], 2000, podA)).to.deep.equal({ appended: 1, rejected: 0, markedStale: 0 });
    expect(store.append([running(2)], 1000, podA)).to.deep.equal({ appended: 0, rejected: 1, markedStale: 0 });
  });

  it('drops samples older than the retention, and series left without samples', () => {
    const store = createSeriesStore({ retentionMs: 60_000, pruneIntervalMs: 1 });
    store.append([running(0), { name: 'short_lived', labels: {}, value: 1 }], 0, podA);
    // short_lived is missing from the scrape at 15 s, so it gets a staleness marker there.
    for (let t = 15_000; t <= 60_000; t += 15_000) store.append([running(t / 1000)], t, podA);
    expect(store.stats()).to.deep.equal({ series: 2, samples: 7, targets: 1 });

    store.append([running(75)], 75_000, podA); // cutoff 15 s: both samples at 0 s go, the marker at 15 s stays
    expect(store.stats()).to.deep.equal({ series: 2, samples: 6, targets: 1 });

    store.append([running(90)], 90_000, podA); // cutoff 30 s: short_lived has nothing left and is forgotten
    expect(store.stats()).to.deep.equal({ series: 1, samples: 5, targets: 1 });
    expect(store.select([createLabelMatcher('__name__', '=', 'short_lived')])).to.deep.equal([]);

    store.prune(200_000);
    expect(store.stats()).to.deep.equal({ series: 0, samples: 0, targets: 0 });
  });

  it('rejects a retention that is not positive', () => {
    expect(() => createSeriesStore({ retentionMs: 0 })).to.throw(SsisError, /retention/);
  });

  describe('staleness', () => {
    const engine = (store: ReturnType<typeof createSeriesStore>): ReturnType<typeof createLocalQueryEngine> => createLocalQueryEngine(store);

    it('ends a series that is missing from the next scrape of its target', async () => {
      const store = createSeriesStore();
      store.append([running(1), { name: 'vllm:num_requests_waiting', labels: { model_name: 'gpt2' }, value: 4 }], 0, podA);
      const report = store.append([running(2)], 5000, podA);
      expect(report).to.deep.equal({ appended: 1, rejected: 0, markedStale: 1 });

      const waiting = await engine(store).query('vllm:num_requests_waiting', 6000);
      expect(waiting).to.deep.equal({ resultType: 'vector', result: [] });
      // Before the marker the old sample is still within the 5 min lookback.
      const before = await engine(store).query('vllm:num_requests_waiting', 4000);
      expect(before.resultType === 'vector' && before.result.map((r) => r.value)).to.deep.equal([4]);
    });

    it('ends every series of a target that went away, and brings them back when it returns', async () => {
      const store = createSeriesStore();
      store.append([running(1)], 0, podA);
      store.append([running(2)], 0, podB);
      expect(store.markStale(podA, 5000)).to.equal(1);
      expect(store.markStale(podA, 6000)).to.equal(0);

      const after = await engine(store).query('vllm:num_requests_running', 10_000);
      expect(after.resultType === 'vector' && after.result.map((r) => r.metric['pod'])).to.deep.equal(['gpt2-b']);

      store.append([running(3)], 20_000, podA);
      const back = await engine(store).query('sum(vllm:num_requests_running)', 20_000);
      expect(back).to.deep.equal({ resultType: 'vector', result: [{ metric: {}, value: 5 }] });
    });

    it('leaves samples with their own timestamps out of staleness, as Prometheus does', () => {
      const store = createSeriesStore();
      store.append([{ ...running(1), timestampMs: 500 }], 1000, podA);
      expect(store.append([], 2000, podA).markedStale).to.equal(0);
    });
  });

  it('keeps up with 100 targets x 200 series per scrape', () => {
    const store = createSeriesStore();
    const samples = Array.from({ length: 200 }, (_, i) => ({ name: `vllm:metric_${i % 20}_bucket`, labels: { le: String(i), model_name: 'gpt2' }, value: i }));
    const started = performance.now();
    for (let scrape = 0; scrape < 20; scrape++) {
      for (let target = 0; target < 100; target++) store.append(samples, scrape * 1000, { ...podA, pod: `gpt2-${target}` });
    }
    const perScrapeMs = (performance.now() - started) / 20;
    expect(store.stats()).to.deep.equal({ series: 20_000, samples: 400_000, targets: 100 });
    // About 20 ms on a laptop; the bound only catches accidental quadratic behaviour.
    expect(perScrapeMs).to.be.below(500);
  });
});
