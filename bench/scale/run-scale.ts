/**
 * `npm run bench:scale`: what scale-out costs and buys on this machine.
 *
 * - Serving: the WDBC MLP over OIP JSON, 32 connections, on one replica on the embedded store, one
 *   on PostgreSQL + S3, and 1, 2 and 3 PostgreSQL + S3 replicas behind HAProxy; the CPU of the
 *   replicas, the balancer, the load generator and the machine beside every figure.
 * - Registry: registering 1,000 models (one small ONNX file each) and reading a model with 10,000
 *   versions (`GET /api/v1/models/{m}`) and the model list, p50/p99, on both stores.
 *
 * Needs PostgreSQL and an S3-compatible server (`eval "$(bash .ci/services.sh)"` starts both here)
 * and HAProxy (`apt-get install haproxy`). Replaces the scale section of docs/benchmarks.md.
 * - The audit chain's ceiling on PostgreSQL: records per second appended by 1 and 3 stores.
 *
 * Options: `--duration <s>` (default 10), `--only serving|registry|audit`, `--out <dir>`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as prettier from 'prettier';
import { sampleCpu } from '../cpu-usage.js';
import type { CpuSample } from '../cpu-usage.js';
import { runChild } from '../child-process.js';
import { expectStatus } from '../galen-server.js';
import type { GalenServer } from '../galen-server.js';
import type { HttpLoadSpec } from '../load-http.js';
import type { LoadResult } from '../load-result.js';
import { describeMachine } from '../machine.js';
import { repoPath } from '../paths.js';
import { oipJsonRequest, wdbcRows } from '../payloads.js';
import { withSection } from '../train/doc-section.js';
import { measureAuditCeiling } from './audit-ceiling.js';
import type { AuditCeiling } from './audit-ceiling.js';
import { measureRegistry } from './registry-scale.js';
import type { RegistryFigures } from './registry-scale.js';
import { SCALE_HEADING, scaleSection } from './scale-report.js';
import type { ServingFigures } from './scale-report.js';
import { createStore, servicesFromEnv, startBalancer, startReplica } from './stack.js';
import type { Balancer, StoreKind, StoreSetup } from './stack.js';

const log = (message: string): void => void process.stderr.write(`${message}\n`);
const MODEL = 'wdbc-mlp';
const CONNECTIONS = 32;

function option(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at < 0 ? undefined : process.argv[at + 1];
}

/** Cores used by `pids` between two samples of each, and by the whole machine. */
function coresBetween(before: CpuSample[], after: CpuSample[]): { processes: number; machine: number } {
  let processS = 0;
  for (let i = 0; i < before.length; i++) processS += (after[i]!.processS ?? 0) - (before[i]!.processS ?? 0);
  const wallS = (after[0]!.wallMs - before[0]!.wallMs) / 1000;
  const idleS = (after[0]!.machineIdleMs - before[0]!.machineIdleMs) / 1000;
  return { processes: processS / wallS, machine: after[0]!.cores - idleS / wallS };
}

async function registerModel(galen: GalenServer, bytes: Uint8Array): Promise<string> {
  expectStatus(
    await galen.call('POST', `/api/v1/models/${MODEL}/versions`, {
      bytes,
      headers: { 'content-type': 'application/octet-stream' },
    }),
    201,
    'registering the WDBC MLP',
  );
  const metadata = expectStatus(await galen.call('GET', `/v2/models/${MODEL}`), 200, 'reading its metadata');
  return (metadata.json() as { inputs: { name: string }[] }).inputs[0]!.name;
}

async function loadAgainst(
  origin: string,
  apiKey: string,
  input: string,
  pids: { replicas: number[]; balancer?: number },
  durationS: number,
): Promise<Omit<ServingFigures, 'label' | 'store' | 'replicas'>> {
  const rows = wdbcRows();
  const requests = Array.from({ length: 64 }, (_, i) =>
    oipJsonRequest(MODEL, {
      name: input,
      shape: [1, 30],
      values: Float32Array.from(rows[(i * 9) % rows.length]!),
    }),
  );
  const all = [...pids.replicas, ...(pids.balancer === undefined ? [] : [pids.balancer])];
  let before: CpuSample[] = [];
  let after: CpuSample[] = [];
  const result = await runChild<HttpLoadSpec, LoadResult>(
    'load-http',
    { origin, apiKey, requests, connections: CONNECTIONS, durationS, warmupS: 2 },
    {
      before: () => void (before = all.map(sampleCpu)),
      after: () => void (after = all.map(sampleCpu)),
    },
    (durationS + 2) * 3000 + 60_000,
  );
  const replicas = coresBetween(before.slice(0, pids.replicas.length), after.slice(0, pids.replicas.length));
  const balancer =
    pids.balancer === undefined ? null : coresBetween(before.slice(-1), after.slice(-1)).processes;
  return {
    requestsPerS: result.requestsPerS,
    p50Ms: result.latency.p50Ms,
    p99Ms: result.latency.p99Ms,
    errors: result.errors,
    firstError: result.firstError,
    cpu: { replicas: replicas.processes, balancer, client: result.clientCores, machine: replicas.machine },
  };
}

