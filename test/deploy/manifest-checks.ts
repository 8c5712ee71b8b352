/**
 * Checks on deploy/'s Kubernetes manifests that need no cluster: each document against the
 * Kubernetes 1.33 schemas of kubernetes-models, fields the schemas do not know (which those
 * validators let through), and what ties the documents to each other and to Galen (selectors,
 * targets, Secret and ConfigMap keys, probes on Galen's health routes, settings Galen accepts).
 * Each check returns its problems as sentences; none means the manifests pass it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { ConfigError, environmentVariables, loadConfig } from '../../src/config/index.js';
import type { GalenConfig } from '../../src/config/index.js';

/** One YAML document of deploy/, with the file it came from. */
export interface Manifest {
  readonly file: string;
  readonly doc: Record<string, unknown>;
}

/** Every document of every .yaml file under `dir`, in file order; YAML errors throw. */
export function loadManifests(dir: string): Manifest[] {
  const out: Manifest[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))) {
    for (const parsed of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      if (parsed.errors.length > 0) throw new Error(`${file}: ${parsed.errors[0]!.message}`);
      const doc: unknown = parsed.toJS();
      if (doc === null) continue;
      if (typeof doc !== 'object' || Array.isArray(doc))
        throw new Error(`${file}: a document is not a mapping`);
      out.push({ file, doc: doc as Record<string, unknown> });
    }
  }
  return out;
}

/** The validating `validate()` of each kind deploy/ may use, by `apiVersion kind`. */
const MODELS: Readonly<Record<string, { prototype: { validate(): void } }>> = {
  'apps/v1 Deployment': Deployment,
  'autoscaling/v2 HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
  'v1 ConfigMap': ConfigMap,
  'v1 Secret': Secret,
  'v1 Service': Service,
  'v1 ServiceAccount': ServiceAccount,
};

/** The kustomize file is not a Kubernetes object; checkKustomization reads it. */
export const KUSTOMIZATION_KIND = 'kustomize.config.k8s.io/v1beta1 Kustomization';

// ---------------------------------------------------------------------------------------------
// Reading documents without casts everywhere

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
/** A YAML scalar as text (numbers as written), anything else as JSON. */
const str = (v: unknown): string =>
  typeof v === 'string'
    ? v
    : typeof v === 'number' || typeof v === 'boolean'
      ? `${v}`
      : (JSON.stringify(v) ?? 'undefined');
const at = (v: unknown, ...path: string[]): unknown => path.reduce<unknown>((o, k) => obj(o)[k], v);

const kindOf = (m: Manifest): string => `${text(m.doc['apiVersion'])} ${text(m.doc['kind'])}`;
const nameOf = (m: Manifest): string => text(at(m.doc, 'metadata', 'name')) ?? '(no name)';
const where = (m: Manifest): string => `${m.file}: ${text(m.doc['kind'])} ${nameOf(m)}`;
const ofKind = (all: readonly Manifest[], kind: string): Manifest[] =>
  all.filter((m) => text(m.doc['kind']) === kind);

// ---------------------------------------------------------------------------------------------
// Schemas, and fields the schemas do not know

interface Visit {
  readonly path: string;
  readonly keys: readonly string[];
  readonly read: Set<string>;
  enumerated: boolean;
}

/**
 * `value` wrapped so that what a validator reads is recorded: the compiled validators read each
 * property their schema declares by name, and enumerate the keys of maps (labels, resources).
 * A key of an object that was neither read nor enumerated is one the schema does not know.
 */
