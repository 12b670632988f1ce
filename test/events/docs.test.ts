/**
 * docs/events.md is the catalog people read; this keeps it in step with the schemas: every field
 * of every schema has a row, no row names a field that is gone, and the examples are valid events
 * whose Kafka records match what the codec writes.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toKafkaRecord } from '../../events/codec/kafka.js';
import { validateEnvelope } from '../../events/create.js';
import type { JsonSchema } from '../../events/data-schema.js';
import { EVENT_REGISTRY } from '../../events/registry.js';

const CATALOG = readFileSync(join(__dirname, '..', '..', 'docs', 'events.md'), 'utf8');

function sectionOf(type: string): string {
  const start = CATALOG.indexOf(`\n## \`${type}\`\n`);
  expect(start, `docs/events.md has a section for ${type}`).to.be.greaterThan(-1);
  const end = CATALOG.indexOf('\n## ', start + 1);
  return CATALOG.slice(start, end === -1 ? undefined : end);
}

/** Field paths of a schema as the tables write them: `target.replicas`, `slices[].node`. */
function fieldPaths(schema: JsonSchema, prefix = ''): string[] {
  const properties = (schema['properties'] ?? {}) as Record<string, JsonSchema>;
  return Object.entries(properties).flatMap(([name, child]) => {
    const path = `${prefix}${name}`;
    const items = child['items'] as JsonSchema | undefined;
    if (child['type'] === 'object') return [path, ...fieldPaths(child, `${path}.`)];
    if (child['type'] === 'array' && items?.['type'] === 'object') return [path, ...fieldPaths(items, `${path}[].`)];
    return [path];
  });
}

function tableFields(section: string): string[] {
  return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!);
}

function fencedBlock(section: string, language: string): string {
  const match = new RegExp('```' + language + '\\n([\\s\\S]*?)\\n```').exec(section);
  expect(match, `a ${language} block`).not.to.equal(null);
  return match![1]!;
}

describe('docs/events.md', () => {
  for (const [type, { schema }] of Object.entries(EVENT_REGISTRY)) {
    describe(type, () => {
      const section = (): string => sectionOf(type);

      it('has a row for every field of the schema and none for fields that do not exist', () => {
        expect(tableFields(section())).to.have.members(fieldPaths(schema));
      });

      it('shows a valid example event and the Kafka record the codec writes for it', () => {
        const example = validateEnvelope(JSON.parse(fencedBlock(section(), 'json')));
        expect(example.type).to.equal(type);
        const record = toKafkaRecord(example);
        const written = [
          `key:       ${record.key}`,
          `timestamp: ${record.timestamp}`,
          'headers:',
          ...Object.entries(record.headers).map(([name, value]) => `  ${name}: ${value}`),
          `value:     ${record.value!.toString('utf8')}`,
        ].join('\n');
        expect(fencedBlock(section(), 'text')).to.equal(written);
      });
    });
  }
});
