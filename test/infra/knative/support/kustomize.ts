/**
 * Renders a kustomization with whichever of `kubectl kustomize` or `kustomize build` is on PATH.
 * Neither being there is a failure, not a skip: the manifests must be proven to render, and the CI
 * entry point provides the tools.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export type RenderedObject = Record<string, unknown>;

export function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this PATH entry
    }
  }
  return undefined;
}

/** The rendering command for `dir`, or an explanation of why there is none. */
export function kustomizeCommand(dir: string): { command: string; args: string[] } | { missing: string } {
  const kubectl = findOnPath('kubectl');
  if (kubectl) return { command: kubectl, args: ['kustomize', dir] };
  const kustomize = findOnPath('kustomize');
  if (kustomize) return { command: kustomize, args: ['build', dir] };
  return { missing: 'neither kubectl nor kustomize is on PATH, so knative/ cannot be rendered: run the tests through .ci/run, which provides them' };
}

/** The objects `kubectl apply -k dir` would send, in kustomize's order. */
export function renderKustomization(dir: string): RenderedObject[] {
  const command = kustomizeCommand(dir);
  if ('missing' in command) throw new Error(command.missing);
  const output = execFileSync(command.command, command.args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(output)
    .map((document) => document.toJS() as unknown)
    .filter((object): object is RenderedObject => object !== null && typeof object === 'object' && !Array.isArray(object));
}
