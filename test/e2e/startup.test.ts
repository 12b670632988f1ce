import { expect } from 'chai';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SsisError } from '../../core/errors';
import { startEmbeddedStack } from '../../app/embedded-stack';
import { silentLogger } from '../../core/common/ports';
import { ROOT } from './helpers';

describe('e2e: stack start-up', () => {
  it('refuses a busy ingress port with a hint, leaving nothing running', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as AddressInfo).port;
    try {
      let error: unknown;
      try {
        await startEmbeddedStack({ knativeDir: join(ROOT, 'knative'), stateDir: mkdtempSync(join(tmpdir(), 'ssis-start-')), ingressPort: port, logger: silentLogger });
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(SsisError);
      expect((error as SsisError).message).to.contain(`port ${port} is already in use`);
      expect((error as SsisError).issues[0]!.field).to.equal('PORT');
    } finally {
      blocker.close();
    }
  });

  it('refuses invalid manifests, naming the file and field', async () => {
    let error: unknown;
    try {
      await startEmbeddedStack({ knativeDir: join(ROOT, 'does-not-exist'), stateDir: mkdtempSync(join(tmpdir(), 'ssis-start-')), ingressPort: 0, logger: silentLogger });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(SsisError);
    expect((error as SsisError).code).to.equal('SSIS_INVALID_CONFIG');
    expect((error as SsisError).issues.length).to.be.greaterThan(0);
  });
});
