import { expect } from 'chai';
import { createJsonLogger, scrubSecrets } from '../../../infra/logging/json-logger';

describe('infra/logging JSON logger', () => {
  it('writes structured JSON lines with level, message, base and child fields', () => {
    const lines: string[] = [];
    const log = createJsonLogger({ write: (l) => lines.push(l), base: { app: 'ssis' }, now: () => 0 }).child({ function: 'evaluate' });
    log.info({ service: 'gpt2' }, 'decided');
    log.debug({}, 'hidden at info level');
    expect(lines.map((l) => JSON.parse(l) as unknown)).to.deep.equal([{ time: '1970-01-01T00:00:00.000Z', level: 'info', msg: 'decided', app: 'ssis', function: 'evaluate', service: 'gpt2' }]);
  });

  it('masks token-shaped strings and secret-named fields, but not token counts', () => {
    const out = scrubSecrets({ env: { HF_TOKEN: 'abc', MODEL_ID: 'x' }, note: 'using hf_abcdefghijkl now', auth: 'Bearer abcdefghijklmnop', apiKey: 'k', inputTokens: 12, maxNewTokens: 3 });
    expect(out).to.deep.equal({ env: { HF_TOKEN: '[redacted]', MODEL_ID: 'x' }, note: 'using [redacted] now', auth: 'Bearer abcdefghijklmnop'.replace(/Bearer \S+/, '[redacted]'), apiKey: '[redacted]', inputTokens: 12, maxNewTokens: 3 });
  });
});
