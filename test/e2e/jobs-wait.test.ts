/**
 * Waiting for a job: `GET /api/v1/jobs/{id}?wait=<seconds>` answers once the job has ended or the
 * wait is up, never holds a closing server up, and refuses waits outside 0–60; `galen jobs wait`
 * follows a job (on a server with --url, or in the local data folder) and exits 0 only when it
 * succeeded, with one line saying why otherwise.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataUrl } from '../helpers/data.js';
import { assertCliBuilt, runCli } from '../helpers/galen-process.js';
import { ADMIN_KEY, createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';

async function upload(server: TestServer, name: string, body: Uint8Array): Promise<void> {
  const res = await server.call('POST', `/api/v1/datasets/${name}`, { body, contentType: 'text/csv' });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

/** NMES 1988 six times over (26,436 rows): a job that runs for a while, holding the queue. */
async function longTable(): Promise<Uint8Array> {
  const [header, ...rows] = (await readFile(dataUrl('clinical/nmes1988.csv'), 'utf8')).trim().split('\n');
  return new TextEncoder().encode(
    [header, ...Array.from({ length: 6 }, () => rows).flat()].join('\n') + '\n',
  );
}

async function submit(server: TestServer, body: Record<string, unknown>): Promise<string> {
  const res = await server.call('POST', '/api/v1/jobs', { body });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.id as string;
}

