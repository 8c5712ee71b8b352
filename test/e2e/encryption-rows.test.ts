/**
 * Encryption at rest covers the rows that hold what people typed or sent: a job's request (an
 * optimisation's input names admissions; a training request its datasets and purpose) and result,
 * and the free text of CDS card feedback. With a master key the SQLite file holds none of it in
 * the clear, and the API still answers with it.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { recordCdsFeedback, resealCdsFeedback } from '../../src/clinical/index.js';
import { HEART_DEMO_MODEL } from '../../src/demo/index.js';
import { waitForJob } from '../helpers/pytorch.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { dataUrl } from '../helpers/data.js';

const WDBC = dataUrl('clinical/breast_cancer_wdbc.csv');
const PURPOSE = 'Triage for patient Jane Roe-Quixote, MRN 55501234';
const REASON = 'Override: Jane Roe-Quixote already on warfarin (MRN 55501234)';

/** Every text cell of `table` in the server's SQLite file, read directly. */
function rawCells(dataDir: string, table: string): string {
  const db = new Database(join(dataDir, 'galen.db'), { readonly: true });
  try {
    return JSON.stringify(db.prepare(`SELECT * FROM ${table}`).all());
  } finally {
    db.close();
  }
}

describe('encryption at rest: job and CDS feedback rows', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await createTestServer({
      withDemo: true,
      config: { encryption: { masterKey: randomBytes(32).toString('base64'), previousKeys: [] } },
    });
    const res = await server.call('POST', '/api/v1/datasets/wdbc', {
      body: await readFile(WDBC),
      contentType: 'text/csv',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });
  afterAll(async () => server?.close());

  it("stores a job's request and result sealed, and answers with them in the clear", async () => {
    const submitted = await server.call('POST', '/api/v1/jobs', {
      body: {
        model: 'sealed-job',
        dataset: 'wdbc',
        target: 'diagnosis',
        modelKind: 'logistic',
        intendedUse: PURPOSE,
      },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    const done = await waitForJob(server, submitted.body.id);
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.request.intendedUse).toBe(PURPOSE);
    expect(done.result).toMatchObject({ model: 'sealed-job', version: 1 });
    const listed = (await server.call('GET', '/api/v1/jobs')).body.find((j: any) => j.id === done.id);
    expect(listed.request.intendedUse).toBe(PURPOSE);

    const raw = rawCells(server.dataDir, 'jobs');
    expect(raw).toContain(done.id);
    expect(raw).not.toContain('Roe-Quixote');
    expect(raw).not.toContain('55501234');
    expect(raw).not.toContain('"dataset":"wdbc"');
    expect(raw).not.toContain('sealed-job');
    expect(raw).toContain('sealed');
  }, 120_000);

  it('stores CDS feedback text sealed, and still counts it', async () => {
    const service = `${HEART_DEMO_MODEL}--production`;
    const recorded = await recordCdsFeedback(
      server.galen,
      service,
      {
        feedback: [
          {
            card: crypto.randomUUID(),
            outcome: 'overridden',
            outcomeTimestamp: new Date().toISOString(),
            overrideReason: { code: { code: 'other', display: REASON }, userComment: REASON },
          },
        ],
      },
      { keyId: 'cds:https://ehr.example', role: 'service' },
    );
    expect(recorded.counts).toEqual({ overridden: 1 });
    const raw = rawCells(server.dataDir, 'cds_feedback');
    expect(raw).toContain('overridden');
    expect(raw).not.toContain('Roe-Quixote');
    expect(raw).not.toContain('warfarin');
  });
});

describe('encryption at rest: rows written before the key, sealed by the rotation', () => {
  it('reseals job and feedback rows under the key (what `galen encryption rotate` runs), still readable', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'galen-reseal-'));
    try {
      const plain = await createTestServer({ dataDir, withDemo: true });
      await plain.call('POST', '/api/v1/datasets/wdbc', {
        body: await readFile(WDBC),
        contentType: 'text/csv',
      });
      const job = await plain.call('POST', '/api/v1/jobs', {
        body: {
          model: 'before-key',
          dataset: 'wdbc',
          target: 'diagnosis',
          modelKind: 'logistic',
          intendedUse: PURPOSE,
        },
      });
      await waitForJob(plain, job.body.id);
      const feedback = {
        feedback: [
          {
            card: crypto.randomUUID(),
            outcome: 'overridden',
            outcomeTimestamp: new Date().toISOString(),
            overrideReason: { userComment: REASON },
          },
        ],
      };
      await recordCdsFeedback(plain.galen, `${HEART_DEMO_MODEL}--production`, feedback, {
        keyId: 'cds:x',
        role: 'service',
      });
      await plain.close();
      expect(rawCells(dataDir, 'jobs')).toContain('Roe-Quixote');

      const keyed = await createTestServer({
        dataDir,
        config: { encryption: { masterKey: randomBytes(32).toString('base64'), previousKeys: [] } },
      });
      try {
        expect(await keyed.galen.jobs.reseal()).toBe(1);
        expect(await resealCdsFeedback(keyed.galen)).toBe(1);
        expect(rawCells(dataDir, 'jobs')).not.toContain('Roe-Quixote');
        expect(rawCells(dataDir, 'cds_feedback')).not.toContain('Roe-Quixote');
        const read = (await keyed.call('GET', `/api/v1/jobs/${job.body.id}`)).body;
        expect(read.request.intendedUse).toBe(PURPOSE);
        expect(read.result.model).toBe('before-key');
      } finally {
        await keyed.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
