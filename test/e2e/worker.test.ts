/**
 * Jobs run by `galen worker` processes beside an API replica started with `galen serve
 * --no-worker`, all real processes on one data folder (SQLite across processes): the replica
 * queues and never runs a job, a worker runs it and the replica serves the version it registered;
 * a cancel made through the replica stops the run in the worker; a worker killed with SIGKILL
 * mid-job leaves the job to the next worker, which runs it again or, with no starts left, fails it
 * with the reason; SIGTERM queues the running job again and exits 0. Under
 * `GALEN_TEST_STORE=postgres-s3` every process shares a fresh PostgreSQL database and S3 prefix
 * instead (test/helpers/test-store.ts).
 */
import { readFile, readlink, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStores } from '../../src/app/stores.js';
import { loadConfig, redactUrl } from '../../src/config/index.js';
import { createLogger } from '../../src/observability/index.js';
import { dataUrl } from '../helpers/data.js';
import { GalenProcesses, assertCliBuilt, runCli } from '../helpers/galen-process.js';
import type { GalenChild, GalenWorkerChild } from '../helpers/galen-process.js';
import { disposeSharedStores, sharedStoreFor } from '../helpers/test-store.js';

const processes = new GalenProcesses();
const dataDirs: string[] = [];
const TERMINAL = ['succeeded', 'failed', 'cancelled'];
let nmes: Uint8Array;

beforeAll(async () => {
  assertCliBuilt();
  // NMES 1988 four times over (17,624 rows): long enough to be caught running, short to rerun.
  const [header, ...rows] = (await readFile(dataUrl('clinical/nmes1988.csv'), 'utf8')).trim().split('\n');
  nmes = new TextEncoder().encode(
    [header, ...Array.from({ length: 4 }, () => rows).flat()].join('\n') + '\n',
  );
});

afterEach(async () => {
  await processes.killAll();
});

