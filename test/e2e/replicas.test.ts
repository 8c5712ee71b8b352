/**
 * Galen scaled out, as a hospital deploys it: three `galen serve --no-worker` replicas and one
 * `galen worker`, each its own process with its own data folder (caches only), sharing one
 * PostgreSQL database and one S3 bucket prefix. What one replica changes, the others serve; jobs
 * queued anywhere run on the worker; killed processes lose nothing committed.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3TestSettings, s3TestSkip } from '../helpers/artifact-stores.js';
import type { S3TestSettings } from '../helpers/artifact-stores.js';
import { dataUrl } from '../helpers/data.js';
import { GalenProcesses, assertCliBuilt, matMulModel, sampleRow } from '../helpers/galen-process.js';
import type { GalenChild, GalenWorkerChild } from '../helpers/galen-process.js';
import {
  createPostgresTestDatabase,
  dropPostgresTestDatabase,
  postgresSkipReason,
  within,
} from '../helpers/stores.js';

const skip = postgresSkipReason() ?? s3TestSkip();
const INPUTS = 4;
const OUTPUTS = 2;

async function register(replica: GalenChild, model: string, seed: number): Promise<number> {
  const res = await replica.call('POST', `/api/v1/models/${model}/versions`, {
    body: matMulModel(INPUTS, OUTPUTS, seed).bytes,
    contentType: 'application/octet-stream',
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.version as number;
}

async function infer(
  replica: GalenChild,
  model: string,
  version?: number,
): Promise<{ version: string; y: number[] }> {
  const path =
    version === undefined ? `/v2/models/${model}/infer` : `/v2/models/${model}/versions/${version}/infer`;
  const res = await replica.call('POST', path, {
    body: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, INPUTS], data: sampleRow(INPUTS) }] },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { version: res.body.model_version, y: res.body.outputs[0].data };
}

async function waitForJob(
  replica: GalenChild,
  id: string,
  states: readonly string[],
  timeoutMs = 120_000,
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await replica.call('GET', `/api/v1/jobs/${id}?wait=5`)).body;
    if (states.includes(job.state)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} is ${job.state}, not ${states.join('/')}`);
  }
}

describe.skipIf(skip !== undefined && process.env.GALEN_REQUIRE_SERVICES !== '1')(
  'three replicas and a worker on one PostgreSQL database and one S3 bucket',
  () => {
    const processes = new GalenProcesses();
    let databaseUrl: string;
    let s3: S3TestSettings;
    let env: Record<string, string>;
    const dataDirs: string[] = [];
    let a: GalenChild;
    let b: GalenChild;
    let c: GalenChild;
    let worker: GalenWorkerChild;

    const folder = async (): Promise<string> => {
      const dir = await mkdtemp(join(tmpdir(), 'galen-replica-'));
      dataDirs.push(dir);
      return dir;
    };
    const startReplica = async (): Promise<GalenChild> =>
      processes.start(await folder(), env, ['--no-worker']);
    const startWorker = async (): Promise<GalenWorkerChild> => processes.startWorker(await folder(), env);

    beforeAll(async () => {
      assertCliBuilt();
      [databaseUrl, s3] = await Promise.all([createPostgresTestDatabase(), s3TestSettings()]);
      env = {
        GALEN_DATABASE_URL: databaseUrl,
        GALEN_DATABASE_POOL_SIZE: '4',
        ...s3.env,
        GALEN_JOBS_HEARTBEAT_SECONDS: '1',
        GALEN_JOBS_STALE_SECONDS: '5',
      };
      // All three start at once: each applies the migrations it finds missing, under one lock.
      [a, b, c] = await Promise.all([startReplica(), startReplica(), startReplica()]);
      worker = await startWorker();
    }, 90_000);

    afterAll(async () => {
      await processes.killAll();
      if (databaseUrl) await dropPostgresTestDatabase(databaseUrl);
      await s3?.cleanup();
      await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
    });

    it('serves on B and C a model uploaded on A', async () => {
      const model = matMulModel(INPUTS, OUTPUTS, 1);
      expect(await register(a, 'shared', 1)).toBe(1);
      for (const replica of [b, c]) {
        expect(await infer(replica, 'shared', 1)).toEqual({
          version: '1',
          y: model.expected(sampleRow(INPUTS)),
        });
      }
    });

    it('follows on A, within a second, an alias moved on B', async () => {
      expect(await register(a, 'aliased', 1)).toBe(1);
      expect(await register(a, 'aliased', 2)).toBe(2);
      await b.call('PUT', '/api/v1/models/aliased/aliases/production', { body: { version: 1 } });
      await within(1000, async () => (await infer(a, 'aliased')).version === '1');
      const moved = await b.call('PUT', '/api/v1/models/aliased/aliases/production', {
        body: { version: 2 },
      });
      expect(moved.status, JSON.stringify(moved.body)).toBe(200);
      const ms = await within(1000, async () => (await infer(a, 'aliased')).version === '2');
      expect(ms).toBeLessThan(1000);
      expect((await infer(c, 'aliased')).version).toBe('2');
    });

    it('gives concurrent uploads to one model on all three replicas distinct, consecutive versions', async () => {
      const replicas = [a, b, c];
      const versions = await Promise.all(
        Array.from({ length: 15 }, (_, i) => register(replicas[i % 3]!, 'contended', 100 + i)),
      );
      expect([...versions].sort((x, y) => x - y)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    });

    it('runs on the worker a job submitted on C, and its version serves everywhere', async () => {
      const csv = await readFile(new URL('breast_cancer_wdbc.csv', dataUrl('clinical/')));
      const uploaded = await c.call('POST', '/api/v1/datasets/wdbc', { body: csv, contentType: 'text/csv' });
      expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
      const submitted = await c.call('POST', '/api/v1/jobs', {
        body: {
          model: 'wdbc-risk',
          dataset: 'wdbc',
          target: 'diagnosis',
          positive: 'malignant',
          modelKind: 'logistic',
        },
      });
      expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
      const job = await waitForJob(a, submitted.body.id, ['succeeded', 'failed', 'cancelled']);
      expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
      const logs = (await b.call('GET', `/api/v1/jobs/${job.id}/logs`)).body
        .map((l: any) => l.message)
        .join('\n');
      // The worker ran it (the replicas run no jobs): its log names the worker's process.
      expect(logs).toContain(`by ${hostname()}:${worker.pid}`);
      for (const replica of [a, b, c]) {
        const meta = await replica.call('GET', '/v2/models/wdbc-risk/versions/1');
        expect(meta.status, JSON.stringify(meta.body)).toBe(200);
        expect((await replica.call('GET', '/v2/models/wdbc-risk/versions/1/ready')).status).toBe(200);
      }
    });

    it('ends a job whose worker was killed mid-run (run again by the next worker), never stuck', async () => {
      const [header, ...rows] = (await readFile(new URL('nmes1988.csv', dataUrl('clinical/')), 'utf8'))
        .trim()
        .split('\n');
      // NMES six times over: long enough to be caught running.
      const csv = [header, ...Array.from({ length: 6 }, () => rows).flat()].join('\n') + '\n';
      expect(
        (await a.call('POST', '/api/v1/datasets/nmes', { body: csv, contentType: 'text/csv' })).status,
      ).toBe(201);
      const submitted = await b.call('POST', '/api/v1/jobs', {
        body: {
          model: 'nmes-stay',
          dataset: 'nmes',
          target: 'hospital > 0',
          positive: 'true',
          modelKind: 'gbdt',
        },
      });
      expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
      await waitForJob(c, submitted.body.id, ['running']);
      await worker.kill();
      worker = await startWorker();
      const job = await waitForJob(a, submitted.body.id, ['succeeded', 'failed', 'cancelled'], 180_000);
      const logs = (await a.call('GET', `/api/v1/jobs/${job.id}/logs`)).body
        .map((l: any) => l.message)
        .join('\n');
      expect(logs).toMatch(/stopped while it ran; queued to run again/);
      expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
      expect(job.attempts).toBe(2);
      expect((await c.call('GET', '/v2/models/nmes-stay/versions/1/ready')).status).toBe(200);
    }, 240_000);

    it('loses nothing committed when a replica is killed under load, and the audit chain verifies', async () => {
      const committed: number[] = [];
      let stop = false;
      // B takes uploads (each a version row, an artifact and audit records) until it is killed.
      const writer = (async () => {
        for (let seed = 1000; !stop; seed++) {
          try {
            const res = await b.call('POST', '/api/v1/models/under-load/versions', {
              body: matMulModel(INPUTS, OUTPUTS, seed).bytes,
              contentType: 'application/octet-stream',
            });
            if (res.status === 201) committed.push(res.body.version as number);
          } catch {
            return; // the connection died with the replica
          }
        }
      })();
      // A and C answer inferences meanwhile (each audited).
      const readers = [a, c].map(async (replica) => {
        while (!stop) await infer(replica, 'shared', 1);
      });
      await within(10_000, () => Promise.resolve(committed.length >= 5));
      await b.kill();
      await writer;
      stop = true;
      await Promise.all(readers);

      const listed = await a.call('GET', '/api/v1/models/under-load');
      const versions = new Set(listed.body.versions.map((v: any) => v.version));
      for (const version of committed) expect(versions.has(version)).toBe(true);
      // Every committed version's file is in the bucket: C serves each.
      for (const version of committed.slice(-3))
        expect((await infer(c, 'under-load', version)).version).toBe(String(version));
      const verify = await a.call('GET', '/api/v1/audit/verify');
      expect(verify.status, JSON.stringify(verify.body)).toBe(200);
      expect(verify.body).toMatchObject({ ok: true });
      b = await startReplica();
      expect((await infer(b, 'under-load', committed.at(-1))).version).toBe(String(committed.at(-1)));
    }, 60_000);
  },
);
