/**
 * deploy/'s Kubernetes manifests, checked without a cluster (CI has none): every document against
 * the Kubernetes 1.33 schemas (kubernetes-models), plus the checks those schemas miss. Each check
 * is also shown failing on a broken copy, so none can pass by checking nothing.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import {
  commandProblems,
  containerProblems,
  cores,
  kustomizationProblems,
  loadManifests,
  referenceProblems,
  schemaProblems,
} from './manifest-checks.js';
import type { Manifest } from './manifest-checks.js';

const DEPLOY = join(resolve(fileURLToPath(import.meta.url), '../../..'), 'deploy');
const SECRET_TEMPLATE = 'secret.example.yaml';
const manifests = loadManifests(DEPLOY);

type Doc = Record<string, unknown>;

/** A deep copy of the manifests with `change` applied to the document `file` holds of `kind`. */
function broken(file: string, kind: string, change: (doc: Doc) => void): Manifest[] {
  const copy = manifests.map((m) => ({ file: m.file, doc: structuredClone(m.doc) }));
  const target = copy.find((m) => m.file === file && m.doc['kind'] === kind);
  if (!target) throw new Error(`no ${kind} in ${file}`);
  change(target.doc);
  return copy;
}

/** The first container of a Deployment document, for changing it. */
function container(doc: Doc): Doc {
  const spec = (doc['spec'] as Doc)['template'] as Doc;
  return ((spec['spec'] as Doc)['containers'] as Doc[])[0]!;
}
const podSpec = (doc: Doc): Doc => ((doc['spec'] as Doc)['template'] as Doc)['spec'] as Doc;
const envOf = (doc: Doc): Doc[] => container(doc)['env'] as Doc[];
const envNamed = (doc: Doc, name: string): Doc => envOf(doc).find((e) => e['name'] === name)!;
const schemaOf = (all: Manifest[]): string[] => all.flatMap(schemaProblems);