afterAll(async () => {
  await processes.killAll();
  await disposeSharedStores();
  await Promise.all(dataDirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** The settings that point a process on `dataDir` at its stores (none: the embedded ones). */
async function storeSettings(dataDir: string): Promise<Record<string, string>> {
  const shared = sharedStoreFor(dataDir);
  return shared ? { ...(await shared).env } : {};
}

/** The database a process on these settings names in its start-up log (the password redacted). */
function databaseShown(settings: Record<string, string>, dataDir: string): string {
  const url = settings['GALEN_DATABASE_URL'];
  return url === undefined ? join(dataDir, 'galen.db') : redactUrl(url);
}

/** `galen worker` on the replica's data folder and stores. */
async function startWorker(
  server: GalenChild,
  settings: Record<string, string> = {},
  flags: readonly string[] = [],
): Promise<GalenWorkerChild> {
  return processes.startWorker(
    server.dataDir,
    { ...(await storeSettings(server.dataDir)), GALEN_LOG_LEVEL: 'info', ...settings },
    flags,
  );
}

async function newDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'galen-worker-'));
  dataDirs.push(dir);
  return dir;
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function job(server: GalenChild, id: string): Promise<any> {
  const res = await server.call('GET', `/api/v1/jobs/${id}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

const inState = (server: GalenChild, id: string, states: string[], timeoutMs?: number): Promise<any> =>
  until(
    `job ${id} to be ${states.join('/')}`,
    async () => {
      const j = await job(server, id);
      return states.includes(j.state) ? j : undefined;
    },
    timeoutMs,
  );

async function logs(server: GalenChild, id: string): Promise<string[]> {
  return (await server.call('GET', `/api/v1/jobs/${id}/logs`)).body.map((l: any) => l.message);
}

async function upload(server: GalenChild, name: string, body: Uint8Array): Promise<void> {
  const res = await server.call('POST', `/api/v1/datasets/${name}`, { body, contentType: 'text/csv' });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

async function submit(server: GalenChild, body: Record<string, unknown>): Promise<string> {
  const res = await server.call('POST', '/api/v1/jobs', { body });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.id as string;
}

/** An API replica that only queues, on a fresh data folder holding the NMES table. */
async function apiReplica(settings: Record<string, string> = {}): Promise<GalenChild> {
  const dataDir = await newDataDir();
  const server = await processes.start(dataDir, { ...(await storeSettings(dataDir)), ...settings }, [
    '--no-worker',
  ]);
  await upload(server, 'nmes', nmes);
  return server;
}

const longJob = { dataset: 'nmes', target: 'hospital > 0', positive: 'true', modelKind: 'logistic' };

/** The pids of `pid`'s child processes, whatever they run. */
async function childrenOf(pid: number): Promise<string[]> {
  const tasks = await readdir(`/proc/${pid}/task`);
  const lists = await Promise.all(
    tasks.map((t) => readFile(`/proc/${pid}/task/${t}/children`, 'utf8').catch(() => '')),
  );
  return lists.join(' ').split(/\s+/).filter(Boolean);
}

/**
 * The worker's running job processes: its children running job-worker.js. Not the PyTorch probe
 * it starts at start-up (python3, seconds long), nor an exited child not yet reaped (no cmdline).
 */
async function jobProcessesOf(pid: number): Promise<string[]> {
  const children = await childrenOf(pid);
  const commands = await Promise.all(
    children.map((c) => readFile(`/proc/${c}/cmdline`, 'utf8').catch(() => '')),
  );
  return children.filter((_, i) => commands[i]!.includes('job-worker'));
}

/** A TCP port free on 127.0.0.1 a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The TCP ports process `pid` listens on (its socket inodes in /proc/net/tcp{,6}, state 0A). */
async function listeningPorts(pid: number): Promise<number[]> {
  const fds = await readdir(`/proc/${pid}/fd`);
  const links = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  const inodes = new Set(links.flatMap((l) => /^socket:\[(\d+)\]$/.exec(l)?.[1] ?? []));
  const tables = await Promise.all(['tcp', 'tcp6'].map((t) => readFile(`/proc/net/${t}`, 'utf8')));
  return tables.flatMap((table) =>
    table
      .trim()
      .split('\n')
      .slice(1)
      .map((row) => row.trim().split(/\s+/))
      .filter((cells) => cells[3] === '0A' && inodes.has(cells[9]!))
      .map((cells) => parseInt(cells[1]!.split(':')[1]!, 16)),
  );
}

/** The worker's JSON log lines about `id`. */
const workerSays = (worker: GalenWorkerChild, id: string): string[] =>
  worker.logLines.flatMap((l) => {
    const entry = JSON.parse(l) as { job?: string; msg: string };
    return entry.job === id ? [entry.msg] : [];
  });

describe('galen worker beside galen serve --no-worker', () => {
  it('runs the job the replica queued, and the replica serves the version it registered', async () => {
    const server = await apiReplica();
    const heart = await readFile(dataUrl('clinical/heart_cleveland.csv'));
    await upload(server, 'heart', heart);
    const id = await submit(server, {
      model: 'heart-risk',
      dataset: 'heart',
      target: 'num > 0',
      positive: 'true',
      modelKind: 'logistic',
    });
    // The replica never claims it.
    await new Promise((r) => setTimeout(r, 2000));
    expect(await job(server, id)).toMatchObject({ state: 'queued', attempts: 0 });

    const worker = await startWorker(server, {}, ['--concurrency', '2']);
    const done = await inState(server, id, TERMINAL);
    expect(done.error).toBeNull();
    expect(done).toMatchObject({
      state: 'succeeded',
      attempts: 1,
      result: { model: 'heart-risk', version: 1 },
    });
    expect(await logs(server, id)).toContain(`started (attempt 1 of 3) by ${hostname()}:${worker.pid}`);
    expect(workerSays(worker, id)).toEqual([
      `job ${id} started`,
      `job ${id} succeeded: succeeded: model "heart-risk" version 1`,
    ]);
    expect(JSON.parse(worker.logLines[0]!)).toMatchObject({
      msg: 'Galen worker is running up to 2 job(s) at a time',
      concurrency: 2,
      database: databaseShown(await storeSettings(server.dataDir), server.dataDir),
    });

    // The replica loads the worker's version on demand and serves it.
    const meta = (await server.call('GET', '/v2/models/heart-risk/versions/1')).body;
    const inputs = meta.inputs.map((i: any) => ({
      name: i.name,
      datatype: i.datatype,
      shape: [1, 1],
      data: [null],
    }));
    const infer = await server.call('POST', '/v2/models/heart-risk/infer', { body: { inputs } });
    expect(infer.status, JSON.stringify(infer.body)).toBe(200);
    expect(infer.body.model_version).toBe('1');

    expect(await worker.stop()).toBe(0);
    expect(await server.stop()).toBe(0);
  });

  it('a cancel made through the replica stops the run in the worker within seconds', async () => {
    const server = await apiReplica();
    const worker = await startWorker(server);
    const submitted = Date.now();
    const id = await submit(server, { ...longJob, model: 'cancelled' });
    await inState(server, id, ['running']);
    // Claimed through the worker's queue poll (1 s), not its 5 s heartbeat.
    expect(Date.now() - submitted).toBeLessThan(2500);
    const asked = Date.now();
    const cancel = await server.call('POST', `/api/v1/jobs/${id}/cancel`);
    expect(cancel.body).toMatchObject({ state: 'running', cancelRequested: true });
    const done = await inState(server, id, TERMINAL, 10_000);
    expect(done.state).toBe('cancelled');
    // The worker sees the cancel in the store within its 1 s poll, not at its next heartbeat.
    expect(Date.now() - asked).toBeLessThan(3000);
    expect((await server.call('GET', '/api/v1/models/cancelled')).status).toBe(404);
    expect(workerSays(worker, id).at(-1)).toBe(`job ${id} cancelled: cancelled`);
    expect(await worker.stop()).toBe(0);
  });

  it('SIGTERM queues the running job again (the start not counted) and exits 0; the next worker runs it', async () => {
    const server = await apiReplica();
    const first = await startWorker(server);
    const id = await submit(server, { ...longJob, model: 'stopped' });
    await inState(server, id, ['running']);
    expect(await first.stop()).toBe(0);
    expect(await job(server, id)).toMatchObject({ state: 'queued', attempts: 0 });

    const second = await startWorker(server);
    const done = await inState(server, id, TERMINAL, 120_000);
    expect(done).toMatchObject({ state: 'succeeded', attempts: 1, result: { model: 'stopped', version: 1 } });
    expect(await logs(server, id)).toContain(`started (attempt 1 of 3) by ${hostname()}:${second.pid}`);
    expect(await second.stop()).toBe(0);
  });

  it('SIGKILL of the worker mid-job: the next worker runs it again, or fails it with the reason when no start is left', async () => {
    const server = await apiReplica();
    const first = await startWorker(server);
    const id = await submit(server, { ...longJob, model: 'killed' });
    await until('the job to be under way in the worker', async () => {
      const j = await job(server, id);
      return j.state === 'running' && j.stage !== 'starting' ? j : undefined;
    });
    await first.kill();
    expect(await job(server, id)).toMatchObject({ state: 'running', attempts: 1 });

    // The dead worker's pid is gone on this host: the next worker requeues the job at once and runs it.
    const second = await startWorker(server);
    const done = await inState(server, id, TERMINAL, 120_000);
    expect(done).toMatchObject({ state: 'succeeded', attempts: 2, result: { model: 'killed', version: 1 } });
    const lines = await logs(server, id);
    expect(lines).toContain(
      `its process (${hostname()}:${first.pid}) stopped while it ran; queued to run again from the start (1 of 3 starts used)`,
    );
    expect(lines).toContain(`started (attempt 2 of 3) by ${hostname()}:${second.pid}`);
    await second.kill();

    // With one start allowed, the job a killed worker held is failed with the reason instead.
    const third = await startWorker(server, { GALEN_JOBS_MAX_ATTEMPTS: '1' });
    const once = await submit(server, { ...longJob, model: 'killed-once' });
    await until('the second job to be under way', async () => {
      const j = await job(server, once);
      return j.state === 'running' && j.stage !== 'starting' ? j : undefined;
    });
    await third.kill();
    const fourth = await startWorker(server, { GALEN_JOBS_MAX_ATTEMPTS: '1' });
    const failed = await inState(server, once, TERMINAL, 10_000);
    expect(failed).toMatchObject({
      state: 'failed',
      attempts: 1,
      error: {
        code: 'internal',
        message: 'interrupted 1 times (its process stopped while it ran); not retried again',
      },
    });
    expect((await server.call('GET', '/api/v1/models/killed-once')).status).toBe(404);
    expect(await fourth.stop()).toBe(0);
  });

  it('refuses to start on a bad setting or option, saying what is allowed and never the password', async () => {
    const dataDir = await newDataDir();
    const bad = await runCli(['worker'], dataDir, 20_000, {
      GALEN_DATABASE_URL: 'mysql://galen:hunter22@db.internal/galen',
      GALEN_ARTIFACTS_URL: 's3://Galen_Models/prod',
    });
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain(
      'database.url (GALEN_DATABASE_URL): a mysql:// URL is not allowed; use postgres://user:password@host:5432/database (or postgresql://…), or leave it unset for the embedded SQLite database',
    );
    expect(bad.stderr).toContain(
      'artifacts.url (GALEN_ARTIFACTS_URL): bucket "Galen_Models" is not a valid S3 bucket name',
    );
    expect(bad.stderr).not.toContain('hunter22');
    const none = await runCli(['worker'], dataDir, 20_000, { GALEN_JOBS_CONCURRENCY: '0' });
    expect(none.code).toBe(78);
    expect(none.stderr).toMatch(/jobs.concurrency is 0, and a worker runs at least one job at a time/);
    const usage = await runCli(['worker', '--concurrency', '0'], dataDir);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/the concurrency is an integer from 1 to 64/);
  });

  it('a replica without PyTorch queues a deep job for the workers; one without it fails the job with the reason', async () => {
    const noPython = { GALEN_PYTHON: '/nonexistent/python3' };
    const server = await apiReplica(noPython);
    const ecg = await server.call('POST', '/api/v1/datasets/ecg', {
      body: Buffer.from('{"label":"N","steps":[[1],[2]]}\n{"label":"S","steps":[[3]]}\n'),
      contentType: 'application/x-ndjson',
    });
    expect(ecg.status, JSON.stringify(ecg.body)).toBe(201);
    // A server that runs jobs refuses this at once (deep-backend-missing.test.ts); the replica cannot know.
    const id = await submit(server, { model: 'ecg-gru', dataset: 'ecg', modelKind: 'gru' });
    await startWorker(server, noPython);
    const failed = await inState(server, id, TERMINAL, 20_000);
    expect(failed.state).toBe('failed');
    expect(failed.error.code).toBe('not_implemented');
    expect(failed.error.message).toMatch(
      /deep models train on PyTorch, which this server cannot find \(\/nonexistent\/python3: /,
    );
  });

  it('stops a run another process took over (this heartbeat looked stale to it), recording nothing', async () => {
    const server = await apiReplica();
    const worker = await startWorker(server);
    const id = await submit(server, { ...longJob, model: 'taken-over' });
    await until('the job to be under way in the worker', async () => {
      const j = await job(server, id);
      return j.state === 'running' && j.stage !== 'starting' ? j : undefined;
    });
    expect(await jobProcessesOf(worker.pid)).toHaveLength(1);
    const config = loadConfig({
      env: await storeSettings(server.dataDir),
      overrides: { dataDir: server.dataDir },
    });
    const { store } = await openStores(config, createLogger('silent'), undefined);
    try {
      // What a worker on another host leaves after finding the heartbeat stale, requeueing and claiming it.
      const now = new Date().toISOString();
      expect(
        await store.updateJob(id, { owner: 'elsewhere:1', heartbeatAt: now, attempts: 2 }, ['running']),
      ).toBe(true);
      await until(
        'the worker to stop its job process',
        async () => ((await jobProcessesOf(worker.pid)).length === 0 ? true : undefined),
        5000,
      );
      expect(workerSays(worker, id)).toContain(
        `job ${id} was taken over by another process; stopping its run here`,
      );
      // The row is the new owner's: the stopped run wrote no outcome over it, and registered nothing.
      expect(await job(server, id)).toMatchObject({ state: 'running', attempts: 2 });
      expect((await server.call('GET', '/api/v1/models/taken-over')).status).toBe(404);
    } finally {
      await store.close();
    }
    expect(await worker.stop()).toBe(0);
  });
});

describe('galen worker --health-port', () => {
  it('answers GET /healthz 200 while it runs, 503 while the database cannot be read, 404 for anything else', async () => {
    const dataDir = await newDataDir();
    const settings = await storeSettings(dataDir);
    const port = await freePort();
    const worker = await processes.startWorker(dataDir, settings, ['--health-port', String(port)]);
    const healthz = `http://127.0.0.1:${port}/healthz`;
    expect(worker.healthUrl).toBe(healthz);
    expect(await listeningPorts(worker.pid)).toEqual([port]);

    const ok = await fetch(healthz);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'ok' });
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/v2/health/live'],
      ['POST', '/healthz'],
    ] as const) {
      const other = await fetch(`http://127.0.0.1:${port}${path}`, { method });
      expect(other.status, `${method} ${path}`).toBe(404);
    }

    if (settings['GALEN_DATABASE_URL'] === undefined) {
      // The embedded database's file gone: the probe (a fresh connection) fails within a second.
      const db = join(dataDir, 'galen.db');
      await rename(db, `${db}.away`);
      try {
        const down = await until(
          '503 from /healthz',
          async () => {
            const res = await fetch(healthz);
            return res.status === 503 ? await res.json() : undefined;
          },
          5000,
        );
        expect(down).toEqual({ status: 'unavailable', reason: 'the metadata store cannot be read' });
      } finally {
        await rename(`${db}.away`, db);
      }
      await until(
        '200 from /healthz again',
        async () => ((await fetch(healthz)).status === 200 ? true : undefined),
        5000,
      );
    }
    expect(await worker.stop()).toBe(0);
  });

  it('opens no port without the flag, and the port of GALEN_JOBS_HEALTH_PORT with it', async () => {
    const dataDir = await newDataDir();
    const settings = await storeSettings(dataDir);
    const none = await processes.startWorker(dataDir, settings);
    expect(none.healthUrl).toBeUndefined();
    expect(await listeningPorts(none.pid)).toEqual([]);
    const port = await freePort();
    const fromEnv = await processes.startWorker(dataDir, {
      ...settings,
      GALEN_JOBS_HEALTH_PORT: String(port),
    });
    expect(fromEnv.healthUrl).toBe(`http://127.0.0.1:${port}/healthz`);
    expect((await fetch(fromEnv.healthUrl!)).status).toBe(200);
    expect(await none.stop()).toBe(0);
    expect(await fromEnv.stop()).toBe(0);
  });
});
