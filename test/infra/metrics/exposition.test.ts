import { expect } from 'chai';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { SsisError } from '../../../core/errors';
import { parseExposition, type ExpositionSample } from '../../../infra/metrics/exposition';

function find(samples: readonly ExpositionSample[], name: string, labels: Record<string, string> = {}): ExpositionSample | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

function parseError(text: string): SsisError {
  try {
    parseExposition(text);
  } catch (err) {
    if (err instanceof SsisError) return err;
    throw err;
  }
  throw new Error('expected a parse error');
}

describe('metrics exposition parser (text format 0.0.4)', () => {
  it('parses a vLLM-style page: colons in names, histogram series, escapes, NaN, ±Inf, timestamps', () => {
    const page = [
      '# HELP vllm:num_requests_running Number of requests currently running on GPU.',
      '# TYPE vllm:num_requests_running gauge',
      'vllm:num_requests_running{model_name="gpt2"} 2.0',
      '# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.',
      '# TYPE vllm:time_to_first_token_seconds histogram',
      'vllm:time_to_first_token_seconds_bucket{le="0.001",model_name="gpt2"} 0.0',
      'vllm:time_to_first_token_seconds_bucket{le="0.5",model_name="gpt2"} 3.0',
      'vllm:time_to_first_token_seconds_bucket{le="+Inf",model_name="gpt2"} 4.0',
      'vllm:time_to_first_token_seconds_count{model_name="gpt2"} 4.0',
      'vllm:time_to_first_token_seconds_sum{model_name="gpt2"} 1.25',
      '',
      '# HELP odd A help text with a backslash \\\\ and a newline \\n',
      '# TYPE odd gauge',
      'odd{path="C:\\\\models\\\\gpt2",quote="say \\"hi\\"",multi="line1\\nline2"} NaN',
      'odd{path="x"} +Inf',
      'odd{path="y",} -Inf 1700000000000',
      '  spaced_out   {  a = "1" ,  b="2"  }   7   ',
      'process_start_time_seconds 1.7e9',
      '# a free-form comment is ignored',
    ].join('\n');

    const samples = parseExposition(page);

    expect(samples).to.have.length(11);
    expect(find(samples, 'vllm:num_requests_running')).to.deep.equal({ name: 'vllm:num_requests_running', labels: { model_name: 'gpt2' }, value: 2 });
    expect(find(samples, 'vllm:time_to_first_token_seconds_bucket', { le: '+Inf' })?.value).to.equal(4);
    expect(find(samples, 'vllm:time_to_first_token_seconds_bucket', { le: '0.5' })?.labels).to.deep.equal({ le: '0.5', model_name: 'gpt2' });
    expect(find(samples, 'vllm:time_to_first_token_seconds_sum')?.value).to.equal(1.25);

    const escaped = find(samples, 'odd', { quote: 'say "hi"' });
    expect(escaped?.labels).to.deep.equal({ path: 'C:\\models\\gpt2', quote: 'say "hi"', multi: 'line1\nline2' });
    expect(escaped?.value).to.be.NaN;
    expect(find(samples, 'odd', { path: 'x' })?.value).to.equal(Infinity);
    expect(find(samples, 'odd', { path: 'y' })).to.deep.equal({ name: 'odd', labels: { path: 'y' }, value: -Infinity, timestampMs: 1_700_000_000_000 });
    expect(find(samples, 'spaced_out')).to.deep.equal({ name: 'spaced_out', labels: { a: '1', b: '2' }, value: 7 });
    expect(find(samples, 'process_start_time_seconds')?.value).to.equal(1.7e9);
  });

  it('reads back exactly what prom-client writes, histograms and label escaping included', async () => {
    const registry = new Registry();
    const latency = new Histogram({
      name: 'ssis_request_duration_seconds',
      help: 'Request latency with "quotes" and \\ backslashes',
      labelNames: ['route', 'note'],
      buckets: [0.1, 0.5, 1],
      registers: [registry],
    });
    const requests = new Counter({ name: 'ssis_requests_total', help: 'Requests', labelNames: ['code'], registers: [registry] });
    const running = new Gauge({ name: 'ssis_running', help: 'Running', registers: [registry] });
    const route = '/v1/completions';
    const note = 'a "quoted"\\path\nsecond line';
    latency.observe({ route, note }, 0.05);
    latency.observe({ route, note }, 0.7);
    latency.observe({ route, note }, 3);
    requests.inc({ code: '200' }, 5);
    running.set(-1.5);

    const samples = parseExposition(await registry.metrics());

    const bucket = (le: string): number | undefined => find(samples, 'ssis_request_duration_seconds_bucket', { le, route, note })?.value;
    expect([bucket('0.1'), bucket('0.5'), bucket('1'), bucket('+Inf')]).to.deep.equal([1, 1, 2, 3]);
    expect(find(samples, 'ssis_request_duration_seconds_sum', { route, note })?.value).to.be.closeTo(3.75, 1e-12);
    expect(find(samples, 'ssis_request_duration_seconds_count', { route, note })?.value).to.equal(3);
    expect(find(samples, 'ssis_requests_total', { code: '200' })?.value).to.equal(5);
    expect(find(samples, 'ssis_running')?.value).to.equal(-1.5);
  });

  it('accepts an empty page and CRLF line ends', () => {
    expect(parseExposition('')).to.deep.equal([]);
    expect(parseExposition('a 1\r\nb{x="y"} 2\r\n')).to.deep.equal([
      { name: 'a', labels: {}, value: 1 },
      { name: 'b', labels: { x: 'y' }, value: 2 },
    ]);
  });

  const malformed: readonly (readonly [string, string, RegExp])[] = [
    ['an unterminated label value', 'ok 1\nbad{a="b} 1', /line 2: unterminated label value/],
    ['a missing value', 'ok 1\nok 2\nbad{a="b"}', /line 3: sample bad has no value/],
    ['a value that is not a float', 'bad 1,5', /line 1: invalid sample value "1,5"/],
    ['letters glued to a number', 'bad 12abc', /line 1: invalid sample value/],
    ['a bad timestamp', 'bad 1 12.5', /line 1: invalid timestamp "12.5"/],
    ['text after the timestamp', 'bad 1 2 3', /line 1: unexpected text after the timestamp/],
    ['a duplicate label', 'bad{a="1",a="2"} 1', /line 1: duplicate label a/],
    ['a label without a quoted value', 'bad{a=1} 1', /line 1: expected a quoted value for label a/],
    ['a missing comma between labels', 'bad{a="1" b="2"} 1', /line 1: expected "," or "}" after label a/],
    ['a name that is not a metric name', '1bad 1', /line 1: expected a metric name/],
    ['an unknown TYPE', '# TYPE foo countr\nfoo 1', /line 1: invalid metric type "countr"/],
    ['a HELP line without a name', '# HELP', /line 1: HELP line without a valid metric name/],
  ];
  for (const [what, page, message] of malformed) {
    it(`rejects ${what} with SSIS_UPSTREAM_FAILED naming the line`, () => {
      const err = parseError(page);
      expect(err.code).to.equal('SSIS_UPSTREAM_FAILED');
      expect(err.retriable).to.equal(true);
      expect(err.message).to.match(message);
      expect(err.details['lineNumber']).to.be.a('number');
    });
  }
});