async function servingScenarios(durationS: number, apiKey: string): Promise<ServingFigures[]> {
  const services = servicesFromEnv();
  const bytes = new Uint8Array(await readFile(repoPath('test', 'fixtures', 'pytorch', 'wdbc_mlp.onnx')));
  const figures: ServingFigures[] = [];
  for (const kind of ['sqlite', 'postgres-s3'] as StoreKind[]) {
    const store = await createStore(kind, services);
    const replicas: GalenServer[] = [];
    let balancer: Balancer | undefined;
    try {
      replicas.push(await startReplica(store, 0, apiKey));
      const input = await registerModel(replicas[0]!, bytes);
      log(`${kind}: 1 replica, direct`);
      figures.push({
        label: '1 replica, direct',
        store: kind,
        replicas: 1,
        ...(await loadAgainst(
          replicas[0]!.origin,
          apiKey,
          input,
          { replicas: [replicas[0]!.pid] },
          durationS,
        )),
      });
      if (kind === 'sqlite') continue;
      for (const count of [1, 2, 3]) {
        while (replicas.length < count) replicas.push(await startReplica(store, replicas.length, apiKey));
        balancer = await startBalancer(replicas.map((r) => r.origin));
        log(`${kind}: ${count} replicas behind HAProxy`);
        figures.push({
          label: `${count} replica${count > 1 ? 's' : ''} behind HAProxy`,
          store: kind,
          replicas: count,
          ...(await loadAgainst(
            balancer.origin,
            apiKey,
            input,
            { replicas: replicas.map((r) => r.pid), balancer: balancer.pid },
            durationS,
          )),
        });
        await balancer.stop();
        balancer = undefined;
      }
    } finally {
      await balancer?.stop();
      await Promise.all(replicas.map((r) => r.stop()));
      await store.dispose();
    }
  }
  return figures;
}

async function registryScenarios(apiKey: string): Promise<RegistryFigures[]> {
  const services = servicesFromEnv();
  const figures: RegistryFigures[] = [];
  for (const kind of ['sqlite', 'postgres-s3'] as StoreKind[]) {
    const store: StoreSetup = await createStore(kind, services);
    const galen = await startReplica(store, 0, apiKey);
    try {
      log(`${kind}: registry`);
      figures.push({ store: kind, ...(await measureRegistry(galen, log)) });
    } finally {
      await galen.stop();
      await store.dispose();
    }
  }
  return figures;
}

async function main(): Promise<void> {
  const durationS = Number(option('--duration') ?? 10);
  const only = option('--only');
  const out = option('--out');
  const machine = describeMachine();
  const apiKey = `bench-admin-${randomBytes(16).toString('hex')}`;
  const date = new Date().toISOString();
  const serving = only === 'registry' || only === 'audit' ? [] : await servingScenarios(durationS, apiKey);
  const registry = only === 'serving' || only === 'audit' ? [] : await registryScenarios(apiKey);
  const audit: AuditCeiling[] =
    only === undefined || only === 'audit' ? await measureAuditCeiling(servicesFromEnv()) : [];
  const section = scaleSection({
    date,
    machine,
    durationS,
    connections: CONNECTIONS,
    serving,
    registry,
    audit,
  });
  process.stdout.write(`${section}\n`);
  if (out) await mkdir(out, { recursive: true });
  const target = out ? join(out, 'benchmarks.md') : repoPath('docs', 'benchmarks.md');
  const current = await readFile(target, 'utf8').catch(() => '');
  const config = (await prettier.resolveConfig(target)) ?? {};
  const text = await prettier.format(withSection(current, section, SCALE_HEADING), {
    ...config,
    filepath: target,
  });
  await writeFile(target, text);
  log(`wrote the scale section of ${target}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
