/**
 * Event sender identity against the REAL kube-apiserver as the OIDC issuer (what Knative
 * Eventing's `authentication-oidc` uses): a function's ServiceAccount of knative/rbac.yaml requests
 * a token for a receiver's audience through the TokenRequest API, the receiver reads the issuer and
 * its key set from the API server with its own account's credentials and verifies signature,
 * issuer, audience and expiry. STAND-IN: the Knative dispatcher that would carry the token; the
 * test presents it as the dispatcher does, in `Authorization: Bearer`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadKubeConfig } from '../../../infra/kubernetes/kubeconfig';
import { ensureNamespace } from '../../../infra/kubernetes/service-accounts';
import { serviceAccountIssuer, serviceAccountKeySet } from '../../../infra/kubernetes/oidc-discovery';
import { tokenRequestSender } from '../../../infra/kubernetes/token-sender';
import type { LocalControlPlane } from '../../../infra/kubernetes/local-control-plane';
import { oidcVerifier } from '../../../infra/auth/oidc';
import { createFunctionApp } from '../../../functions/runtime/server';
import type { SsisFunction } from '../../../functions/runtime/function';
import { createEvent } from '../../../events/create';
import { toHttpBinary } from '../../../events/codec/http';
import { ROLLOUT_COMPLETED, type RolloutCompleted } from '../../../events/rollout-completed';
import { sequentialIds, systemClock } from '../../../core/common/ports';
import { harness } from '../../functions/helpers';
import { ROOT, kubectl, sharedControlPlane } from './control-plane-fixture';
import { rejection } from '../../support/rejection';

const NS = 'ssis';
const EVALUATE = 'serving.knative.dev/service/ssis/ssis-evaluate';
const ROLLOUT = 'serving.knative.dev/service/ssis/ssis-rollout';

describe('event sender identity on a real kube-apiserver (OIDC tokens of the functions\' ServiceAccounts)', function () {
  this.timeout(120_000);
  let plane: LocalControlPlane;

  before(async () => {
    plane = await sharedControlPlane();
    await ensureNamespace(plane.kubeConfig(), NS);
    await ensureNamespace(plane.kubeConfig(), 'gpu-operator');
    const applied = kubectl(plane, ['apply', '-f', join(ROOT, 'knative', 'rbac.yaml')]);
    expect(applied.status, applied.stderr).to.equal(0);
  });

  const accountKubeConfig = async (name: string) => loadKubeConfig((await plane.serviceAccountKubeconfig(NS, name)).kubeconfigPath);

  it('a controller\'s token for the evaluate audience passes the evaluate verifier and fails every other check', async () => {
    const controller = await accountKubeConfig('ssis-controller');
    // The receiver discovers the issuer with its own account (system:service-account-issuer-discovery).
    const issuer = await serviceAccountIssuer(controller);
    expect(issuer).to.equal('https://kubernetes.default.svc.cluster.local');
    const keys = await serviceAccountKeySet(controller);
    expect(keys.keys.length).to.be.greaterThan(0);

    const forEvaluate = await tokenRequestSender(controller, { namespace: NS, name: 'ssis-controller' }, EVALUATE).authorization();
    const forRollout = await tokenRequestSender(controller, { namespace: NS, name: 'ssis-controller' }, ROLLOUT).authorization();
    const evaluate = oidcVerifier({ issuer, audience: EVALUATE, jwks: () => serviceAccountKeySet(controller) });
    await evaluate.verify(forEvaluate);
    expect((await rejection(evaluate.verify(forRollout))).message).to.match(/not for this receiver/);
    expect((await rejection(oidcVerifier({ issuer: 'https://elsewhere', audience: EVALUATE, jwks: () => serviceAccountKeySet(controller) }).verify(forEvaluate))).message).to.match(/another issuer/);
    // A token the API server signed but with its signature altered.
    const [h, p, s] = forEvaluate.slice('Bearer '.length).split('.');
    const flipped = `${s!.slice(0, -2)}${s!.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await rejection(evaluate.verify(`Bearer ${h}.${p}.${flipped}`))).message).to.match(/signature is not valid/);
    // The API server's own audience (a plain kubectl token) is not an event credential either.
    expect((await rejection(evaluate.verify(`Bearer ${plane.adminToken}`))).code).to.equal('SSIS_UNAUTHENTICATED');
  });

  it('an account may request tokens only for itself (RBAC of knative/rbac.yaml)', async () => {
    const controller = await accountKubeConfig('ssis-controller');
    const impersonating = tokenRequestSender(controller, { namespace: NS, name: 'ssis-ingress' }, EVALUATE);
    expect(String((await rejection(impersonating.authorization())).message)).to.match(/403|forbidden/i);
    const ingress = await accountKubeConfig('ssis-ingress');
    await tokenRequestSender(ingress, { namespace: NS, name: 'ssis-ingress' }, EVALUATE).authorization();
  });

  it('a function verifying OIDC takes an event carrying a token for its audience and refuses one for another receiver with 401', async () => {
    const controller = await accountKubeConfig('ssis-controller');
    const handled: string[] = [];
    const fn: SsisFunction = { name: 'evaluate', handles: [ROLLOUT_COMPLETED], onEvent: (e) => { handled.push(e.id); return Promise.resolve(undefined); } };
    const intakeAuth = oidcVerifier({ issuer: await serviceAccountIssuer(controller), audience: EVALUATE, jwks: () => serviceAccountKeySet(controller) });
    const server: Server = createServer(createFunctionApp(fn, harness('evaluate').ctx, { intakeAuth }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const data: RolloutCompleted = { decisionId: 'd1', service: 'gpt2', revision: 'gpt2-00001', previousRevision: null, profile: '1g.5gb', gpuModel: 'A100-SXM4-40GB', replicas: 1, generation: 1, readyAfterMs: 1, completedAt: new Date().toISOString() };
      const message = toHttpBinary(createEvent(ROLLOUT_COMPLETED, data, { source: '/ssis/functions/rollout', clock: systemClock, ids: sequentialIds('oidc') }));
      const send = (authorization?: string) => fetch(url, { method: 'POST', headers: { ...message.headers, ...(authorization ? { authorization } : {}) }, body: message.body });
      expect((await send()).status).to.equal(401);
      expect((await send(await tokenRequestSender(controller, { namespace: NS, name: 'ssis-controller' }, ROLLOUT).authorization())).status).to.equal(401);
      expect(handled).to.deep.equal([]);
      expect((await send(await tokenRequestSender(controller, { namespace: NS, name: 'ssis-controller' }, EVALUATE).authorization())).status).to.equal(204);
      expect(handled).to.have.length(1);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
