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
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';

const FHIR = new URL('../../../shared/data/fhir/', import.meta.url);
const HIPOLITO = 'Hipolito984_Schulist381_6b9c211c-2c38-3955-43a0-4d285c714fab.json';

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
});
