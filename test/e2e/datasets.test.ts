/**
 * Datasets through the real server and the CLI: real clinical files uploaded, versioned by
 * content, their schema inferred; bad files refused with a message that says why, leaving nothing.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli } from '../helpers/galen-process.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { dataUrl } from '../helpers/data.js';

const DATA = dataUrl('clinical/');
const file = (name: string): Promise<Buffer> => readFile(new URL(name, DATA));

describe('datasets API', () => {
  let server: TestServer;
  let heart: Buffer;
  beforeAll(async () => {
    server = await createTestServer();
    heart = await file('heart_cleveland.csv');
  });
  afterAll(async () => server.close());

  const upload = (name: string, body: Uint8Array, query = '', contentType = 'text/csv', key?: string) =>
    server.call('POST', `/api/v1/datasets/${name}${query}`, { body, contentType, ...(key && { key }) });
  const column = (schema: any, name: string): any => schema.columns.find((c: any) => c.name === name);

  it('stores a real CSV by content hash, infers its schema, and versions it by content', async () => {
    const first = await upload('heart', heart, '?target=num&description=Cleveland');
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body).toMatchObject({
      name: 'heart',
      version: 1,
      format: 'csv',
      rows: 303,
      description: 'Cleveland',
    });
    expect(first.body.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(first.body.schema.target).toBe('num');
    expect(column(first.body.schema, 'num').role).toBe('target');
    expect(column(first.body.schema, 'age')).toMatchObject({ kind: 'numeric', role: 'feature', missing: 0 });
    expect(column(first.body.schema, 'ca').missing).toBeGreaterThan(0); // "?" is a missing value
    expect(column(first.body.schema, 'sex').kind).toBe('binary');

    // The same bytes again: nothing new. Other bytes: version 2.
    const again = await upload('heart', heart, '?target=num');
    expect(again.status).toBe(200);
    expect(again.body.version).toBe(1);
    const fewer = Buffer.from(heart.toString('utf8').split('\n').slice(0, 101).join('\n'));
    const second = await upload('heart', fewer, '?target=num');
    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({ version: 2, rows: 100 });

    const versions = await server.call('GET', '/api/v1/datasets/heart');
    expect(versions.body.map((v: any) => v.version)).toEqual([1, 2]);
    const one = await server.call('GET', '/api/v1/datasets/heart/versions/1');
    expect(one.body.sha256).toBe(first.body.sha256);
    const list = await server.call('GET', '/api/v1/datasets');
    expect(list.body).toEqual([expect.objectContaining({ name: 'heart', latestVersion: 2, versions: 2 })]);
  });

  it('reads the 4,406-row NMES file with its kinds and a numeric target', async () => {
    const res = await upload(
      'nmes',
      await file('nmes1988.csv'),
      '?target=hospital',
      'application/octet-stream',
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.rows).toBe(4406);
    expect(column(res.body.schema, 'health')).toMatchObject({
      kind: 'categorical',
      categories: ['average', 'poor', 'excellent'],
    });
    expect(column(res.body.schema, 'adl')).toMatchObject({
      kind: 'binary',
      categories: ['normal', 'limited'],
    });
    expect(column(res.body.schema, 'hospital')).toMatchObject({
      kind: 'numeric',
      role: 'target',
      numeric: { min: 0, max: 8 },
    });
  });

  it('takes JSON lines, detected from the content', async () => {
    const lines = [
      '{"age": 61, "sex": "F", "outcome": 1}',
      '{"age": 47, "sex": "M", "outcome": 0}',
      '{"age": null, "sex": "F", "outcome": 0}',
    ];
    const res = await upload('tiny', Buffer.from(lines.join('\n')), '', 'application/octet-stream');
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ format: 'jsonl', rows: 3 });
    expect(column(res.body.schema, 'age')).toMatchObject({ kind: 'numeric', missing: 1 });
  });

  it('previews the schema with another target and overrides, storing nothing', async () => {
    const res = await server.call('POST', '/api/v1/datasets/heart/versions/1/schema', {
      body: { target: 'sex', overrides: { cp: { kind: 'categorical' }, thal: { role: 'ignored' } } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.target).toBe('sex');
    expect(column(res.body, 'cp').kind).toBe('categorical');
    expect(column(res.body, 'thal').role).toBe('ignored');
    expect((await server.call('GET', '/api/v1/datasets/heart/versions/1')).body.schema.target).toBe('num');
  });

  it('refuses bad files with a message that says what is wrong, and keeps nothing of them', async () => {
    const artifacts = async (): Promise<number> =>
      (await readdir(join(server.dataDir, 'artifacts'), { recursive: true })).length;
    const before = await artifacts();
    const cases: [string, Buffer, string, RegExp][] = [
      ['empty', Buffer.alloc(0), '', /empty/],
      ['unknown-target', heart, '?target=diagnosis', /"diagnosis".*(age|columns)/],
      ['one-class', Buffer.from('a,b\n1,x\n2,x\n3,x\n'), '?target=b', /only one/],
      ['ragged', Buffer.from('a,b,c\n1,2,3\n4,5\n'), '', /row 2.*line 3|line 3.*row 2/],
      ['header-only', Buffer.from('a,b,c\n'), '', /no data rows|no rows/],
    ];
    for (const [name, body, query, message] of cases) {
      const res = await upload(name, body, query);
      expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body.error).toMatch(message);
      expect((await server.call('GET', `/api/v1/datasets/${name}`)).status).toBe(404);
    }
    expect(await artifacts()).toBe(before);
    const badType = await upload('x', heart, '', 'image/png');
    expect(badType.status).toBe(400);
    expect((await upload('Bad Name', heart)).status).toBe(400);
  });

  it('lets developers upload and read, and nobody else but admins', async () => {
    const developer = await server.key('developer');
    expect((await upload('dev-data', heart, '', 'text/csv', developer)).status).toBe(201);
    for (const role of ['service', 'auditor', 'approver'] as const) {
      const key = await server.key(role);
      expect((await upload('nope', heart, '', 'text/csv', key)).status, role).toBe(403);
      expect((await server.call('GET', '/api/v1/datasets', { key })).status, role).toBe(403);
    }
    const audit = await server.call('GET', '/api/v1/audit?limit=1000');
    expect(audit.body.records.filter((r: any) => r.action === 'dataset.upload').length).toBeGreaterThan(5);
  });
});

describe('datasets CLI', () => {
  let dataDir: string;
  beforeAll(async () => {
    assertCliBuilt();
    dataDir = await mkdtemp(join(tmpdir(), 'galen-datasets-cli-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('uploads, lists and shows a dataset with its schema', async () => {
    const path = new URL('heart_cleveland.csv', DATA).pathname;
    const up = await runCli(
      ['datasets', 'upload', path, '--name', 'heart', '--target', 'num', '--json'],
      dataDir,
    );
    expect(up.code, up.stderr).toBe(0);
    const uploaded = JSON.parse(up.stdout);
    expect(uploaded).toMatchObject({ name: 'heart', version: 1, rows: 303, created: true });
    const list = await runCli(['datasets', 'list'], dataDir);
    expect(list.stdout).toMatch(/heart\s+1\s+csv\s+303\s+14\s+num/);
    const show = await runCli(['datasets', 'show', 'heart:1'], dataDir);
    expect(show.stdout).toMatch(/^ca\s+numeric\s+feature\s+[1-9]/m);
    const bad = await runCli(['datasets', 'upload', path, '--name', 'heart', '--target', 'nope'], dataDir);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/"nope"/);
  });

  it('makes sequence datasets from a WFDB record, from MIMIC-III tables, and an image dataset from a folder', async () => {
    const shared = dataUrl('');
    const ecg = await runCli(
      ['datasets', 'from-wfdb', new URL('signals/mitbih_100.hea', shared).pathname, '--name', 'ecg100'],
      dataDir,
    );
    expect(ecg.code, ecg.stderr).toBe(0);
    expect(ecg.stdout).toMatch(/stored ecg100:1: 2270 sequences/);
    expect(ecg.stdout).toMatch(
      /2 value\(s\) per step, length 252–252 \(mean 252\.0\), 3 static feature\(s\)/,
    );
    expect(ecg.stdout).toMatch(/left out 1 beat\(s\): V \(fewer than 10 beats\)/);
    const mimic = await runCli(
      [
        'datasets',
        'from-mimic',
        new URL('ehr/', shared).pathname,
        '--name',
        'mimic',
        '--target',
        'death',
        '--json',
      ],
      dataDir,
    );
    expect(mimic.code, mimic.stderr).toBe(0);
    expect(JSON.parse(mimic.stdout)).toMatchObject({
      format: 'sequences',
      rows: 129,
      schema: { staticFeatures: 4, labels: { died: 40, survived: 89 } },
    });
    const folder = await runCli(
      ['datasets', 'upload', new URL('imaging/pneumoniamnist_test_png', shared).pathname, '--name', 'png'],
      dataDir,
    );
    expect(folder.code, folder.stderr).toBe(0);
    expect(folder.stdout).toMatch(/stored png:1: 40 images/);
    expect(folder.stdout).toMatch(/images: 1×28×28/);
  });
});
