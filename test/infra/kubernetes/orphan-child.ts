/**
 * Started by lifecycle.test.ts as a separate process: starts a bare control plane (etcd and
 * kube-apiserver only), prints its run folder and waits to be killed, as a test run that is
 * SIGKILLed leaves its plane behind.
 */
import { startLocalControlPlane } from '../../../infra/kubernetes/local-control-plane';

void startLocalControlPlane({ nodes: false, knativeCrds: false, buildProgress: false }).then(
  (plane) => {
    process.stdout.write(`${plane.runDir}\n`);
    setInterval(() => undefined, 60_000);
  },
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
