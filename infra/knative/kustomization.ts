/**
 * The list of manifest files a kustomization names. Only a flat `resources:` list of local files is
 * accepted: what this reads must equal what `kubectl apply -k` applies, and nested kustomizations,
 * remote bases, patches, generators and name/namespace transformers would make the two differ
 * without the loader knowing.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { parseDocument } from 'yaml';
import type { FieldIssue } from '../../core/errors';
import { FieldContext, describeValue, isPlainObject, readList } from './field-context';

const KUSTOMIZATION_FILE_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'] as const;

/** Fields that leave the resources as written (or only add labels the loader ignores). */
const NEUTRAL_FIELDS = ['apiVersion', 'kind', 'metadata', 'resources', 'images', 'labels', 'commonLabels', 'sortOptions', 'buildMetadata'];

export interface KustomizationResources {
  /** The kustomization's own file name, e.g. `kustomization.yaml`. */
  readonly file: string;
  /** Resource paths relative to the folder, in the kustomization's order. */
  readonly resources: readonly string[];
}

/** Reads the kustomization in `dir`; problems go to `issues`, undefined when nothing is usable. */
export function readKustomizationResources(dir: string, issues: FieldIssue[]): KustomizationResources | undefined {
  const file = KUSTOMIZATION_FILE_NAMES.find((name) => existsSync(join(dir, name)));
  if (!file) {
    issues.push({ field: dir, message: `no ${KUSTOMIZATION_FILE_NAMES.join(' / ')} in this folder` });
    return undefined;
  }
  const at = FieldContext.document(file, 0, issues);
  const document = parseDocument(readFileSync(join(dir, file), 'utf8'));
  if (document.errors.length > 0) {
    for (const error of document.errors) at.fail(`invalid YAML: ${error.message}`);
    return undefined;
  }
  const kustomization: unknown = document.toJS();
  if (!isPlainObject(kustomization)) {
    at.fail(`must be a mapping, got ${describeValue(kustomization)}`);
    return undefined;
  }
  for (const key of Object.keys(kustomization)) {
    if (!NEUTRAL_FIELDS.includes(key)) {
      at.at(key).fail('not supported: the embedded broker reads the resources as written, so knative/ must be a flat list of files without patches, generators, bases, components or name/namespace transformers');
    }
  }
  const list = readList(kustomization.resources, at.at('resources'));
  if (!list) return undefined;
  const resources: string[] = [];
  list.forEach((entry, index) => {
    const resource = checkResourceEntry(dir, entry, at.at('resources').at(index));
    if (resource !== undefined) resources.push(resource);
  });
  return { file, resources };
}

function checkResourceEntry(dir: string, entry: unknown, at: FieldContext): string | undefined {
  if (typeof entry !== 'string' || entry === '') {
    at.fail(`must be a file path, got ${describeValue(entry)}`);
    return undefined;
  }
  if (isRemote(entry)) {
    at.fail(`${entry}: remote bases are not supported; copy the manifests into this folder`);
    return undefined;
  }
  const relative = normalize(entry);
  if (isAbsolute(entry) || relative === '..' || relative.startsWith(`..${sep}`)) {
    at.fail(`${entry}: must stay inside the manifest folder (kustomize refuses files outside its root too)`);
    return undefined;
  }
  const path = join(dir, relative);
  if (!existsSync(path)) {
    at.fail(`${entry}: file not found`);
    return undefined;
  }
  if (statSync(path).isDirectory()) {
    at.fail(`${entry}: is a directory; nested kustomizations are not supported, list its files instead`);
    return undefined;
  }
  return relative;
}

function isRemote(entry: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) || entry.startsWith('git@') || entry.startsWith('github.com/') || entry.includes('?ref=');
}
