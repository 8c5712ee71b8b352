/**
 * De-identification through the API and the CLI, on the Synthea bundles: Safe Harbor answers a
 * Bundle with no names, contacts or full dates and a report of the changes; pseudonymous mode
 * needs the server's key and gives the same pseudonyms for the same patient.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli } from '../helpers/galen-process.js';
import { uploadHeart } from '../helpers/cleveland.js';
import { waitForJob } from '../helpers/pytorch.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { dataUrl } from '../helpers/data.js';

const FHIR = dataUrl('fhir/');
const HIPOLITO = 'Hipolito984_Schulist381_6b9c211c-2c38-3955-43a0-4d285c714fab.json';
const ADMISSIONS = dataUrl('ehr/mimic3_demo_ADMISSIONS.csv');

describe('de-identification API and CLI', () => {
  let server: TestServer;
  let dir: string;
  let bundle: string;
  beforeAll(async () => {
    assertCliBuilt();
    dir = await mkdtemp(join(tmpdir(), 'galen-deid-'));
    await writeFile(join(dir, 'deid.key'), Buffer.alloc(32, 9));
    server = await createTestServer({ config: { deid: { keyFile: join(dir, 'deid.key') } } });
    bundle = await readFile(new URL(HIPOLITO, FHIR), 'utf8');
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const deid = (mode: string, key?: string) =>
    server.call('POST', `/api/v1/deid/fhir?mode=${mode}`, {
      body: bundle,
      contentType: 'application/fhir+json',
      ...(key !== undefined && { key }),
    });

  it('answers a Safe Harbor Bundle with a report, and stores nothing', async () => {
    const res = await deid('safe-harbor');
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
    const text = JSON.stringify(res.body);
    for (const gone of [
      'Hipolito984',
      'Schulist381',
      '555-173-9701',
      '999-15-7505',
      '620 Abbott Spur',
      'North Attleborough',
      '2009-05-02',
    ]) {
      expect(text).not.toContain(gone);
    }
    const report = JSON.parse(res.headers.get('galen-deid-report')!);
    expect(report).toMatchObject({
      names: expect.any(Number),
      dates: expect.any(Number),
      identifiers: expect.any(Number),
    });
    expect((await server.call('GET', '/api/v1/datasets')).body).toEqual([]);
    expect((await deid('safe-harbor', await server.key('service'))).status).toBe(403);
  });

  it('pseudonymises with the server key: the same patient gets the same pseudonym', async () => {
    const a = await deid('pseudonymous');
    const b = await deid('pseudonymous');
    expect(a.status).toBe(200);
    const idOf = (body: any) =>
      body.entry.find((e: any) => e.resource.resourceType === 'Patient').resource.id;
    expect(idOf(a.body)).toBe(idOf(b.body));
    expect(idOf(a.body)).not.toBe('6b9c211c-2c38-3955-43a0-4d285c714fab');
  });

  it('de-identifies a folder of bundles from the CLI', async () => {
    const out = join(dir, 'out');
    const run = await runCli(
      [
        '--json',
        'deid',
        'fhir',
        new URL('.', FHIR).pathname,
        out,
        '--mode',
        'pseudonymous',
        '--key-file',
        join(dir, 'deid.key'),
      ],
      dir,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ files: 10, mode: 'pseudonymous' });
    const written = await readdir(out);
    expect(written).toHaveLength(10);
    const all = (await Promise.all(written.map((f) => readFile(join(out, f), 'utf8')))).join('\n');
    expect(all).not.toContain('Hipolito984');
    const missing = await runCli(
      ['deid', 'fhir', HIPOLITO, join(dir, 'x.json'), '--mode', 'pseudonymous'],
      dir,
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/pseudonymous mode needs --key-file/);
  });

  it('de-identifies a table over the API: column rules, pseudonyms with the server key, k-anonymity it can show', async () => {
    const csv = await readFile(ADMISSIONS, 'utf8');
    const rules = {
      columns: {
        SUBJECT_ID: 'pseudonymize',
        ADMISSION_TYPE: 'keep',
        INSURANCE: 'keep',
        MARITAL_STATUS: 'keep',
        ETHNICITY: 'keep',
        DIAGNOSIS: 'mask',
        HOSPITAL_EXPIRE_FLAG: 'keep',
      },
      quasiIdentifiers: ['INSURANCE', 'MARITAL_STATUS', 'ETHNICITY'],
      k: 3,
    };
    const answer = await server.call('POST', '/api/v1/deid/csv', { body: { csv, rules } });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const out = answer.body.csv as string;
    const [header, ...lines] = out.trim().split('\n');
    // Only the named columns remain: row ids, admission ids and every date are gone.
    expect(header).toBe(
      'SUBJECT_ID,ADMISSION_TYPE,INSURANCE,MARITAL_STATUS,ETHNICITY,DIAGNOSIS,HOSPITAL_EXPIRE_FLAG',
    );
    for (const id of ['142345', '10/23/64', '10006,']) expect(out).not.toContain(id);
    // k-anonymity, counted here rather than taken from the report.
    const groups = new Map<string, number>();
    for (const line of lines) {
      const cells = line.split(',');
      const key = [cells[2], cells[3], cells[4]].join('|');
      groups.set(key, (groups.get(key) ?? 0) + 1);
    }
    expect(Math.min(...groups.values())).toBeGreaterThanOrEqual(3);
    expect(answer.body.report.k).toBe(Math.min(...groups.values()));
    expect(lines.length + answer.body.report.suppressedRows).toBe(csv.trim().split('\n').length - 1);

    const bad = await server.call('POST', '/api/v1/deid/csv', {
      body: { csv, rules: { columns: { SUBJECT_ID: 'hash' } } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/column "SUBJECT_ID" has rule "hash"; they are \{"columns"/);
    const noKey = await createTestServer();
    try {
      const refused = await noKey.call('POST', '/api/v1/deid/csv', { body: { csv, rules } });
      expect(refused.status).toBe(412);
      expect(refused.body.error).toMatch(/needs the server key/);
    } finally {
      await noKey.close();
    }
  });

  it('trains on data de-identified on the way in, and says so on the version', async () => {
    const csv = await uploadHeart(server);
    const rules = { columns: { age: 'age' }, otherColumns: 'keep', quasiIdentifiers: ['age', 'sex'], k: 10 };
    const submit = (deid: unknown, extra: Record<string, unknown> = {}) =>
      server.call('POST', '/api/v1/jobs', {
        body: {
          model: 'heart-deid',
          dataset: 'heart',
          target: 'num > 0',
          modelKind: 'logistic',
          deid,
          ...extra,
        },
      });
    const job = await submit(rules);
    expect(job.status, JSON.stringify(job.body)).toBe(202);
    const done = await waitForJob(server, job.body.id);
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    const version = (await server.call('GET', '/api/v1/models/heart-deid/versions/1')).body;
    const deid = version.lineage.parameters.deid;
    expect(deid.rules).toEqual(rules);
    expect(deid.report.k).toBeGreaterThanOrEqual(10);
    expect(deid.report.generalisation.age).toMatch(/-wide bands/);
    // The model takes what it was trained on: age bands, not ages.
    const inputs = (await server.call('GET', '/v2/models/heart-deid')).body.inputs;
    expect(inputs.find((i: { name: string }) => i.name === 'age').datatype).toBe('BYTES');
    const card = (await server.call('GET', '/api/v1/models/heart-deid/versions/1/card')).body;
    expect(JSON.stringify(card)).toMatch(/k-anonymity k = \d+/);
    expect(JSON.stringify(card)).toMatch(/Trained on de-identified data .*Inputs must be given the same way/);
    const logs = (await server.call('GET', `/api/v1/jobs/${job.body.id}/logs`)).body;
    expect(JSON.stringify(logs)).toContain('de-identified on the way in');

    // With separate test data, both parts are de-identified together: the test rows get the training's bands.
    const [header, ...lines] = csv.trim().split('\n');
    const part = (rows: string[]) => [header, ...rows].join('\n') + '\n';
    for (const [name, rows] of [
      ['heart-train', lines.slice(0, 240)],
      ['heart-test', lines.slice(240)],
    ] as const) {
      expect(
        (
          await server.call('POST', `/api/v1/datasets/${name}`, {
            body: part([...rows]),
            contentType: 'text/csv',
          })
        ).status,
      ).toBe(201);
    }
    const split = await server.call('POST', '/api/v1/jobs', {
      body: {
        model: 'heart-deid-split',
        dataset: 'heart-train',
        testDataset: 'heart-test',
        target: 'num > 0',
        modelKind: 'logistic',
        deid: rules,
      },
    });
    const splitDone = await waitForJob(server, split.body.id);
    expect(splitDone.state, JSON.stringify(splitDone.error)).toBe('succeeded');
    const splitVersion = (await server.call('GET', '/api/v1/models/heart-deid-split/versions/1')).body;
    expect(splitVersion.lineage.parameters.deid.report.k).toBeGreaterThanOrEqual(10);
    expect(splitVersion.lineage.parameters.testRows).toBeGreaterThan(40);
    expect(splitVersion.metrics.test.auroc).toBeGreaterThan(0.7);

    // Refused at submit, with the reason.
    expect((await submit({ columns: { chol: 'keep', pulse: 'keep' } })).body.error).toMatch(
      /they name column "pulse" is not a column of heart; its columns are age, sex/,
    );
    expect(
      (await submit({ columns: { num: 'keep', age: 'keep' }, quasiIdentifiers: ['age', 'num'] })).body.error,
    ).toMatch(/the target column "num" is a quasi-identifier/);
    expect((await submit({ columns: { num: 'keep' }, quasiIdentifiers: ['age'] })).body.error).toMatch(
      /quasi-identifier "age" is removed/,
    );
    expect((await submit({ columns: { num: 'keep' } }, { sensitive: 'sex' })).body.error).toMatch(
      /remove the sensitive column "sex"/,
    );
    expect((await submit({ columns: { age: 'keep' } })).body.error).toMatch(
      /would remove the target column "num"/,
    );
    expect((await submit({ columns: { num: 'keep' }, k: 1 })).body.error).toMatch(
      /"k" is an integer from 2 to 1000/,
    );
  });
});