function recording(value: unknown, path: string, visits: Visit[]): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const visit: Visit = {
    path,
    keys: Array.isArray(value) ? [] : Object.keys(value),
    read: new Set(),
    enumerated: false,
  };
  visits.push(visit);
  const wrapped = new Map<string, unknown>();
  return new Proxy(value, {
    get(target, key, receiver) {
      if (typeof key !== 'string') return Reflect.get(target, key, receiver) as unknown;
      visit.read.add(key);
      if (!wrapped.has(key))
        wrapped.set(key, recording(Reflect.get(target, key) as unknown, `${path}/${key}`, visits));
      return wrapped.get(key);
    },
    has(target, key) {
      if (typeof key === 'string') visit.read.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      visit.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

/** Schema errors, then fields the schema does not know, of one document. */
export function schemaProblems(m: Manifest): string[] {
  if (kindOf(m) === KUSTOMIZATION_KIND) return [];
  const model = MODELS[kindOf(m)];
  if (!model)
    return [
      `${where(m)}: apiVersion/kind ${kindOf(m)} is not one deploy/ may use (${Object.keys(MODELS).join(', ')})`,
    ];
  const visits: Visit[] = [];
  try {
    model.prototype.validate.call(recording(m.doc, '', visits));
  } catch (err) {
    return [`${where(m)}: ${(err as Error).message}`];
  }
  return visits.flatMap((v) =>
    v.enumerated
      ? []
      : v.keys.filter((k) => !v.read.has(k)).map((k) => `${where(m)}: unknown field ${v.path}/${k}`),
  );
}

// ---------------------------------------------------------------------------------------------
// How the documents refer to each other

const matches = (selector: Obj, labels: Obj): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

const podLabels = (d: Manifest): Obj => obj(at(d.doc, 'spec', 'template', 'metadata', 'labels'));

/** Selectors, targets and references between documents. */
export function referenceProblems(all: readonly Manifest[]): string[] {
  const problems: string[] = [];
  const deployments = ofKind(all, 'Deployment');
  for (const m of all) {
    if (at(m.doc, 'metadata', 'namespace') !== undefined)
      problems.push(
        `${where(m)}: names a namespace; deploy/ is namespace-agnostic (kubectl -n, or an overlay)`,
      );
  }
  for (const d of deployments) {
    const selector = obj(at(d.doc, 'spec', 'selector'));
    if (selector['matchExpressions'] !== undefined) problems.push(`${where(d)}: use matchLabels only`);
    if (!matches(obj(selector['matchLabels']), podLabels(d)))
      problems.push(`${where(d)}: spec.selector.matchLabels does not match the pod template's labels`);
  }
  for (const s of ofKind(all, 'Service')) {
    const selector = obj(at(s.doc, 'spec', 'selector'));
    const targets = deployments.filter((d) => matches(selector, podLabels(d)));
    if (targets.length !== 1) {
      problems.push(`${where(s)}: its selector matches ${targets.length} Deployments; it must match one`);
      continue;
    }
    const named = new Set(
      list(at(targets[0]!.doc, 'spec', 'template', 'spec', 'containers')).flatMap((c) =>
        list(obj(c)['ports']).map((p) => obj(p)['name']),
      ),
    );
    for (const port of list(at(s.doc, 'spec', 'ports'))) {
      const target = obj(port)['targetPort'];
      if (typeof target === 'string' && !named.has(target))
        problems.push(`${where(s)}: targetPort ${target} is no container port of ${nameOf(targets[0]!)}`);
    }
  }
  for (const p of ofKind(all, 'PodDisruptionBudget')) {
    const selector = obj(at(p.doc, 'spec', 'selector', 'matchLabels'));
    if (!deployments.some((d) => matches(selector, podLabels(d))))
      problems.push(`${where(p)}: its selector matches no Deployment`);
  }
  for (const h of ofKind(all, 'HorizontalPodAutoscaler')) {
    const target = obj(at(h.doc, 'spec', 'scaleTargetRef'));
    if (!deployments.some((d) => target['kind'] === 'Deployment' && nameOf(d) === target['name']))
      problems.push(
        `${where(h)}: scaleTargetRef ${text(target['kind'])} ${text(target['name'])} is not in deploy/`,
      );
  }
  const keysOf = (kind: string, name: unknown): Set<string> | undefined => {
    const found = ofKind(all, kind).find((m) => nameOf(m) === name);
    if (!found) return undefined;
    return new Set([...Object.keys(obj(found.doc['data'])), ...Object.keys(obj(found.doc['stringData']))]);
  };
  const refer = (d: Manifest, kind: string, name: unknown, key?: unknown): void => {
    const keys = keysOf(kind, name);
    if (!keys) problems.push(`${where(d)}: refers to ${kind} ${str(name)}, which deploy/ does not hold`);
    else if (key !== undefined && !keys.has(str(key)))
      problems.push(`${where(d)}: refers to key ${str(key)} of ${kind} ${str(name)}, which it does not have`);
  };
  for (const d of deployments) {
    const pod = obj(at(d.doc, 'spec', 'template', 'spec'));
    const account = pod['serviceAccountName'];
    if (account !== undefined && !ofKind(all, 'ServiceAccount').some((a) => nameOf(a) === account))
      problems.push(`${where(d)}: serviceAccountName ${str(account)} is not in deploy/`);
    for (const c of list(pod['containers']).map(obj)) {
      for (const from of list(c['envFrom']).map(obj)) {
        if (from['configMapRef']) refer(d, 'ConfigMap', obj(from['configMapRef'])['name']);
        if (from['secretRef']) refer(d, 'Secret', obj(from['secretRef'])['name']);
      }
      for (const e of list(c['env']).map(obj)) {
        const secret = obj(at(e, 'valueFrom', 'secretKeyRef'));
        if (secret['name'] !== undefined) refer(d, 'Secret', secret['name'], secret['key']);
        const config = obj(at(e, 'valueFrom', 'configMapKeyRef'));
        if (config['name'] !== undefined) refer(d, 'ConfigMap', config['name'], config['key']);
      }
    }
    for (const v of list(pod['volumes']).map(obj)) {
      const secret = obj(v['secret']);
      for (const item of list(secret['items'])) refer(d, 'Secret', secret['secretName'], obj(item)['key']);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Galen's containers

const GALEN_HEALTH_PATHS = ['/v2/health/live', '/v2/health/ready'];
/** What `galen worker --health-port` answers (src/http/worker-health.ts). */
const WORKER_HEALTH_PATH = '/healthz';

/** The port `galen worker` listens for probes on: `--health-port` in its args, else jobs.healthPort. */
function workerHealthPort(args: readonly string[], config: GalenConfig): number {
  const at = args.findIndex((a) => a === '--health-port' || a.startsWith('--health-port='));
  if (at < 0) return config.jobs.healthPort;
  const arg = args[at]!;
  return Number(arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[at + 1]);
}

/** A worker's probes: startup and liveness, each an httpGet of /healthz on the port it listens on. */
function workerProbeProblems(here: string, c: Obj, config: GalenConfig): string[] {
  const port = workerHealthPort(list(c['args']).map(String), config);
  if (port === 0)
    return [
      `${here}: galen worker opens no health port: set GALEN_JOBS_HEALTH_PORT (or --health-port) and probe ${WORKER_HEALTH_PATH} on it, or a hung worker is never restarted`,
    ];
  const ports = new Map(list(c['ports']).map((p) => [obj(p)['name'], obj(p)['containerPort']]));
  const problems: string[] = [];
  for (const probe of ['startupProbe', 'livenessProbe']) {
    const get = obj(at(c, probe, 'httpGet'));
    if (get['path'] !== WORKER_HEALTH_PATH || ports.get(get['port']) !== port)
      problems.push(
        `${here}: ${probe} must be an httpGet of ${WORKER_HEALTH_PATH} on a named port whose containerPort is the worker's health port ${port}`,
      );
  }
  return problems;
}

/** The environment a container starts with: its ConfigMaps, its values, Secret values from deploy/. */
function environmentOf(all: readonly Manifest[], container: Obj): Record<string, string> {
  const env: Record<string, string> = {};
  const dataOf = (kind: string, name: unknown): Obj => {
    const found = ofKind(all, kind).find((m) => nameOf(m) === name);
    return { ...obj(found?.doc['data']), ...obj(found?.doc['stringData']) };
  };
  for (const from of list(container['envFrom']).map(obj)) {
    if (from['configMapRef']) Object.assign(env, dataOf('ConfigMap', obj(from['configMapRef'])['name']));
    if (from['secretRef']) Object.assign(env, dataOf('Secret', obj(from['secretRef'])['name']));
  }
  for (const e of list(container['env']).map(obj)) {
    const name = str(e['name']);
    const secret = obj(at(e, 'valueFrom', 'secretKeyRef'));
    const config = obj(at(e, 'valueFrom', 'configMapKeyRef'));
    if (e['value'] !== undefined) env[name] = str(e['value']);
    else if (secret['name'] !== undefined)
      env[name] = str(dataOf('Secret', secret['name'])[str(secret['key'])]);
    else if (config['name'] !== undefined)
      env[name] = str(dataOf('ConfigMap', config['name'])[str(config['key'])]);
  }
  return env;
}

/** Cores of a Kubernetes CPU quantity ("2", "500m"). */
export function cores(quantity: unknown): number {
  const q = str(quantity);
  return q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q);
}

/**
 * What every Galen container must have and agree with: resources, a non-root read-only root,
 * writable /tmp and data folder, only GALEN_* variables Galen knows, settings Galen accepts, a
 * pinned image, and for `galen serve` probes on the health routes, ports and a grace period that
 * match its settings, and ONNX Runtime threads that fit its CPU; for `galen worker` startup and
 * liveness probes on the `/healthz` port it opens.
 */
export function containerProblems(all: readonly Manifest[]): string[] {
  const problems: string[] = [];
  const known = new Set(environmentVariables());
  const scaled = new Set(
    ofKind(all, 'HorizontalPodAutoscaler').map((h) => text(at(h.doc, 'spec', 'scaleTargetRef', 'name'))),
  );
  for (const d of ofKind(all, 'Deployment')) {
    const pod = obj(at(d.doc, 'spec', 'template', 'spec'));
    const podSecurity = obj(pod['securityContext']);
    const mounts = (c: Obj): string[] => list(c['volumeMounts']).map((v) => str(obj(v)['mountPath']));
    for (const c of list(pod['containers']).map(obj)) {
      const here = `${where(d)}: container ${str(c['name'])}`;
      const image = str(c['image']);
      const tag = /:([^/:]+)$/.exec(image)?.[1];
      if (tag === undefined || tag === 'latest')
        problems.push(`${here}: image ${image} needs a version tag, not latest or none`);
      for (const kind of ['requests', 'limits'])
        for (const resource of ['cpu', 'memory'])
          if (at(c, 'resources', kind, resource) === undefined)
            problems.push(`${here}: no resources.${kind}.${resource}`);
      const security = obj(c['securityContext']);
      const nonRoot = security['runAsNonRoot'] ?? podSecurity['runAsNonRoot'];
      const user = security['runAsUser'] ?? podSecurity['runAsUser'];
      if (nonRoot !== true || user === 0)
        problems.push(`${here}: must run as non-root (runAsNonRoot: true, runAsUser not 0)`);
      if (security['allowPrivilegeEscalation'] !== false)
        problems.push(`${here}: allowPrivilegeEscalation must be false`);
      if (security['readOnlyRootFilesystem'] !== true)
        problems.push(`${here}: readOnlyRootFilesystem must be true`);

      const env = environmentOf(all, c);
      for (const name of Object.keys(env).filter((n) => n.startsWith('GALEN_') && !known.has(n)))
        problems.push(`${here}: ${name} is not a Galen setting (docs/guides/configuration.md)`);
      let config: GalenConfig;
      try {
        config = loadConfig({ env });
      } catch (err) {
        problems.push(
          `${here}: Galen refuses its settings: ${err instanceof ConfigError ? err.problems.join('; ') : (err as Error).message}`,
        );
        continue;
      }
      for (const folder of ['/tmp', config.dataDir])
        if (!mounts(c).includes(folder))
          problems.push(`${here}: ${folder} must be a mounted volume (the root filesystem is read-only)`);
      const replicas = Number(at(d.doc, 'spec', 'replicas') ?? 1);
      if (
        (replicas > 1 || scaled.has(nameOf(d))) &&
        (config.database.url === undefined || config.artifacts.url === undefined)
      )
        problems.push(
          `${here}: several replicas need the shared stores (GALEN_DATABASE_URL and GALEN_ARTIFACTS_URL)`,
        );

      const args = list(c['args']).map(String);
      if (args[0] !== 'serve' && args[0] !== 'worker') continue;
      if (config.host.startsWith('127.') || config.host === 'localhost' || config.host === '::1')
        problems.push(
          `${here}: listens on ${config.host}; the Service and the probes cannot reach it (GALEN_HOST=0.0.0.0)`,
        );
      if (args[0] === 'worker') {
        problems.push(...workerProbeProblems(here, c, config));
        continue;
      }
      const ports = new Map(list(c['ports']).map((p) => [obj(p)['name'], obj(p)['containerPort']]));
      if (ports.get('http') !== config.port)
        problems.push(`${here}: port http is not Galen's port ${config.port}`);
      if (config.grpc.enabled && ports.get('grpc') !== config.grpc.port)
        problems.push(`${here}: port grpc is not Galen's grpc.port ${config.grpc.port}`);
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
        const get = obj(at(c, probe, 'httpGet'));
        if (!GALEN_HEALTH_PATHS.includes(str(get['path'])) || !ports.has(get['port']))
          problems.push(
            `${here}: ${probe} must be an httpGet of ${GALEN_HEALTH_PATHS.join(' or ')} on a named port`,
          );
      }
      if (at(c, 'readinessProbe', 'httpGet', 'path') !== '/v2/health/ready')
        problems.push(
          `${here}: readinessProbe must ask /v2/health/ready (503 while starting, draining or cut off from the store)`,
        );
      const drain = config.http.shutdownDelaySeconds + config.http.shutdownTimeoutSeconds;
      const grace = Number(pod['terminationGracePeriodSeconds'] ?? 30);
      if (grace <= drain)
        problems.push(
          `${here}: terminationGracePeriodSeconds ${grace} must be above the drain, ${drain} s (http.shutdownDelaySeconds + http.shutdownTimeoutSeconds)`,
        );
      const cpu = cores(at(c, 'resources', 'limits', 'cpu'));
      const { workers, intraOpThreads } = config.runtime;
      if (workers === 0)
        problems.push(`${here}: set GALEN_RUNTIME_WORKERS: 0 means one per core of the node, not of the pod`);
      else if (workers * Math.max(1, intraOpThreads) > cpu)
        problems.push(
          `${here}: ONNX Runtime threads (${workers} workers x ${Math.max(1, intraOpThreads)}) exceed the CPU limit ${cpu}`,
        );
    }
  }
  return problems;
}

/** The kustomization lists every manifest of deploy/ but the Secret template, and only those. */
export function kustomizationProblems(all: readonly Manifest[], secretTemplate: string): string[] {
  const kustomization = all.find((m) => kindOf(m) === KUSTOMIZATION_KIND);
  if (!kustomization) return ['deploy/ has no kustomization.yaml'];
  const listed = list(kustomization.doc['resources']).map(String);
  const files = [...new Set(all.map((m) => m.file))].filter((f) => f !== kustomization.file);
  const problems = [
    ...files
      .filter((f) => f !== secretTemplate && !listed.includes(f))
      .map((f) => `kustomization.yaml does not list ${f}`),
    ...listed
      .filter((f) => !files.includes(f))
      .map((f) => `kustomization.yaml lists ${f}, which is not in deploy/`),
  ];
  if (listed.includes(secretTemplate))
    problems.push(`kustomization.yaml must not apply the template ${secretTemplate}`);
  const images = new Set(list(kustomization.doc['images']).map((i) => obj(i)['name']));
  for (const d of ofKind(all, 'Deployment'))
    for (const c of list(at(d.doc, 'spec', 'template', 'spec', 'containers')).map(obj)) {
      const name = str(c['image']).replace(/:[^/:]+$/, '');
      if (!images.has(name))
        problems.push(`${where(d)}: image ${name} has no images: entry in kustomization.yaml`);
    }
  return problems;
}

/** The galen command (from the image's ENTRYPOINT) and options each container's args give. */
export function commandProblems(all: readonly Manifest[], program: Command): string[] {
  const problems: string[] = [];
  for (const d of ofKind(all, 'Deployment'))
    for (const c of list(at(d.doc, 'spec', 'template', 'spec', 'containers')).map(obj)) {
      const [name, ...rest] = list(c['args']).map(String);
      const command = program.commands.find((x) => x.name() === name);
      if (!command) {
        problems.push(`${where(d)}: args ${str(name)} is not a galen command`);
        continue;
      }
      for (const flag of rest.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]))
        if (!command.options.some((o) => o.long === flag))
          problems.push(`${where(d)}: galen ${name} has no option ${flag}`);
    }
  return problems;
}