describe('deploy/ manifests', () => {
  it('hold the API and worker Deployments, Service, PDB, HPA, ConfigMap, Secret template and kustomization', () => {
    const kinds = manifests.map((m) => `${m.file} ${String(m.doc['kind'])}`).sort();
    expect(kinds).toEqual([
      'api-deployment.yaml Deployment',
      'api-hpa.yaml HorizontalPodAutoscaler',
      'api-pdb.yaml PodDisruptionBudget',
      'api-service.yaml Service',
      'configmap.yaml ConfigMap',
      'kustomization.yaml Kustomization',
      'secret.example.yaml Secret',
      'service-account.yaml ServiceAccount',
      'worker-deployment.yaml Deployment',
    ]);
  });

  it('are valid against the Kubernetes schemas and have no field the schemas do not know', () => {
    expect(schemaOf(manifests)).toEqual([]);
  });

  it('refuse a schema error and an unknown field (which the schema validators alone let through)', () => {
    const replicasText = broken(
      'api-deployment.yaml',
      'Deployment',
      (d) => ((d['spec'] as Doc)['replicas'] = 'two'),
    );
    expect(schemaOf(replicasText)).toEqual([
      expect.stringMatching(/api-deployment\.yaml: Deployment galen-api: .*\/spec\/replicas must be integer/),
    ]);
    const typo = broken('api-deployment.yaml', 'Deployment', (d) => {
      (d['spec'] as Doc)['replcas'] = 3;
      container(d)['readinesProbe'] = container(d)['readinessProbe'];
    });
    expect(schemaOf(typo)).toEqual([
      'api-deployment.yaml: Deployment galen-api: unknown field /spec/replcas',
      'api-deployment.yaml: Deployment galen-api: unknown field /spec/template/spec/containers/0/readinesProbe',
    ]);
    const oldApi = broken('api-pdb.yaml', 'PodDisruptionBudget', (d) => (d['apiVersion'] = 'policy/v1beta1'));
    expect(schemaOf(oldApi)).toEqual([
      expect.stringContaining('policy/v1beta1 PodDisruptionBudget is not one deploy/ may use'),
    ]);
    // Maps (labels, ConfigMap data) take any key.
    const labelled = broken('configmap.yaml', 'ConfigMap', (d) => {
      ((d['metadata'] as Doc)['labels'] as Doc)['anything'] = 'goes';
      (d['data'] as Doc)['GALEN_LOG_LEVEL'] = 'debug';
    });
    expect(schemaOf(labelled)).toEqual([]);
  });

  it('tie together: selectors match pod labels, the Service, PDB and HPA find their Deployment, references exist', () => {
    expect(referenceProblems(manifests)).toEqual([]);
  });

  it('refuse a selector, Service, PDB, HPA or Secret reference that finds nothing, and a namespace', () => {
    const cases: [Manifest[], RegExp][] = [
      [
        broken(
          'api-deployment.yaml',
          'Deployment',
          (d) => (((d['spec'] as Doc)['selector'] as Doc)['matchLabels'] = { app: 'other' }),
        ),
        /Deployment galen-api: spec.selector.matchLabels does not match/,
      ],
      [
        broken(
          'api-service.yaml',
          'Service',
          (d) => ((d['spec'] as Doc)['selector'] = { 'app.kubernetes.io/name': 'galen' }),
        ),
        /Service galen: its selector matches 2 Deployments/,
      ],
      [
        broken(
          'api-service.yaml',
          'Service',
          (d) => (((d['spec'] as Doc)['ports'] as Doc[])[1]!['targetPort'] = 'grcp'),
        ),
        /targetPort grcp is no container port of galen-api/,
      ],
      [
        broken(
          'api-pdb.yaml',
          'PodDisruptionBudget',
          (d) =>
            (((d['spec'] as Doc)['selector'] as Doc)['matchLabels'] = {
              'app.kubernetes.io/component': 'apI',
            }),
        ),
        /PodDisruptionBudget galen-api: its selector matches no Deployment/,
      ],
      [
        broken(
          'api-hpa.yaml',
          'HorizontalPodAutoscaler',
          (d) => (((d['spec'] as Doc)['scaleTargetRef'] as Doc)['name'] = 'galen'),
        ),
        /scaleTargetRef Deployment galen is not in deploy\//,
      ],
      [
        broken(
          'worker-deployment.yaml',
          'Deployment',
          (d) =>
            (((envNamed(d, 'GALEN_DATABASE_URL')['valueFrom'] as Doc)['secretKeyRef'] as Doc)['key'] =
              'database_url'),
        ),
        /refers to key database_url of Secret galen-secrets, which it does not have/,
      ],
      [
        broken('configmap.yaml', 'ConfigMap', (d) => ((d['metadata'] as Doc)['name'] = 'galen')),
        /refers to ConfigMap galen-config, which deploy\/ does not hold/,
      ],
      [
        broken('configmap.yaml', 'ConfigMap', (d) => ((d['metadata'] as Doc)['namespace'] = 'galen')),
        /names a namespace/,
      ],
    ];
    for (const [all, expected] of cases) {
      const problems = referenceProblems(all);
      expect(problems.length, String(expected)).toBeGreaterThan(0);
      for (const problem of problems) expect(problem).toMatch(expected); // that one, and no other
    }
  });

  it("give Galen's containers resources, a non-root read-only root, probes, ports, settings and a grace period that fit Galen", () => {
    expect(containerProblems(manifests)).toEqual([]);
  });

  it('refuse each container mistake', () => {
    const api = (change: (d: Doc) => void): Manifest[] => broken('api-deployment.yaml', 'Deployment', change);
    const worker = (change: (d: Doc) => void): Manifest[] =>
      broken('worker-deployment.yaml', 'Deployment', change);
    const setEnv = (d: Doc, name: string, value: string): void => {
      envNamed(d, name)['value'] = value;
    };
    const cases: [Manifest[], RegExp][] = [
      [api((d) => (container(d)['image'] = 'galen:latest')), /image galen:latest needs a version tag/],
      [api((d) => (container(d)['image'] = 'registry.example.org:5000/galen')), /needs a version tag/],
      [
        api((d) => delete ((container(d)['resources'] as Doc)['limits'] as Doc)['memory']),
        /no resources.limits.memory/,
      ],
      [api((d) => delete (podSpec(d)['securityContext'] as Doc)['runAsNonRoot']), /must run as non-root/],
      [
        api((d) => delete (container(d)['securityContext'] as Doc)['readOnlyRootFilesystem']),
        /readOnlyRootFilesystem must be true/,
      ],
      [api((d) => (container(d)['volumeMounts'] as Doc[]).splice(1, 1)), /\/tmp must be a mounted volume/],
      [
        api((d) => envOf(d).push({ name: 'GALEN_RUNTIME_THREADS', value: '2' })),
        /GALEN_RUNTIME_THREADS is not a Galen setting/,
      ],
      [
        api((d) => setEnv(d, 'GALEN_RUNTIME_WORKERS', 'two')),
        /Galen refuses its settings: GALEN_RUNTIME_WORKERS="two" must be an integer/,
      ],
      [
        api((d) => setEnv(d, 'GALEN_RUNTIME_WORKERS', '0')),
        /set GALEN_RUNTIME_WORKERS: 0 means one per core of the node/,
      ],
      [
        api((d) => setEnv(d, 'GALEN_RUNTIME_INTRA_OP_THREADS', '2')),
        /ONNX Runtime threads \(2 workers x 2\) exceed the CPU limit 2/,
      ],
      [
        api((d) => (podSpec(d)['terminationGracePeriodSeconds'] = 40)),
        /terminationGracePeriodSeconds 40 must be above the drain, 40 s/,
      ],
      [api((d) => delete container(d)['startupProbe']), /startupProbe must be an httpGet/],
      [
        api((d) => (((container(d)['readinessProbe'] as Doc)['httpGet'] as Doc)['path'] = '/v2/health/live')),
        /readinessProbe must ask \/v2\/health\/ready/,
      ],
      [
        api((d) => (((container(d)['livenessProbe'] as Doc)['httpGet'] as Doc)['path'] = '/health/live')),
        /livenessProbe must be an httpGet/,
      ],
      [
        api((d) => ((container(d)['ports'] as Doc[])[1]!['containerPort'] = 9090)),
        /port grpc is not Galen's grpc.port 8081/,
      ],
      [
        worker((d) => envOf(d).splice(envOf(d).indexOf(envNamed(d, 'GALEN_JOBS_HEALTH_PORT')), 1)),
        /galen worker opens no health port: set GALEN_JOBS_HEALTH_PORT/,
      ],
      [
        worker((d) => delete container(d)['livenessProbe']),
        /livenessProbe must be an httpGet of \/healthz on a named port whose containerPort is the worker's health port 8082/,
      ],
      [
        worker(
          (d) => (((container(d)['startupProbe'] as Doc)['httpGet'] as Doc)['path'] = '/v2/health/live'),
        ),
        /startupProbe must be an httpGet of \/healthz/,
      ],
      [
        worker((d) => ((container(d)['ports'] as Doc[])[0]!['containerPort'] = 8080)),
        /livenessProbe must be an httpGet of \/healthz on a named port whose containerPort is the worker's health port 8082/,
      ],
      [
        worker((d) => (container(d)['args'] = ['worker', '--health-port', '9000'])),
        /startupProbe must be an httpGet of \/healthz on a named port whose containerPort is the worker's health port 9000/,
      ],
      [
        broken('configmap.yaml', 'ConfigMap', (d) => ((d['data'] as Doc)['GALEN_HOST'] = '127.0.0.1')),
        /listens on 127.0.0.1/,
      ],
      [
        api((d) => envOf(d).splice(envOf(d).indexOf(envNamed(d, 'GALEN_DATABASE_URL')), 1)),
        /several replicas need the shared stores/,
      ],
      [
        broken(
          'secret.example.yaml',
          'Secret',
          (d) => ((d['stringData'] as Doc)['database-url'] = 'mysql://db/galen'),
        ),
        /database.url \(GALEN_DATABASE_URL\)/,
      ],
    ];
    for (const [all, expected] of cases)
      expect(containerProblems(all), String(expected)).toContainEqual(expect.stringMatching(expected));
    expect(cores('500m')).toBe(0.5);
  });

  it('run galen commands and options that exist', () => {
    expect(commandProblems(manifests, buildProgram())).toEqual([]);
    const typo = broken(
      'api-deployment.yaml',
      'Deployment',
      (d) => (container(d)['args'] = ['serve', '--no-workers']),
    );
    expect(commandProblems(typo, buildProgram())).toEqual([
      expect.stringMatching(/galen serve has no option --no-workers/),
    ]);
    const unknown = broken(
      'worker-deployment.yaml',
      'Deployment',
      (d) => (container(d)['args'] = ['workers']),
    );
    expect(commandProblems(unknown, buildProgram())).toEqual([
      expect.stringMatching(/args workers is not a galen command/),
    ]);
  });

  it('are all applied by kustomization.yaml except the Secret template, with images it can override', () => {
    expect(kustomizationProblems(manifests, SECRET_TEMPLATE)).toEqual([]);
    const missing = broken('kustomization.yaml', 'Kustomization', (d) =>
      (d['resources'] as string[]).splice(0, 1),
    );
    expect(kustomizationProblems(missing, SECRET_TEMPLATE)).toEqual([
      'kustomization.yaml does not list service-account.yaml',
    ]);
    const secret = broken('kustomization.yaml', 'Kustomization', (d) =>
      (d['resources'] as string[]).push(SECRET_TEMPLATE),
    );
    expect(kustomizationProblems(secret, SECRET_TEMPLATE)).toEqual([
      `kustomization.yaml must not apply the template ${SECRET_TEMPLATE}`,
    ]);
    const image = broken(
      'worker-deployment.yaml',
      'Deployment',
      (d) => (container(d)['image'] = 'galen-torch:0.1.0'),
    );
    expect(kustomizationProblems(image, SECRET_TEMPLATE)).toEqual([
      expect.stringMatching(/image galen-torch has no images: entry/),
    ]);
  });
});
