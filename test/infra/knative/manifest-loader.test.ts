import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import { SsisError, type FieldIssue } from '../../../core/errors';
import { loadManifests } from '../../../infra/knative/manifests';

const KUSTOMIZATION = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - broker.yaml
  - triggers.yaml
`;

const BROKER = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: ns
  annotations:
    eventing.knative.dev/broker.class: Kafka
spec:
  delivery:
    retry: 4
    backoffPolicy: linear
    backoffDelay: PT0.5S
    deadLetterSink:
      ref: {apiVersion: eventing.knative.dev/v1alpha1, kind: KafkaSink, name: dlq}
---
apiVersion: eventing.knative.dev/v1alpha1
kind: KafkaSink
metadata: {name: dlq, namespace: ns}
spec: {topic: dlq-topic, bootstrapServers: ["kafka:9092"]}
`;

const TRIGGER = `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: t1
  namespace: ns
spec:
  broker: default
  filter:
    attributes: {type: a.b, source: ""}
  subscriber:
    ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: fn}
    uri: /events
  delivery:
    timeout: PT1M
`;

const tempDirs: string[] = [];

function manifestDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ssis-knative-'));
  tempDirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

function issuesOf(dir: string): FieldIssue[] {
  try {
    loadManifests(dir);
  } catch (error) {
    expect(error).to.be.instanceOf(SsisError);
    expect((error as SsisError).code).to.equal('SSIS_INVALID_CONFIG');
    expect((error as SsisError).message).to.contain(`invalid Knative manifests in ${dir}`);
    return [...(error as SsisError).issues];
  }
  throw new Error('the manifests were accepted');
}

const fields = (issues: readonly FieldIssue[]): string[] => issues.map((issue) => issue.field);

