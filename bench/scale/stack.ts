/**
 * The deployments the scale benchmark compares, started on this machine: Galen replicas on the
 * embedded store (SQLite + local files, one shared data folder) or on PostgreSQL + S3 (a fresh
 * database and bucket per run, each replica with its own data folder for its artifact cache),
 * and HAProxy spreading connections over the replicas as a hospital's load balancer would.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { freePort, startGalen } from '../galen-server.js';
import type { GalenServer } from '../galen-server.js';

export type StoreKind = 'sqlite' | 'postgres-s3';

/** Where the PostgreSQL server and the S3-compatible server are (the CI services by default). */
export interface Services {
  /** A URL whose role may create databases. */
  databaseUrl: string;
  s3Endpoint: string;
  s3AccessKeyId: string;
  s3SecretAccessKey: string;
}

export function servicesFromEnv(env: NodeJS.ProcessEnv = process.env): Services {
  return {
    databaseUrl: env['GALEN_BENCH_DATABASE_URL'] ?? 'postgres://galen:galen@127.0.0.1:5432/galen_test',
    s3Endpoint: env['GALEN_BENCH_S3_ENDPOINT'] ?? 'http://127.0.0.1:9000',
    s3AccessKeyId: env['GALEN_BENCH_S3_ACCESS_KEY_ID'] ?? 'test:tester',
    s3SecretAccessKey: env['GALEN_BENCH_S3_SECRET_ACCESS_KEY'] ?? 'testing',
  };
}

/** One store for a run: the GALEN_* settings every replica gets, and how to remove it after. */
export interface StoreSetup {
  kind: StoreKind;
  settings(replica: number): Record<string, string>;
  /** The data folder of replica `replica` (shared by all on SQLite). */
  dataDir(replica: number): string;
  dispose(): Promise<void>;
}

export async function createStore(kind: StoreKind, services: Services): Promise<StoreSetup> {
  const root = await mkdtemp(join(tmpdir(), `galen-bench-scale-${kind}-`));
  if (kind === 'sqlite') {
    return {
      kind,
      settings: () => ({}),
      dataDir: () => root,
      dispose: () => rm(root, { recursive: true, force: true }),
    };
  }
  const name = `galen_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: services.databaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(services.databaseUrl);
  url.pathname = `/${name}`;
  const bucket = name.replaceAll('_', '-');
  const s3 = new S3Client({
    endpoint: services.s3Endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: services.s3AccessKeyId, secretAccessKey: services.s3SecretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  s3.destroy();
  return {
    kind,
    settings: () => ({
      GALEN_DATABASE_URL: url.toString(),
      GALEN_ARTIFACTS_URL: `s3://${bucket}/galen`,
      GALEN_S3_ENDPOINT: services.s3Endpoint,
      GALEN_S3_REGION: 'us-east-1',
      GALEN_S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: services.s3AccessKeyId,
      AWS_SECRET_ACCESS_KEY: services.s3SecretAccessKey,
    }),
    dataDir: (replica) => join(root, `replica-${replica}`),
    async dispose() {
      const client = new pg.Client({ connectionString: services.databaseUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Starts replica `index` of `store` (`galen serve`). */
export function startReplica(store: StoreSetup, index: number, apiKey: string): Promise<GalenServer> {
  return startGalen(store.dataDir(index), apiKey, store.settings(index));
}

/** HAProxy in front of `backends` (`http://127.0.0.1:port`), round robin, one thread. */
export interface Balancer {
  readonly origin: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export async function startBalancer(backends: readonly string[]): Promise<Balancer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'galen-bench-haproxy-'));
  const servers = backends.map((origin, i) => `  server r${i} ${new URL(origin).host} maxconn 64`).join('\n');
  const config = [
    'global',
    '  nbthread 1',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  option http-keep-alive',
    'frontend galen',
    `  bind 127.0.0.1:${port}`,
    '  default_backend replicas',
    'backend replicas',
    '  balance roundrobin',
    servers,
    '',
  ].join('\n');
  const file = join(dir, 'haproxy.cfg');
  await writeFile(file, config);
  const child: ChildProcess = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited: ${stderr}`);
    if (
      await fetch(`${origin}/v2/health/live`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`haproxy did not answer in 10 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    origin,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