async function until(server: TestServer, id: string, states: string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!states.includes((await server.call('GET', `/api/v1/jobs/${id}`)).body.state)) {
    if (Date.now() > deadline) throw new Error(`job ${id} never reached ${states.join('/')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const WDBC = { dataset: 'wdbc', target: 'diagnosis', positive: 'malignant', modelKind: 'logistic' };

describe('waiting for a job over HTTP and with the CLI', () => {
  let server: TestServer;
  beforeAll(async () => {
    assertCliBuilt();
    server = await createTestServer();
    await upload(server, 'wdbc', await readFile(dataUrl('clinical/breast_cancer_wdbc.csv')));
    const oneClass = ['age,outcome', ...Array.from({ length: 30 }, (_, i) => `${40 + i},yes`)];
    await upload(server, 'one-class', new TextEncoder().encode(oneClass.join('\n') + '\n'));
  });
  afterAll(async () => server.close());

  it('answers one long poll when the job has ended, with its result', async () => {
    const id = await submit(server, { model: 'wdbc-wait', ...WDBC });
    const res = await server.call('GET', `/api/v1/jobs/${id}?wait=60`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ id, state: 'succeeded', result: { model: 'wdbc-wait', version: 1 } });
    // Without a wait, the answer is the job as it is (ended by now).
    expect((await server.call('GET', `/api/v1/jobs/${id}?wait=0`)).body.state).toBe('succeeded');
  });

  it('answers with the job as it is when the wait is up', async () => {
    await upload(server, 'long', await longTable());
    const long = await submit(server, { model: 'long-wait', dataset: 'long', target: 'hospital > 0' });
    const queued = await submit(server, { model: 'queued-wait', ...WDBC });
    await until(server, long, ['running']);
    const started = Date.now();
    const res = await server.call('GET', `/api/v1/jobs/${queued}?wait=1`);
    const took = Date.now() - started;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: queued, state: 'queued' });
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(5000);

    // The CLI gives up at --timeout with the job's state, exit 1.
    const timedOut = await runCli(
      ['jobs', 'wait', queued, '--timeout', '1', '--url', server.url],
      server.dataDir,
      20_000,
      {
        GALEN_KEY: ADMIN_KEY,
      },
    );
    expect(timedOut.code).toBe(1);
    expect(timedOut.stderr.trim()).toBe(`galen: job ${queued} is still queued (queued) after 1 s`);
    // In the data folder too: the wait keeps the CLI alive until it is up (it exited 13 at once,
    // with nothing printed, while the job was still going).
    const localTimedOut = await runCli(['jobs', 'wait', queued, '--timeout', '1'], server.dataDir, 20_000);
    expect(localTimedOut.stderr.trim()).toBe(`galen: job ${queued} is still queued (queued) after 1 s`);
    expect(localTimedOut.code).toBe(1);

    // A cancel ends a wait at once.
    const waiting = server.call('GET', `/api/v1/jobs/${long}?wait=60`);
    await server.call('POST', `/api/v1/jobs/${long}/cancel`);
    const cancelled = await waiting;
    expect(cancelled.body.state).toBe('cancelled');
    const cli = await runCli(['jobs', 'wait', long, '--url', server.url], server.dataDir, 20_000, {
      GALEN_KEY: ADMIN_KEY,
    });
    expect(cli.code).toBe(1);
    expect(cli.stdout).toBe('');
    expect(cli.stderr.trim()).toBe(`galen: job ${long} was cancelled`);
    await server.call('GET', `/api/v1/jobs/${queued}?wait=60`);
  });

  it('refuses a wait outside 0 to 60 seconds, naming the parameter', async () => {
    const id = await submit(server, { model: 'wdbc-wait', ...WDBC });
    for (const wait of ['61', '-1', '1.5', 'soon']) {
      const res = await server.call('GET', `/api/v1/jobs/${id}?wait=${wait}`);
      expect(res.status, wait).toBe(400);
      expect(res.body.error, wait).toMatch(/wait/);
    }
    expect((await server.call('GET', `/api/v1/jobs/${id}?wait=61`)).body.error).toMatch(/60/);
    // Another key neither waits for nor learns of the job.
    const other = await server.key('developer');
    expect((await server.call('GET', `/api/v1/jobs/${id}?wait=5`, { key: other })).status).toBe(404);
    await server.call('GET', `/api/v1/jobs/${id}?wait=60`);
  });

  it('galen jobs wait prints a succeeded job and exits 0, on a server and in the data folder', async () => {
    const id = await submit(server, { model: 'wdbc-cli', ...WDBC });
    const remote = await runCli(['jobs', 'wait', id, '--url', server.url], server.dataDir, 120_000, {
      GALEN_KEY: ADMIN_KEY,
    });
    expect(remote.stderr).toBe('');
    expect(remote.code).toBe(0);
    const [first, second] = remote.stdout.trim().split('\n');
    expect(first).toBe(`${id} succeeded: model "wdbc-cli" version 1`);
    expect(second).toMatch(/^held-out: n 113, auroc 0\.9\d{3}, /);

    const json = await runCli(['--json', 'jobs', 'wait', id, '--url', server.url], server.dataDir, 20_000, {
      GALEN_KEY: ADMIN_KEY,
    });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ id, state: 'succeeded', result: { version: 1 } });

    // Without --url: the job in the local data folder, which the server shares.
    const local = await runCli(['jobs', 'wait', id], server.dataDir);
    expect(local.code).toBe(0);
    expect(local.stdout.split('\n')[0]).toBe(`${id} succeeded: model "wdbc-cli" version 1`);
  });

  it('galen jobs wait exits 1 with the reason a job failed, and --json still prints the job', async () => {
    const id = await submit(server, { model: 'never-wait', dataset: 'one-class', target: 'outcome' });
    const failed = await runCli(
      ['--json', 'jobs', 'wait', id, '--url', server.url],
      server.dataDir,
      120_000,
      {
        GALEN_KEY: ADMIN_KEY,
      },
    );
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({
      id,
      state: 'failed',
      error: { code: 'invalid_input' },
    });
    const lines = failed.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^galen: job ${id} failed: target "outcome" has only one class`));

    const missing = await runCli(['jobs', 'wait', 'job-nope', '--url', server.url], server.dataDir, 20_000, {
      GALEN_KEY: ADMIN_KEY,
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('galen: there is no job "job-nope"');
  });
});

describe('a closing server and its long polls', () => {
  it('answers waiting requests with the job as it is instead of holding the close up', async () => {
    const server = await createTestServer();
    await upload(server, 'long', await longTable());
    const id = await submit(server, { model: 'long-close', dataset: 'long', target: 'hospital > 0' });
    await until(server, id, ['running']);
    const waiting = server.call('GET', `/api/v1/jobs/${id}?wait=60`);
    // The request is in its handler before the close starts.
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(10_000);
    const answer = await waiting;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ id, state: 'running' });
  }, 60_000);
});
