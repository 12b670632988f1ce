/**
 * The deployment contract of knative/ and func.yaml: they render, they validate against the real
 * Knative CRDs and the func.yaml schema, and the loader the local brokers use reads the same
 * routing the cluster gets.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { loadManifests, type KnativeManifests, type TriggerManifest } from '../../../infra/knative/manifests';
import { ManifestValidator, loadCrds, type JsonObject } from './support/crd-schema';
import { compileFuncYamlValidator, draft04Differences, readFuncSchema } from './support/func-schema';
import { renderKustomization, type RenderedObject } from './support/kustomize';

const ROOT = join(__dirname, '..', '..', '..');
const KNATIVE_DIR = join(ROOT, 'knative');
const BROKER_INGRESS = 'http://kafka-broker-ingress.knative-eventing.svc.cluster.local/ssis/default';
const CONTROLLERS = ['sample', 'evaluate', 'reconfigure', 'rollout'] as const;
/** The event-driven Services of knative/services.yaml, in file order: the controllers, then the request dispatch stage. */
const EVENT_FUNCTIONS = [...CONTROLLERS, 'request'] as const;
const ACCOUNT_OF: Readonly<Record<(typeof EVENT_FUNCTIONS)[number], string>> = { sample: 'ssis-controller', evaluate: 'ssis-controller', reconfigure: 'ssis-controller', rollout: 'ssis-controller', request: 'ssis-ingress' };

let rendered: RenderedObject[] | undefined;
/** Rendered once; a missing kubectl/kustomize fails every test that needs it, with the reason. */
function renderedObjects(): RenderedObject[] {
  rendered ??= renderKustomization(KNATIVE_DIR);
  return rendered;
}

function field(object: unknown, ...path: (string | number)[]): unknown {
  let value = object;
  for (const key of path) value = (value as Record<string | number, unknown> | undefined)?.[key];
  return value;
}

function findRendered(kind: string, name: string): RenderedObject {
  const object = renderedObjects().find((candidate) => candidate.kind === kind && field(candidate, 'metadata', 'name') === name);
  expect(object, `${kind} ${name} is rendered`).to.not.equal(undefined);
  return object!;
}