describe('infra/knative/manifests loadManifests', () => {
  after(() => {
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('reads a minimal set, merging the Trigger delivery onto the Broker defaults', () => {
    const manifests = loadManifests(manifestDir({ 'kustomization.yaml': KUSTOMIZATION, 'broker.yaml': BROKER, 'triggers.yaml': TRIGGER }));
    expect(manifests.files).to.deep.equal(['broker.yaml', 'triggers.yaml']);
    const [trigger] = manifests.triggers;
    expect(trigger).to.deep.include({ name: 't1', namespace: 'ns', broker: 'default', ordered: false });
    expect(trigger?.subscriber).to.deep.equal({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'fn', namespace: 'ns', uri: '/events' });
    // Only the timeout is the Trigger's; the rest comes from the Broker, except the backoff policy,
    // which eventing-kafka-broker takes from the Trigger (unset = exponential).
    expect(trigger?.delivery).to.deep.equal({
      retry: 4,
      backoffPolicy: 'exponential',
      backoffDelayMs: 500,
      timeoutMs: 60_000,
      deadLetterSink: { apiVersion: 'eventing.knative.dev/v1alpha1', kind: 'KafkaSink', name: 'dlq', namespace: 'ns' },
    });
    expect(manifests.broker.delivery).to.deep.include({ retry: 4, backoffPolicy: 'linear', backoffDelayMs: 500, timeoutMs: 600_000 });
    // Legacy filter: the empty `source` matches anything.
    expect(trigger?.filters.origin).to.equal('filter.attributes');
    expect(trigger?.filters.matches({ type: 'a.b' })).to.equal(true);
    expect(trigger?.filters.matches({ type: 'a.c', source: 's' })).to.equal(false);
    expect(manifests.kafkaSinks).to.deep.equal([{ name: 'dlq', namespace: 'ns', topic: 'dlq-topic' }]);
  });

  it('reads ConfigMap values as Kubernetes does: YAML 1.1, but dates and h:mm stay strings', () => {
    const dir = manifestDir({
      'kustomization.yaml': `${KUSTOMIZATION}  - config.yaml\n`,
      'broker.yaml': BROKER,
      'triggers.yaml': TRIGGER,
      'config.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {since: 2026-01-01, window: 1:30, mode: "0644", empty: ""}\n',
    });
    expect(loadManifests(dir).configMaps.get('cfg')).to.deep.equal({ since: '2026-01-01', window: '1:30', mode: '0644', empty: '' });
  });

  describe('the kustomization', () => {
    it('refuses nested kustomizations, remote bases, missing files and paths leaving the folder', () => {
      const dir = manifestDir({
        'kustomization.yaml': `resources:
  - broker.yaml
  - triggers.yaml
  - base
  - https://github.com/acme/manifests//knative?ref=v1
  - github.com/acme/manifests/knative
  - missing.yaml
  - ../outside.yaml
`,
        'broker.yaml': BROKER,
        'triggers.yaml': TRIGGER,
        'base/kustomization.yaml': 'resources: []\n',
      });
      const issues = issuesOf(dir);
      expect(issues.map((issue) => `${issue.field}: ${issue.message}`)).to.deep.equal([
        'kustomization.yaml#0:resources[2]: base: is a directory; nested kustomizations are not supported, list its files instead',
        'kustomization.yaml#0:resources[3]: https://github.com/acme/manifests//knative?ref=v1: remote bases are not supported; copy the manifests into this folder',
        'kustomization.yaml#0:resources[4]: github.com/acme/manifests/knative: remote bases are not supported; copy the manifests into this folder',
        'kustomization.yaml#0:resources[5]: missing.yaml: file not found',
        'kustomization.yaml#0:resources[6]: ../outside.yaml: must stay inside the manifest folder (kustomize refuses files outside its root too)',
      ]);
    });

    it('refuses fields that would make the applied objects differ from the files', () => {
      const dir = manifestDir({
        'kustomization.yaml': `${KUSTOMIZATION}namespace: other\npatches:\n  - path: p.yaml\nimages:\n  - name: x\n    newTag: "1"\n`,
        'broker.yaml': BROKER,
        'triggers.yaml': TRIGGER,
      });
      expect(fields(issuesOf(dir))).to.deep.equal(['kustomization.yaml#0:namespace', 'kustomization.yaml#0:patches']);
    });

    it('needs a kustomization file', () => {
      const dir = manifestDir({ 'broker.yaml': BROKER });
      expect(issuesOf(dir)[0]?.message).to.contain('no kustomization.yaml');
    });
  });

  it('reports every problem of every file at once, with file, document index and field', () => {
    const dir = manifestDir({
      'kustomization.yaml': `${KUSTOMIZATION}  - more.yaml\n  - broken.yaml\n`,
      'broker.yaml': BROKER,
      'triggers.yaml': `${TRIGGER}---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: t2
  annotations:
    kafka.eventing.knative.dev/delivery.order: strict
spec:
  broker: default
  fitlers: []
  filters:
    - cesql: "type = 'x'"
  subscriber: {uri: "http://example.com"}
  delivery: {retry: "3", backoffDelay: 1s}
`,
      // Document 1 of more.yaml is empty (two separators in a row) and is skipped, but still counted.
      'more.yaml': `apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: ns}
data:
  enabled: yes
  replicas: 3
---
---
apiVersion: eventing.knative.dev/v1beta1
kind: Trigger
metadata: {name: t3, namespace: ns}
`,
      'broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [unclosed\n',
    });
    const issues = issuesOf(dir);
    expect(fields(issues)).to.have.members([
      'triggers.yaml#1:metadata.namespace',
      'triggers.yaml#1:metadata.annotations["kafka.eventing.knative.dev/delivery.order"]',
      'triggers.yaml#1:spec.fitlers',
      'triggers.yaml#1:spec.filters[0].cesql',
      'triggers.yaml#1:spec.subscriber.ref',
      'triggers.yaml#1:spec.delivery.retry',
      'triggers.yaml#1:spec.delivery.backoffDelay',
      'more.yaml#0:data.enabled',
      'more.yaml#0:data.replicas',
      'more.yaml#2:apiVersion',
      ...issues.filter((issue) => issue.field === 'broken.yaml#0:').map((issue) => issue.field),
    ]);
    expect(issues.find((issue) => issue.field === 'triggers.yaml#1:spec.filters[0].cesql')?.message).to.equal(
      'Trigger t2: dialect cesql is not supported by the embedded broker',
    );
    expect(issues.find((issue) => issue.field === 'more.yaml#0:data.enabled')?.message).to.contain('quote it in YAML');
    expect(issues.find((issue) => issue.field === 'more.yaml#2:apiVersion')?.message).to.contain('must be eventing.knative.dev/v1');
    expect(issues.some((issue) => issue.field === 'broken.yaml#0:' && issue.message.startsWith('invalid YAML'))).to.equal(true);
  });

  it('checks references between objects: Broker, dead letter KafkaSink, PingSource sink', () => {
    const dir = manifestDir({
      'kustomization.yaml': `${KUSTOMIZATION}  - ping.yaml\n`,
      'broker.yaml': BROKER.replace('name: dlq, namespace: ns', 'name: renamed, namespace: ns'),
      'triggers.yaml': TRIGGER.replace('broker: default', 'broker: other'),
      'ping.yaml': `apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: {name: tick, namespace: ns}
spec:
  schedule: "@every 10s"
  contentType: application/json
  data: "{not json"
  sink: {ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: elsewhere}}
`,
    });
    const issues = issuesOf(dir);
    expect(fields(issues)).to.have.members([
      'broker.yaml#0:spec.delivery.deadLetterSink.ref',
      'triggers.yaml#0:spec.broker',
      'ping.yaml#0:spec.schedule',
      'ping.yaml#0:spec.data',
    ]);
    expect(issues.find((issue) => issue.field === 'triggers.yaml#0:spec.broker')?.message).to.equal('no Broker ns/other in the manifests (the Broker is ns/default)');
  });

  it('checks a PingSource sink against the Broker once the source itself is valid', () => {
    const dir = manifestDir({
      'kustomization.yaml': `${KUSTOMIZATION}  - ping.yaml\n`,
      'broker.yaml': BROKER,
      'triggers.yaml': TRIGGER,
      'ping.yaml': `apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: {name: tick, namespace: ns}
spec:
  schedule: "*/10 * * * * *"
  sink: {ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: elsewhere}}
`,
    });
    expect(issuesOf(dir).map((issue) => `${issue.field}: ${issue.message}`)).to.deep.equal([
      'ping.yaml#0:spec.sink.ref: no Broker ns/elsewhere in the manifests (the Broker is ns/default)',
    ]);
  });

  it('needs exactly one Broker, with its class annotation, and unique names', () => {
    const noBroker = manifestDir({ 'kustomization.yaml': 'resources: [triggers.yaml]\n', 'triggers.yaml': TRIGGER });
    expect(issuesOf(noBroker).map((issue) => issue.message)).to.deep.equal(['exactly one Broker is supported, found 0']);

    const twice = manifestDir({
      'kustomization.yaml': KUSTOMIZATION,
      'broker.yaml': `${BROKER}---\n${BROKER.replace('eventing.knative.dev/broker.class: Kafka', 'other: x')}`,
      'triggers.yaml': `${TRIGGER}---\n${TRIGGER}`,
    });
    expect(fields(issuesOf(twice))).to.have.members([
      'broker.yaml#2:metadata.annotations["eventing.knative.dev/broker.class"]',
      'broker.yaml#3:metadata.name',
      'kustomization.yaml#0:resources',
      'triggers.yaml#1:metadata.name',
    ]);
  });
});
