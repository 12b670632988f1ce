import { expect } from 'chai';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SsisError } from '../../core/errors';
import { startEmbeddedStack } from '../../app/embedded-stack';
import { silentLogger } from '../../core/common/ports';
import { ROOT } from './helpers';
import { generateApiKey } from '../../infra/auth/api-keys';

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

  it('refuses to serve the inference APIs beyond loopback without API keys, and with a key file requires a key there', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'ssis-start-'));
    let error: unknown;
    try {
      await startEmbeddedStack({ knativeDir: join(ROOT, 'knative'), stateDir, ingressPort: 0, ingressHost: '0.0.0.0', logger: silentLogger });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(SsisError);
    expect((error as SsisError).issues[0]!.field).to.equal('--api-keys');
    const { key, sha256 } = generateApiKey();
    const keysFile = join(stateDir, 'keys.yaml');
    writeFileSync(keysFile, `keys:\n  - {id: ci, tenant: ci, sha256: ${sha256}}\n`);
    const stack = await startEmbeddedStack({ knativeDir: join(ROOT, 'knative'), stateDir, ingressPort: 0, ingressHost: '0.0.0.0', apiKeysFile: keysFile, logger: silentLogger });
    try {
      expect((await fetch(`${stack.ingressUrl}/v1/models`)).status).to.equal(401);
      const listed = await fetch(`${stack.ingressUrl}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
      expect(listed.status).to.equal(200);
    } finally {
      await stack.stop();
    }
  });
});