describe('knative/ manifests', () => {
  describe('rendering and CRD validation', () => {
    it('renders with kubectl kustomize (or kustomize build)', () => {
      expect(renderedObjects()).to.not.be.empty;
    });

    it('renders exactly the expected objects', () => {
      const names = renderedObjects()
        .filter((object) => field(object, 'metadata', 'name') !== 'ssis-placeholder' && object.kind !== 'ConfigMap')
        .map((object) => `${String(object.kind)}/${String(field(object, 'metadata', 'name'))}`)
        .sort();
      expect(names).to.deep.equal(
        [
          'Broker/default',
          'ClusterRole/ssis-controller',
          'ClusterRole/ssis-ingress',
          'ClusterRoleBinding/ssis-controller',
          'ClusterRoleBinding/ssis-ingress',
          'ClusterRoleBinding/ssis-service-account-issuer-discovery',
          'EventPolicy/ssis-broker-senders',
          'KafkaSink/ssis-dead-letter',
          'Namespace/ssis',
          'PingSource/ssis-sample-tick',
          'Role/ssis-controller',
          'Role/ssis-controller-token',
          'Role/ssis-ingress',
          'Role/ssis-ingress-token',
          'Role/ssis-mig-config',
          'RoleBinding/ssis-controller',
          'RoleBinding/ssis-controller',
          'RoleBinding/ssis-controller-token',
          'RoleBinding/ssis-ingress',
          'RoleBinding/ssis-ingress-token',
          'Service/ssis-evaluate',
          'Service/ssis-reconfigure',
          'Service/ssis-request',
          'Service/ssis-rollout',
          'Service/ssis-sample',
          'ServiceAccount/ssis-controller',
          'ServiceAccount/ssis-ingress',
          'Trigger/ssis-evaluate',
          'Trigger/ssis-reconfigure',
          'Trigger/ssis-request-dispatch',
          'Trigger/ssis-rollout',
          'Trigger/ssis-sample-tick',
        ].sort(),
      );
      findRendered('ConfigMap', 'ssis-kafka-broker-config');
    });

    it('validates every rendered object against the Knative CRDs (served storage versions) or the core schemas', () => {
      const validator = new ManifestValidator();
      const problems = renderedObjects().flatMap((object) =>
        validator.validate(object).map((problem) => `${String(object.kind)}/${String(field(object, 'metadata', 'name'))} ${problem}`),
      );
      expect(problems).to.deep.equal([]);
    });

    it('puts every namespaced object in ssis, but the grant on the GPU operator\'s mig-parted ConfigMap in its namespace', () => {
      const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);
      const elsewhere = renderedObjects().filter((object) => !clusterScoped.has(String(object.kind)) && field(object, 'metadata', 'namespace') !== 'ssis');
      expect(elsewhere.map((object) => `${String(object.kind)}/${String(field(object, 'metadata', 'name'))} in ${String(field(object, 'metadata', 'namespace'))}`)).to.deep.equal([
        'Role/ssis-mig-config in gpu-operator',
        'RoleBinding/ssis-controller in gpu-operator',
      ]);
    });
  });

  describe('the CRD validator itself', () => {
    // A validator that accepts everything would make the test above worthless.
    const validator = new ManifestValidator();
    const trigger = (): JsonObject => structuredClone(findRendered('Trigger', 'ssis-rollout'));
    const service = (): JsonObject => structuredClone(findRendered('Service', 'ssis-rollout'));

    it('picks the served storage version of each CRD', () => {
      const crds = loadCrds();
      expect(crds.get('sources.knative.dev/KafkaSource')?.version).to.equal('v1beta1');
      expect(crds.get('sources.knative.dev/PingSource')?.version).to.equal('v1');
      expect(crds.get('eventing.knative.dev/KafkaSink')?.version).to.equal('v1alpha1');
      expect(crds.get('serving.knative.dev/Service')?.version).to.equal('v1');
    });

    it('refuses a misspelt field outside preserved subtrees', () => {
      const object = trigger();
      (field(object, 'spec', 'subscriber', 'ref') as JsonObject).nmae = 'x';
      expect(validator.validate(object).join()).to.contain('unknown field "nmae"');
    });

    it('allows unknown keys directly inside x-kubernetes-preserve-unknown-fields subtrees', () => {
      const object = trigger();
      (field(object, 'spec', 'delivery') as JsonObject).someFutureFlag = 'x';
      expect(validator.validate(object)).to.deep.equal([]);
    });

    it('refuses a PodSpec field Knative does not allow, and a wrong type', () => {
      const object = service();
      (field(object, 'spec', 'template', 'spec') as JsonObject).nodeName = 'gpu-1';
      (field(object, 'spec', 'template', 'spec') as JsonObject).timeoutSeconds = 'ten minutes';
      const problems = validator.validate(object).join('\n');
      expect(problems).to.contain('unknown field "nodeName"');
      expect(problems).to.contain('/spec/template/spec/timeoutSeconds: must be integer');
    });

    it('refuses an enum violation and a version other than the storage one', () => {
      const sink = structuredClone(findRendered('KafkaSink', 'ssis-dead-letter'));
      (sink.spec as JsonObject).contentMode = 'json';
      expect(validator.validate(sink).join()).to.contain('must be equal to one of the allowed values');
      expect(validator.validate({ ...findRendered('PingSource', 'ssis-sample-tick'), apiVersion: 'sources.knative.dev/v1beta2' }).join()).to.contain('served storage version');
    });
  });

  describe('function Services', () => {
    for (const fn of EVENT_FUNCTIONS) {
      it(`ssis-${fn} runs the functions image with FUNCTION=${fn}, warm, probed, with its config mounted, taking events only for its own OIDC audience`, () => {
        const service = findRendered('Service', `ssis-${fn}`);
        expect(service.apiVersion).to.equal('serving.knative.dev/v1');
        expect(field(service, 'metadata', 'labels', 'networking.knative.dev/visibility')).to.equal('cluster-local');
        const template = field(service, 'spec', 'template');
        expect(field(template, 'metadata', 'annotations', 'autoscaling.knative.dev/min-scale')).to.equal('1');
        expect(field(template, 'spec', 'serviceAccountName')).to.equal(ACCOUNT_OF[fn]);
        const env = (field(template, 'spec', 'containers', 0, 'env') as JsonObject[]);
        // The token it sends is its own account's; the audience it checks is the one its Trigger asks tokens for.
        expect(env).to.deep.include({ name: 'SSIS_SERVICE_ACCOUNT', value: ACCOUNT_OF[fn] });
        const audience = `serving.knative.dev/service/ssis/ssis-${fn}`;
        expect(env).to.deep.include({ name: 'SSIS_EVENT_AUDIENCE', value: audience });
        const triggers = renderedObjects().filter((o) => o.kind === 'Trigger' && field(o, 'spec', 'subscriber', 'ref', 'name') === `ssis-${fn}`);
        expect(triggers).to.not.be.empty;
        for (const t of triggers) expect(field(t, 'spec', 'subscriber', 'audience'), String(field(t, 'metadata', 'name'))).to.equal(audience);
        const container = field(template, 'spec', 'containers', 0) as JsonObject;
        // The kustomization's `images:` has replaced the bare name.
        expect(container.image).to.match(/^ssis-functions[:@]/);
        expect(container.env).to.deep.include({ name: 'FUNCTION', value: fn });
        expect(container.env).to.deep.include({ name: 'K_SINK', value: BROKER_INGRESS });
        expect(field(container, 'ports', 0, 'containerPort')).to.equal(8080);
        expect(field(container, 'readinessProbe', 'httpGet', 'path')).to.equal('/health/readiness');
        expect(field(container, 'livenessProbe', 'httpGet', 'path')).to.equal('/health/liveness');
        const configMaps = (field(template, 'spec', 'volumes') as JsonObject[]).map((volume) => field(volume, 'configMap', 'name'));
        expect(configMaps).to.have.members(['autoscaler-config', 'ssis-config', 'ssis-model-catalog']);
      });
    }

    it('lets ssis-rollout requests live as long as its Trigger timeout (10 min)', () => {
      expect(field(findRendered('Service', 'ssis-rollout'), 'spec', 'template', 'spec', 'timeoutSeconds')).to.equal(600);
    });
  });

  describe('func.yaml', () => {
    const funcYaml = parse(readFileSync(join(ROOT, 'func.yaml'), 'utf8')) as JsonObject;

    it('uses no keyword whose meaning changed after draft-04, so ajv validates it as draft-04 would', () => {
      expect(draft04Differences(readFuncSchema())).to.deep.equal([]);
      expect(draft04Differences({ properties: { n: { type: 'number', exclusiveMinimum: true } } })).to.deep.equal(['#/properties/n/exclusiveMinimum']);
    });

    it('validates against knative/func schema/func_yaml-schema.json', () => {
      const validate = compileFuncYamlValidator();
      expect(validate(funcYaml), JSON.stringify(validate.errors)).to.equal(true);
      expect(validate({ ...funcYaml, created: 'yesterday' })).to.equal(false);
      expect(validate({ ...funcYaml, build: { builder: 'docker' } })).to.equal(false);
      expect(validate({ ...funcYaml, runtimee: 'typescript' })).to.equal(false);
    });

    it('deploys the public ssis-ingress into ssis, warm, with the broker as K_SINK and its API keys from a Secret, as its own read-mostly account', () => {
      expect(funcYaml).to.include({ specVersion: '0.36.0', name: 'ssis-ingress', runtime: 'typescript', namespace: 'ssis', invoke: 'http' });
      expect(field(funcYaml, 'build', 'builder')).to.equal('pack');
      expect(field(funcYaml, 'build', 'buildEnvs')).to.deep.include({ name: 'BP_NODE_RUN_SCRIPTS', value: 'build' });
      expect(field(funcYaml, 'run', 'envs')).to.deep.include.members([
        { name: 'FUNCTION', value: 'ingress' },
        { name: 'K_SINK', value: BROKER_INGRESS },
        { name: 'SSIS_SERVICE_ACCOUNT', value: 'ssis-ingress' },
        { name: 'SSIS_API_KEYS_FILE', value: '/etc/ssis/ssis-api-keys/keys.yaml' },
      ]);
      expect(field(funcYaml, 'run', 'volumes')).to.deep.include({ secret: 'ssis-api-keys', path: '/etc/ssis/ssis-api-keys' });
      expect(field(funcYaml, 'deploy')).to.deep.include({
        namespace: 'ssis',
        serviceAccountName: 'ssis-ingress',
        healthEndpoints: { liveness: '/health/liveness', readiness: '/health/readiness' },
      });
      expect(field(funcYaml, 'deploy', 'options', 'scale', 'min')).to.equal(1);
    });
  });

  describe('loadManifests(knative/)', () => {
    let manifests: KnativeManifests;
    before(() => {
      manifests = loadManifests(KNATIVE_DIR);
    });
    const trigger = (name: string): TriggerManifest => {
      const found = manifests.triggers.find((candidate) => candidate.name === name);
      expect(found, `Trigger ${name}`).to.not.equal(undefined);
      return found!;
    };
    const deadLetter = { apiVersion: 'eventing.knative.dev/v1alpha1', kind: 'KafkaSink', name: 'ssis-dead-letter', namespace: 'ssis' };

    it('reads the Kafka Broker with its delivery defaults', () => {
      expect(manifests.broker).to.deep.include({ name: 'default', namespace: 'ssis', class: 'Kafka' });
      expect(manifests.broker.config).to.deep.equal({ apiVersion: 'v1', kind: 'ConfigMap', name: 'ssis-kafka-broker-config', namespace: 'ssis' });
      expect(manifests.broker.delivery).to.deep.equal({ retry: 3, backoffPolicy: 'exponential', backoffDelayMs: 200, timeoutMs: 600_000, deadLetterSink: deadLetter });
      expect(manifests.configMaps.get('ssis-kafka-broker-config')).to.deep.equal({
        'bootstrap.servers': 'my-cluster-kafka-bootstrap.kafka:9092',
        'default.topic.partitions': '10',
        'default.topic.replication.factor': '3',
      });
    });

    it('returns the five Triggers, ordered, on the default Broker, each to its Service', () => {
      const subscribers = Object.fromEntries(manifests.triggers.map((t) => [t.name, t.subscriber.name]));
      expect(subscribers).to.deep.equal({
        'ssis-request-dispatch': 'ssis-request',
        'ssis-sample-tick': 'ssis-sample',
        'ssis-evaluate': 'ssis-evaluate',
        'ssis-reconfigure': 'ssis-reconfigure',
        'ssis-rollout': 'ssis-rollout',
      });
      for (const t of manifests.triggers) {
        expect(t, t.name).to.deep.include({ namespace: 'ssis', broker: 'default', ordered: true });
        expect(t.subscriber, t.name).to.deep.include({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', namespace: 'ssis' });
        expect(t.filters.origin, t.name).to.equal('filters');
      }
    });

    it('merges each Trigger delivery onto the Broker defaults (timeout 30 s, rollout 10 min)', () => {
      for (const t of manifests.triggers) {
        const timeoutMs = t.name === 'ssis-rollout' ? 600_000 : 30_000;
        expect(t.delivery, t.name).to.deep.equal({ retry: 3, backoffPolicy: 'exponential', backoffDelayMs: 200, timeoutMs, deadLetterSink: deadLetter });
      }
      expect(trigger('ssis-rollout').delivery.timeoutMs).to.equal(10 * 60_000);
    });

    it('routes each event type to exactly the intended Triggers', () => {
      const routed = (attributes: Record<string, string>): string[] =>
        manifests.triggers.filter((t) => t.filters.matches(attributes)).map((t) => t.name).sort();
      const event = (type: string) => ({ specversion: '1.0', id: '1', source: '/ssis/functions/x', type, partitionkey: 'llama-8b' });
      expect(routed(event('ssis.request.received'))).to.deep.equal(['ssis-request-dispatch']);
      expect(routed(event('ssis.metrics.sampled'))).to.deep.equal(['ssis-evaluate']);
      expect(routed(event('ssis.scale.decided'))).to.deep.equal(['ssis-reconfigure']);
      expect(routed(event('ssis.slice.reconfigured'))).to.deep.equal(['ssis-rollout']);
      expect(routed(event('ssis.rollout.completed'))).to.deep.equal(['ssis-evaluate', 'ssis-request-dispatch']);
      expect(routed(event('ssis.placement.failed'))).to.deep.equal(['ssis-evaluate', 'ssis-request-dispatch']);
      const tick = { ...event('dev.knative.sources.ping'), source: '/apis/v1/namespaces/ssis/pingsources/ssis-sample-tick' };
      expect(routed(tick)).to.deep.equal(['ssis-sample-tick']);
      expect(routed({ ...tick, source: '/apis/v1/namespaces/ssis/pingsources/other' })).to.deep.equal([]);
      expect(routed(event('ssis.unknown'))).to.deep.equal([]);
    });

    it('reads the PingSource, the dead letter KafkaSink and the five event-driven Services', () => {
      expect(manifests.pingSources).to.deep.equal([
        {
          name: 'ssis-sample-tick',
          namespace: 'ssis',
          schedule: '*/10 * * * * *',
          contentType: 'application/json',
          data: '{"reason":"sample"}',
          sink: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default', namespace: 'ssis' },
        },
      ]);
      expect(manifests.kafkaSinks).to.deep.equal([{ name: 'ssis-dead-letter', namespace: 'ssis', topic: 'ssis-dead-letter' }]);
      expect(manifests.services.map((s) => [s.name, s.env.FUNCTION, s.env.K_SINK])).to.deep.equal(EVENT_FUNCTIONS.map((fn) => [`ssis-${fn}`, fn, BROKER_INGRESS]));
    });

    it('declares every ConfigMap the Services mount (pending while configmaps.yaml is the placeholder)', function () {
      // configmaps.yaml is the lead's; until it holds the real ConfigMaps this check cannot pass.
      if (manifests.configMaps.has('ssis-placeholder')) this.skip();
      const missing = manifests.services.flatMap((service) =>
        service.mountedConfigMaps.filter((name) => !manifests.configMaps.has(name)).map((name) => `${service.name} mounts ${name}`),
      );
      expect(missing).to.deep.equal([]);
    });

    it('agrees with the rendered manifests on every Trigger name and subscriber', () => {
      const renderedTriggers = renderedObjects()
        .filter((object) => object.kind === 'Trigger')
        .map((object) => [field(object, 'metadata', 'name'), field(object, 'spec', 'subscriber', 'ref', 'name')])
        .sort();
      expect(renderedTriggers).to.deep.equal(manifests.triggers.map((t) => [t.name, t.subscriber.name]).sort());
    });
  });
});
