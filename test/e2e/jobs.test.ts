/**
 * Training jobs through the real HTTP server: submitted over the API, run in a child process
 * (the built dist/app/job-worker.js), their state, progress and log persisted, cancelled, and
 * carried across a server restart and a crash. What a job registers serves over OIP and has a
 * model card.
 */
import { hostname, tmpdir } from 'node:os';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServer } from '../helpers/test-server.js';
import { identityModel } from '../helpers/tiny-models.js';
import type { TestServer } from '../helpers/test-server.js';
import { dataUrl } from '../helpers/data.js';

const DATA = dataUrl('clinical/');

async function upload(server: TestServer, name: string, file: string | Uint8Array): Promise<void> {
  const body = typeof file === 'string' ? await readFile(new URL(file, DATA)) : file;
  const res = await server.call('POST', `/api/v1/datasets/${name}`, { body, contentType: 'text/csv' });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

/**
 * NMES 1988 six times over (26,436 rows): a training job long enough to be caught running, as the
 * cancel and restart tests need; what the rows say does not matter there.
 */
async function nmesSixTimes(): Promise<Uint8Array> {
  const [header, ...rows] = (await readFile(new URL('nmes1988.csv', DATA), 'utf8')).trim().split('\n');
  return new TextEncoder().encode(
    [header, ...Array.from({ length: 6 }, () => rows).flat()].join('\n') + '\n',
  );
}

async function waitFor(server: TestServer, id: string, states: string[], timeoutMs = 120_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await server.call('GET', `/api/v1/jobs/${id}`)).body;
    if (states.includes(job.state)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} is ${job.state}, not ${states.join('/')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('training jobs over HTTP', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await createTestServer();
    await upload(server, 'wdbc', 'breast_cancer_wdbc.csv');
    await upload(server, 'nmes', await nmesSixTimes());
  });
  afterAll(async () => server.close());

  it('runs a job to a registered, served version with progress, log and a model card', async () => {
    const submitted = await server.call('POST', '/api/v1/jobs', {
      body: {
        model: 'wdbc-risk',
        dataset: 'wdbc',
        target: 'diagnosis',
        positive: 'malignant',
        modelKind: 'auto',
        intendedUse: 'Decision support for reading fine-needle aspirates; not for use without a pathologist.',
      },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    expect(submitted.headers.get('location')).toBe(`/api/v1/jobs/${submitted.body.id}`);
    expect(submitted.body).toMatchObject({ state: 'queued', kind: 'train', createdRole: 'admin' });
    expect(submitted.body.request.datasetVersion).toBe(1);

    const job = await waitFor(server, submitted.body.id, ['succeeded', 'failed', 'cancelled']);
    expect(job.error).toBeNull();
    expect(job).toMatchObject({ state: 'succeeded', progress: 1, attempts: 1 });
    expect(job.result).toMatchObject({ model: 'wdbc-risk', version: 1 });
    expect(job.result.metrics.test.auroc).toBeGreaterThan(0.98);
    expect(Date.parse(job.finishedAt)).toBeGreaterThanOrEqual(Date.parse(job.startedAt));

    const logs = (await server.call('GET', `/api/v1/jobs/${job.id}/logs`)).body.map((l: any) => l.message);
    expect(logs[0]).toMatch(/^queued: train auto on wdbc:1/);
    expect(logs).toContain('cross-validation: logistic, fold 1 of 5');
    expect(logs.some((m: string) => m === 'evaluating the compiled graph on 113 held-out rows')).toBe(true);
    expect(logs.at(-1)).toBe('succeeded: model "wdbc-risk" version 1');
    const later = (await server.call('GET', `/api/v1/jobs/${job.id}/logs?after=2`)).body;
    expect(later[0].seq).toBe(3);

    const version = (await server.call('GET', '/api/v1/models/wdbc-risk/versions/1')).body;
    expect(version.lineage.parameters.job).toBe(job.id);

    const card = await server.call('GET', '/api/v1/models/wdbc-risk/versions/1/card');
    expect(card.status).toBe(200);
    expect(card.body.intendedUse.statement).toMatch(/^Decision support/);
    expect(card.body.details).toMatchObject({
      task: 'binary',
      target: 'diagnosis',
      positiveClass: 'malignant',
      job: job.id,
    });
    expect(card.body.data).toMatchObject({ dataset: 'wdbc:1', trainRows: 456, testRows: 113 });
    expect(card.body.metrics.test.auroc.ci95.low).toBeLessThan(card.body.metrics.test.auroc.value);
    expect(card.body.limitations.join('\n')).toMatch(/subgroup/);
    const markdown = await server.call('GET', '/api/v1/models/wdbc-risk/versions/1/card', {
      headers: { accept: 'text/markdown' },
    });
    expect(markdown.headers.get('content-type')).toMatch(/^text\/markdown/);
    expect(markdown.body).toMatch(/^# Model card: wdbc-risk version 1/);
    expect(markdown.body).toMatch(/## Held-out performance/);

    // What the job registered serves over OIP with one input per column.
    const meta = (await server.call('GET', '/v2/models/wdbc-risk/versions/1')).body;
    const row = { mean_radius: 17.99, mean_texture: 10.38 };
    const inputs = meta.inputs.map((i: any) => ({
      name: i.name,
      datatype: 'FP32',
      shape: [1, 1],
      data: [(row as Record<string, number>)[i.name] ?? null],
    }));
    const infer = await server.call('POST', '/v2/models/wdbc-risk/versions/1/infer', { body: { inputs } });
    expect(infer.status, JSON.stringify(infer.body)).toBe(200);
    expect(infer.body.outputs.find((o: any) => o.name === 'probabilities').shape).toEqual([1, 2]);
  });

  it('trains Cleveland on the derived target "num > 0" with per-sex metrics, as a job', async () => {
    await upload(server, 'cleveland', 'heart_cleveland.csv');
    const { body } = await server.call('POST', '/api/v1/jobs', {
      body: {
        model: 'heart-disease',
        dataset: 'cleveland',
        target: 'num > 0',
        modelKind: 'auto',
        sensitive: 'sex',
        threshold: 0.3,
        options: { classWeight: 'balanced' },
      },
    });
    expect(body.state).toBe('queued');
    const job = await waitFor(server, body.id, ['succeeded', 'failed']);
    expect(job.error).toBeNull();
    expect(job.result.metrics.test.auroc).toBeGreaterThan(0.85);
    const card = (await server.call('GET', '/api/v1/models/heart-disease/versions/1/card')).body;
    expect(card.details.target).toBe('num > 0');
    expect(card.metrics.threshold).toBe(0.3);
    expect(card.subgroups.column).toBe('sex');
    expect(card.subgroups.groups.map((g: any) => g.group).sort()).toEqual(['0', '1']);
    // The target's source column is named as such, not listed among the inputs.
    expect(card.details.targetColumn).toBe('num');
    expect(card.data.columns.find((c: any) => c.name === 'num')).toBeUndefined();
  });

  it('refuses a request that cannot become a job, and records nothing', async () => {
    const before = (await server.call('GET', '/api/v1/jobs')).body.length;
    const noColumn = await server.call('POST', '/api/v1/jobs', {
      body: { model: 'x', dataset: 'wdbc', target: 'outcome' },
    });
    expect(noColumn.status).toBe(400);
    expect(noColumn.body.error).toMatch(
      /dataset wdbc:1 has no column "outcome"; its columns are mean_radius, mean_texture/,
    );
    const noDataset = await server.call('POST', '/api/v1/jobs', {
      body: { model: 'x', dataset: 'nope', target: 'y' },
    });
    expect(noDataset.status).toBe(404);
    const badKind = await server.call('POST', '/api/v1/jobs', {
      body: { model: 'x', dataset: 'wdbc', target: 'diagnosis', modelKind: 'forest' },
    });
    expect(badKind.status).toBe(400);
    expect(badKind.body.error).toMatch(/modelKind/);
    const badPositive = await server.call('POST', '/api/v1/jobs', {
      body: { model: 'x', dataset: 'wdbc', target: 'diagnosis', positive: 'M' },
    });
    expect(badPositive.status).toBe(400);
    expect(badPositive.body.error).toBe(
      '"M" is not a value of target "diagnosis" in wdbc:1; its values are "benign", "malignant"',
    );
    const service = await server.key('service');
    const forbidden = await server.call('POST', '/api/v1/jobs', {
      key: service,
      body: { model: 'x', dataset: 'wdbc', target: 'diagnosis' },
    });
    expect(forbidden.status).toBe(403);
    // A key sees the jobs it submitted (admins: every job), so none of the training jobs here.
    const listed = await server.call('GET', '/api/v1/jobs', { key: service });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([]);
    const auditor = await server.key('auditor');
    expect((await server.call('GET', '/api/v1/jobs', { key: auditor })).body).toEqual([]);
    expect((await server.call('GET', '/api/v1/jobs')).body.length).toBe(before);
    expect((await server.call('GET', '/api/v1/jobs/job-unknown')).status).toBe(404);
    expect((await server.call('GET', '/api/v1/jobs?state=done')).body.error).toMatch(/queued, running/);
  });

  it('fails a job whose data cannot train, with the reason, and registers nothing', async () => {
    const rows = ['age,outcome', ...Array.from({ length: 30 }, (_, i) => `${40 + i},yes`)];
    await upload(server, 'one-class', new TextEncoder().encode(rows.join('\n') + '\n'));
    const { body } = await server.call('POST', '/api/v1/jobs', {
      body: { model: 'never', dataset: 'one-class', target: 'outcome' },
    });
    const job = await waitFor(server, body.id, ['succeeded', 'failed']);
    expect(job.state).toBe('failed');
    expect(job.error).toEqual({
      code: 'invalid_input',
      message: expect.stringMatching(/^target "outcome" has only one class\/value in all 30 rows/),
    });
    expect((await server.call('GET', '/api/v1/models/never')).status).toBe(404);

    // A typo in a column of numbers: refused, naming the row, rather than the column quietly dropped.
    const typo = ['age_band,sbp,outcome'];
    for (let i = 0; i < 60; i++)
      typo.push(`${['a', 'b', 'c'][i % 3]},${i === 6 ? '1S0' : 100 + i},${i % 3 ? 'no' : 'yes'}`);
    await upload(server, 'typo', new TextEncoder().encode(typo.join('\n') + '\n'));
    const typoJob = (
      await server.call('POST', '/api/v1/jobs', {
        body: { model: 'never', dataset: 'typo', target: 'outcome' },
      })
    ).body;
    const typoDone = await waitFor(server, typoJob.id, ['succeeded', 'failed']);
    expect(typoDone.error.message).toMatch(
      /^column "sbp" is mostly numbers, but row 7 \(line 8\) is not a number/,
    );
    expect(typoDone.error.message).not.toContain('1S0');
    // Told what the column is, it trains.
    const ignored = (
      await server.call('POST', '/api/v1/jobs', {
        body: {
          model: 'typo-ok',
          dataset: 'typo',
          target: 'outcome',
          modelKind: 'logistic',
          overrides: { sbp: { role: 'ignored' } },
        },
      })
    ).body;
    expect((await waitFor(server, ignored.id, ['succeeded', 'failed'])).state).toBe('succeeded');

    const empty = await server.call('POST', '/api/v1/datasets/empty', {
      body: new Uint8Array(0),
      contentType: 'text/csv',
    });
    expect(empty.status).toBe(400);
    expect(empty.body.error).toBe('the dataset file is empty');
    expect((await server.call('GET', '/api/v1/models/never')).status).toBe(404);
  });

  it('cancels a running job (its process is stopped) and a queued one', async () => {
    const running = await server.call('POST', '/api/v1/jobs', {
      body: { model: 'stay-cancel', dataset: 'nmes', target: 'hospital > 0', positive: 'true' },
    });
    const queued = await server.call('POST', '/api/v1/jobs', {
      body: { model: 'stay-cancel-2', dataset: 'nmes', target: 'hospital > 0', positive: 'true' },
    });
    await waitFor(server, running.body.id, ['running']);
    const stillQueued = await server.call('POST', `/api/v1/jobs/${queued.body.id}/cancel`);
    expect(stillQueued.body).toMatchObject({ state: 'cancelled' });
    const cancel = await server.call('POST', `/api/v1/jobs/${running.body.id}/cancel`);
    expect(cancel.status).toBe(200);
    expect(cancel.body.cancelRequested).toBe(true);
    const done = await waitFor(server, running.body.id, ['cancelled', 'succeeded', 'failed'], 20_000);
    expect(done.state).toBe('cancelled');
    expect((await server.call('GET', '/api/v1/models/stay-cancel')).status).toBe(404);
    const again = await server.call('POST', `/api/v1/jobs/${running.body.id}/cancel`);
    expect(again.body.state).toBe('cancelled');
    const audit = (await server.call('GET', '/api/v1/audit?limit=1000')).body;
    const actions = (audit.records ?? audit).map((r: any) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['job.submit', 'job.cancel', 'job.finish']));
    const finished = (audit.records ?? audit).filter((r: any) => r.action === 'job.finish');
    expect(finished.find((r: any) => r.detail.job === running.body.id).detail.state).toBe('cancelled');
    const registered = finished.find((r: any) => r.model === 'wdbc-risk');
    expect(registered).toMatchObject({ keyId: 'env-admin', version: 1, status: 200 });
  });
});

describe('jobs across restarts', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'galen-jobs-restart-'));
  });
  afterAll(async () => rm(dataDir, { recursive: true, force: true }));

  it('queues a running job again when the server stops, and the next server finishes it', async () => {
    const first = await createTestServer({ dataDir });
    await upload(first, 'nmes', await nmesSixTimes());
    const { body } = await first.call('POST', '/api/v1/jobs', {
      body: {
        model: 'stay',
        dataset: 'nmes',
        target: 'hospital > 0',
        positive: 'true',
        modelKind: 'gbdt',
      },
    });
    await waitFor(first, body.id, ['running']);
    await first.close();

    const second = await createTestServer({ dataDir });
    try {
      const job = await waitFor(second, body.id, ['succeeded', 'failed']);
      expect(job.state).toBe('succeeded');
      expect(job.result).toMatchObject({ model: 'stay', version: 1 });
      const logs = (await second.call('GET', `/api/v1/jobs/${body.id}/logs`)).body.map((l: any) => l.message);
      expect(logs).toContain('the server stopped; queued to run again at its next start');
    } finally {
      await second.close();
    }
  });

  it('recovers a job whose process died: rerun while starts remain, then failed; settled if it registered', async () => {
    const server = await createTestServer({ dataDir, config: { jobs: { concurrency: 0, maxAttempts: 2 } } });
    try {
      const { body } = await server.call('POST', '/api/v1/jobs', {
        body: {
          model: 'wdbc-crash',
          dataset: 'nmes',
          target: 'hospital > 0',
          positive: 'true',
          modelKind: 'logistic',
        },
      });
      // As a crashed server would leave it: running, owned by a process that no longer exists.
      const dead = `${hostname()}:2147483646`;
      const heartbeat = new Date().toISOString();
      await server.galen.store.updateJob(body.id, {
        state: 'running',
        owner: dead,
        heartbeatAt: heartbeat,
        attempts: 1,
      });
      await server.galen.jobs.recoverOrphans();
      expect((await server.call('GET', `/api/v1/jobs/${body.id}`)).body).toMatchObject({
        state: 'queued',
        attempts: 1,
      });
      await server.galen.store.updateJob(body.id, {
        state: 'running',
        owner: dead,
        heartbeatAt: heartbeat,
        attempts: 2,
      });
      await server.galen.jobs.recoverOrphans();
      const failed = (await server.call('GET', `/api/v1/jobs/${body.id}`)).body;
      expect(failed.state).toBe('failed');
      expect(failed.error.message).toMatch(/interrupted 2 times/);

      // A process that registered its version and died before reporting: the registry settles it.
      const second = await server.call('POST', '/api/v1/jobs', {
        body: { model: 'wdbc-crash', dataset: 'nmes', target: 'hospital > 0' },
      });
      await server.galen.store.updateJob(second.body.id, {
        state: 'running',
        owner: dead,
        heartbeatAt: heartbeat,
        attempts: 1,
      });
      await server.galen.registry.registerVersion(
        { model: 'wdbc-crash', file: identityModel('FP32'), parameters: { job: second.body.id } },
        { keyId: 'test', role: 'admin' },
      );
      await server.galen.jobs.recoverOrphans();
      const settled = (await server.call('GET', `/api/v1/jobs/${second.body.id}`)).body;
      expect(settled).toMatchObject({ state: 'succeeded', result: { model: 'wdbc-crash', version: 1 } });
    } finally {
      await server.close();
    }
  });
});
