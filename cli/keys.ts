/** `ssis keys create`: a new API key, printed once; its SHA-256 digest is added to the key file. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { SsisError } from '../core/errors';
import { generateApiKey } from '../infra/auth/api-keys';

const HELP = `Usage: ssis keys create --tenant <name> [options]

Makes a new API key for the inference APIs (Authorization: Bearer <key>), prints it ONCE, and adds
its SHA-256 digest (never the key) to the key file that \`ssis start --api-keys <file>\` and the
cluster ingress (the Secret ssis-api-keys) read. A running ingress picks the change up within seconds.

Options:
  --tenant <name>       who the key belongs to (rate limits are per tenant)
  --id <name>           names the key in logs (default: <tenant>-<n>)
  --class <name>        service class of its requests (default: the ingress's default class)
  --rate <n>            requests per second (default 10)
  --burst <n>           bucket size (default 2 × rate)
  --model <id>          only this model (repeatable; default: every catalog model)
  --file <path>         the key file (default: ssis-api-keys.yaml)
  --secret              also write the file as the Kubernetes Secret ssis-api-keys (namespace ssis)
                        to <file>-secret.yaml
`;

interface KeyDoc {
  keys: Record<string, unknown>[];
}

export function runKeys(argv: readonly string[]): void {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      tenant: { type: 'string' }, id: { type: 'string' }, class: { type: 'string' }, rate: { type: 'string' }, burst: { type: 'string' },
      model: { type: 'string', multiple: true }, file: { type: 'string' }, secret: { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (values.help || positionals[0] !== 'create') {
    process.stdout.write(HELP);
    if (!values.help) process.exitCode = 2;
    return;
  }
  const tenant = values.tenant;
  if (!tenant) throw new SsisError('SSIS_INVALID_CONFIG', '--tenant is required', { issues: [{ field: '--tenant', message: 'is required' }] });
  const file = values.file ?? 'ssis-api-keys.yaml';
  const doc: KeyDoc = existsSync(file) ? ((parseYaml(readFileSync(file, 'utf8')) as KeyDoc | null) ?? { keys: [] }) : { keys: [] };
  if (!Array.isArray(doc.keys)) throw new SsisError('SSIS_INVALID_CONFIG', `${file}: "keys" is not a list`, { issues: [{ field: 'keys', message: 'must be a list' }] });
  const id = values.id ?? `${tenant}-${doc.keys.filter((k) => k['tenant'] === tenant).length + 1}`;
  if (doc.keys.some((k) => k['id'] === id)) throw new SsisError('SSIS_INVALID_CONFIG', `${file} already has a key "${id}"`, { issues: [{ field: '--id', message: 'taken' }] });
  const number = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!/^[0-9]+(\.[0-9]+)?$/.test(v) || n <= 0) throw new SsisError('SSIS_INVALID_CONFIG', `${name} must be a positive number`, { issues: [{ field: name, message: 'not a positive number' }] });
    return n;
  };
  const { key, sha256 } = generateApiKey();
  const entry: Record<string, unknown> = { id, tenant, sha256 };
  if (values.class) entry['serviceClass'] = values.class;
  const rate = number(values.rate, '--rate');
  const burst = number(values.burst, '--burst');
  if (rate !== undefined) entry['ratePerSec'] = rate;
  if (burst !== undefined) entry['burst'] = burst;
  if (values.model) entry['models'] = values.model;
  doc.keys.push(entry);
  const text = stringifyYaml(doc);
  writeFileSync(file, text, { mode: 0o600 });
  process.stderr.write(`key ${id} of tenant ${tenant} added to ${file}; this is the only time the key is shown:\n`);
  process.stdout.write(`${key}\n`);
  if (values.secret) {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ssis-api-keys', namespace: 'ssis' }, type: 'Opaque', stringData: { 'keys.yaml': text } };
    const secretFile = `${file.replace(/\.ya?ml$/, '')}-secret.yaml`;
    writeFileSync(secretFile, stringifyYaml(secret), { mode: 0o600 });
    process.stderr.write(`the Secret ssis-api-keys the cluster ingress mounts: ${secretFile} (kubectl apply -f ${secretFile})\n`);
  }
}
