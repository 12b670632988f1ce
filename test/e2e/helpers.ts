/** Shared helpers for the end-to-end tests on the embedded stack. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { SsisConfiguration } from '../../infra/config/from-configmaps';
import { startEmbeddedStack, type RunningStack } from '../../app/embedded-stack';
import { createJsonLogger } from '../../infra/logging/json-logger';

type StackNodes = NonNullable<Parameters<typeof startEmbeddedStack>[0]['nodes']>;

export const ROOT = resolve(__dirname, '..', '..');

export interface TestStack {
  readonly stack: RunningStack;
  readonly logLines: string[];
}

/** A stack tuned for tests: fast sampling and windows, short model loads; real everything else. */
export async function startTestStack(configure?: (c: SsisConfiguration) => SsisConfiguration, nodes?: StackNodes): Promise<TestStack> {
  const logLines: string[] = [];
  const stack = await startEmbeddedStack({
    knativeDir: join(ROOT, 'knative'),
    stateDir: mkdtempSync(join(tmpdir(), 'ssis-e2e-')),
    ingressPort: 0,
    logger: createJsonLogger({ level: 'debug', write: (l) => logLines.push(l) }),
    sampleEverySec: 1,
    ...(nodes ? { nodes } : {}),
    loadTimeScale: 0.2,
    configure: (c) => {
      const fast: SsisConfiguration = {
        ...c,
        ssis: { ...c.ssis, sampler: { windowSec: 4 }, scaler: { ...c.ssis.scaler, stabilizationWindowSec: 4, upCooldownSec: 3 } },
        // Same rules as the shipped ConfigMap, with windows that fit a test's time budget.
        autoscaler: new Map([...c.autoscaler].map(([k, rules]) => [k, rules.map((r) => ({ ...r, query: r.query.replaceAll('[20s]', '[4s]') }))])),
      };
      return configure ? configure(fast) : fast;
    },
  });
  return { stack, logLines };
}

export interface InferenceReply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Headers;
}

export async function postJson(url: string, body: unknown, raw?: string): Promise<InferenceReply> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw ?? JSON.stringify(body) });
  const text = await res.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export function gpt2(prompt = 'What is Deep Learning?', maxNewTokens: number | string = 20, extraEnv: Record<string, string> = {}): unknown {
  return { token: prompt, par: { max_new_tokens: maxNewTokens }, env: { MODEL_ID: 'openai-community/gpt2', ...extraEnv } };
}

export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The header the stack's broker and functions ask of event senders: its secret (.ssis/event-secret). */
export function eventSenderHeaders(stack: RunningStack): { authorization: string } {
  return { authorization: `Bearer ${readFileSync(stack.eventSecretPath, 'utf8').trim()}` };
}
