/**
 * Started by llama-server.test.ts as a separate process: starts a llama-server, prints its run
 * folder and waits to be killed, as a test run that is SIGKILLed leaves its engine behind.
 */
import { llamaCppArtifacts } from '../../../infra/engines/llama-cpp-binaries';
import { startLlamaServer } from '../../../infra/engines/llama-server';

const { model, modelId } = llamaCppArtifacts();
void startLlamaServer({ modelPath: model, alias: modelId }).then(
  (server) => {
    process.stdout.write(`${server.runDir}\n`);
    setInterval(() => undefined, 60_000);
  },
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
