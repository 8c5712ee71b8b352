/**
 * The artifact sweep on a real server and data folder: interrupted uploads leave staged `.part`
 * files and complete artifacts whose record was never written; the sweep removes those older than
 * 10 minutes, at start and then periodically, and never a file any record refers to — a model
 * version (uploaded, trained by a job with its explainer and monitoring profile, archived) or a
 * dataset version. Afterwards every model still answers as before and the dataset still reads.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/core/index.js';
import { clevelandInputs, trainHeart, uploadHeart } from '../helpers/cleveland.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { identityModel, twoOutputModel, uploadModel } from '../helpers/tiny-models.js';

const HOUR_AGO = new Date(Date.now() - 3600_000);
const patient = [63, 1, 1, 145, 233, 1, 2, 150, 0, 2.3, 3, 0, 6];

describe('artifact sweep', () => {
  let server: TestServer;
  const artifacts = (): string => join(server.dataDir, 'artifacts');
  const pathOf = (sha256: string): string => join(artifacts(), 'sha256', sha256.slice(0, 2), sha256);

  /** A complete artifact file with no record (a crash between commit and the SQL insert). */
  async function orphan(at: Date): Promise<string> {
    const bytes = randomBytes(256);
    const sha256 = sha256Hex(bytes);
    await mkdir(join(artifacts(), 'sha256', sha256.slice(0, 2)), { recursive: true });
    await writeFile(pathOf(sha256), bytes);
    await utimes(pathOf(sha256), at, at);
    return pathOf(sha256);
  }

  /** A staged upload cut short by a crash. */
  async function part(at: Date): Promise<string> {
    await mkdir(join(artifacts(), 'tmp'), { recursive: true });
    const path = join(artifacts(), 'tmp', `${at.getTime()}-${randomBytes(6).toString('hex')}.part`);
    await writeFile(path, randomBytes(1024));
    await utimes(path, at, at);
    return path;
  }

  const infer = async (model: string, inputs: unknown): Promise<unknown> => {
    const res = await server.call('POST', `/v2/models/${model}/infer`, { body: { inputs } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.outputs;
  };
  const tiny = [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }];

  beforeAll(async () => {
    server = await createTestServer({ config: { artifacts: { sweepSeconds: 1 } } });
    await uploadModel(server, 'uploaded', identityModel('FP32'));
    await uploadModel(server, 'archived', twoOutputModel());
    expect((await server.call('POST', '/api/v1/models/archived/archive')).status).toBe(200);
    await uploadHeart(server);
    await trainHeart(server, 'heart');
  });
  afterAll(async () => server.close());

  it('removes old staged files and unreferenced artifacts at start, keeping every referenced one', async () => {
    const uploaded = (await server.call('GET', '/api/v1/models/uploaded/versions/1')).body.sha256 as string;
    const archived = (await server.call('GET', '/api/v1/models/archived/versions/1')).body.sha256 as string;
    const trained = (await server.call('GET', '/api/v1/models/heart/versions/1')).body.sha256 as string;
    const dataset = (await server.call('GET', '/api/v1/datasets/heart/versions/1')).body.sha256 as string;
    const referenced = [uploaded, archived, trained, dataset];
    expect(new Set(referenced).size).toBe(4);
    const heartBefore = await infer('heart', clevelandInputs([patient]));
    const uploadedBefore = await infer('uploaded', tiny);

    // Every stored file is older than the 10-minute rule: only references can save it now.
    for (const prefix of await readdir(join(artifacts(), 'sha256'))) {
      for (const name of await readdir(join(artifacts(), 'sha256', prefix)))
        await utimes(join(artifacts(), 'sha256', prefix, name), HOUR_AGO, HOUR_AGO);
    }
    const oldOrphans = [await orphan(HOUR_AGO), await orphan(HOUR_AGO)];
    const youngOrphan = await orphan(new Date(Date.now() - 60_000));
    const oldPart = await part(HOUR_AGO);
    const youngPart = await part(new Date());

    expect(await server.galen.sweeper.start()).toEqual({ staged: 1, orphans: 2 });
    for (const path of [...oldOrphans, oldPart]) expect(existsSync(path), path).toBe(false);
    for (const path of [youngOrphan, youngPart]) expect(existsSync(path), path).toBe(true);
    for (const sha256 of referenced) expect(existsSync(pathOf(sha256)), sha256).toBe(true);

    expect(await infer('heart', clevelandInputs([patient]))).toEqual(heartBefore);
    expect(await infer('uploaded', tiny)).toEqual(uploadedBefore);
    expect((await server.call('POST', '/api/v1/models/archived/restore')).status).toBe(200);
    // Archiving unloaded it: loading it again reads its file from the store.
    expect((await server.call('POST', '/v2/repository/models/archived/load', { body: {} })).status).toBe(200);
    expect(await infer('archived', tiny)).toHaveLength(2);
    const explained = await server.call('POST', '/v2/models/heart/explain', {
      body: { inputs: clevelandInputs([patient]) },
    });
    expect(explained.status, JSON.stringify(explained.body)).toBe(200);
    const schema = await server.call('POST', '/api/v1/datasets/heart/versions/1/schema', { body: {} });
    expect(schema.status, JSON.stringify(schema.body)).toBe(200);
  });

  it('sweeps again periodically (artifacts.sweepSeconds), not only at start', async () => {
    if (server.galen.sweeper.completedRuns === 0) await server.galen.sweeper.start(); // run alone
    const runs = server.galen.sweeper.completedRuns;
    const laterOrphan = await orphan(HOUR_AGO);
    const laterPart = await part(HOUR_AGO);
    const until = Date.now() + 20_000;
    while ((existsSync(laterOrphan) || existsSync(laterPart)) && Date.now() < until)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(existsSync(laterOrphan)).toBe(false);
    expect(existsSync(laterPart)).toBe(false);
    expect(server.galen.sweeper.completedRuns).toBeGreaterThan(runs);
    expect((await server.call('GET', '/api/v1/models/uploaded/versions/1')).status).toBe(200);
    expect(await infer('uploaded', tiny)).toHaveLength(1);
  });
});
