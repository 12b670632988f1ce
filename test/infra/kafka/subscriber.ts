/** Test subscribers for the Kafka broker: a recording endpoint, and a real function on HTTP. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fromHttp } from '../../../events/codec/http';
import type { SsisEvent } from '../../../events/envelope';
import type { SsisFunction } from '../../../functions/runtime/function';
import { createFunctionApp, createFunctionRegistry } from '../../../functions/runtime/server';
import { createJsonLogger } from '../../../infra/logging/json-logger';

export interface RecordingSubscriber {
  readonly url: string;
  /** Every delivery attempt, in arrival order. */
  readonly received: SsisEvent[];
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Answers `status(event)` (204 by default) and records every attempt. */
export async function recordingSubscriber(status: (e: SsisEvent) => number = () => 204): Promise<RecordingSubscriber> {
  const received: SsisEvent[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const event = fromHttp({ headers: req.headers, body: Buffer.concat(chunks) });
      received.push(event);
      res.writeHead(status(event)).end();
    });
  });
  const url = await listen(server);
  return { url, received, close: () => close(server) };
}

export interface FunctionServer {
  readonly url: string;
  readonly logLines: string[];
  close(): Promise<void>;
}

/** A real SSIS function behind the shared runtime, as the stack serves it; `delayMs` slows each event. */
export async function functionServer(fn: SsisFunction, delayMs = 0): Promise<FunctionServer> {
  const logLines: string[] = [];
  const slowed: SsisFunction = delayMs === 0 ? fn : { ...fn, onEvent: async (e, ctx) => {
    await new Promise((r) => setTimeout(r, delayMs));
    return fn.onEvent(e, ctx);
  } };
  const ctx = { logger: createJsonLogger({ level: 'debug', write: (l) => logLines.push(l) }), publisher: { publish: () => Promise.resolve() }, registry: createFunctionRegistry(fn.name) };
  const server = createServer(createFunctionApp(slowed, ctx));
  const url = await listen(server);
  return { url, logLines, close: () => close(server) };
}
