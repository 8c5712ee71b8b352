/**
 * Encryption at rest: with a master key, model files, datasets and explainers (training rows) are
 * stored encrypted — the data folder is searched for their bytes and holds none — serving is
 * unchanged, a flipped ciphertext byte is refused, and a key rotation re-encrypts everything so
 * the old key can go.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBreastCancerModel, readWdbcCsv } from '../../src/demo/index.js';
import { clevelandInputs, trainHeart, uploadHeart } from '../helpers/cleveland.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';

/** Every file under `dir`, recursively. */
async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await files(path)));
    else out.push(path);
  }
  return out;
}

describe('encryption at rest', () => {
  const key1 = randomBytes(32).toString('base64');
  const key2 = randomBytes(32).toString('base64');
  let dataDir: string;
  let server: TestServer;
  let csv: string;
  let onnx: Uint8Array;
  let weights: Buffer;
  const row = (values: number[]) => clevelandInputs([values]);
  const patient = [63, 1, 1, 145, 233, 1, 2, 150, 0, 2.3, 3, 0, 6];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'galen-encrypted-'));
    server = await createTestServer({
      dataDir,
      withDemo: true,
      config: { encryption: { masterKey: key1, previousKeys: [] } },
    });
    csv = await uploadHeart(server);
    await trainHeart(server, 'heart');
    const built = buildBreastCancerModel(await readWdbcCsv());
    onnx = built.onnx;
    weights = Buffer.from(Float32Array.from(built.coefficients.weights).buffer);
    expect((await server.call('POST', '/api/v1/models/wdbc/versions', { body: onnx })).status).toBe(201);
  });
  afterAll(async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('stores no model or dataset bytes in the clear, and serves as before', async () => {
    await server.galen.audit.flush();
    const needles = [
      ...csv
        .split('\n')
        .slice(1, 40)
        .map((line) => Buffer.from(line.trim())), // training rows
      weights, // the model's fitted weights as its ONNX file holds them (float32)
    ];
    expect(Buffer.from(onnx).includes(weights)).toBe(true); // the needle is really in the plaintext
    const stored = await files(dataDir);
    expect(stored.some((f) => f.includes(`${join('artifacts', 'sha256')}`))).toBe(true);
    for (const file of stored) {
      const bytes = await readFile(file);
      for (const needle of needles)
        expect(bytes.includes(needle), `${file} holds ${needle.toString('utf8', 0, 40)}`).toBe(false);
    }
    const answer = await server.call('POST', '/v2/models/heart/infer', { body: { inputs: row(patient) } });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const explained = await server.call('POST', '/v2/models/heart/explain', {
      body: { inputs: row(patient) },
    });
    expect(explained.status, JSON.stringify(explained.body)).toBe(200);

    // The prediction was recorded for monitoring; its inputs are sealed like everything else.
    await server.galen.monitoring.flush();
    for (const file of await files(dataDir)) {
      expect(
        (await readFile(file)).includes(Buffer.from('"v":2,"t":[')),
        `${file} holds a clear sample batch`,
      ).toBe(false);
    }
    const monitored = await server.call('GET', '/api/v1/models/heart/monitoring?window=PT1H&windows=1');
    expect(monitored.body.overall.samples).toBe(1);
    expect(monitored.body.reference.features).toHaveLength(13);
  });

  it('refuses an artifact whose ciphertext has a flipped byte', async () => {
    const version = (await server.call('GET', '/api/v1/models/wdbc/versions/1')).body;
    const path = join(dataDir, 'artifacts', 'sha256', version.sha256.slice(0, 2), version.sha256);
    const original = await readFile(path);
    const flipped = Buffer.from(original);
    flipped[Math.floor(flipped.length * 0.6)]! ^= 0x01;
    await writeFile(path, flipped);
    await expect(server.galen.artifacts.readVerified(version.sha256)).rejects.toThrow(
      /cannot be decrypted: authentication failed/,
    );
    const load = await server.call('POST', '/v2/repository/models/wdbc/load', { body: {} });
    expect(load.status).toBe(500);
    await writeFile(path, original);
    expect((await server.galen.artifacts.readVerified(version.sha256)).equals(Buffer.from(onnx))).toBe(true);
  });

  it('rotates to a new master key; the old one can then go', async () => {
    await server.close();
    const rotating = await createTestServer({
      dataDir,
      config: { encryption: { masterKey: key2, previousKeys: [key1] } },
    });
    const artifacts = await rotating.galen.artifacts.rotate();
    expect(artifacts.rewrapped).toBeGreaterThanOrEqual(4); // two datasets, heart, wdbc, demo models
    expect(artifacts.encrypted).toBe(0);
    expect(await rotating.galen.registry.resealStoredValues()).toBeGreaterThanOrEqual(2);
    expect(await rotating.galen.monitoring.reseal()).toBeGreaterThanOrEqual(1);
    expect((await rotating.galen.artifacts.rotate()).rewrapped).toBe(0);
    await rotating.close();

    server = await createTestServer({
      dataDir,
      config: { encryption: { masterKey: key2, previousKeys: [] } },
    });
    const explained = await server.call('POST', '/v2/models/heart/explain', {
      body: { inputs: row(patient) },
    });
    expect(explained.status, JSON.stringify(explained.body)).toBe(200);
    // The recorded prediction and the version's profile were re-sealed: the report reads them under the new key alone.
    const monitored = await server.call('GET', '/api/v1/models/heart/monitoring?window=PT1H&windows=1');
    expect(monitored.status, JSON.stringify(monitored.body)).toBe(200);
    expect(monitored.body.overall.samples).toBeGreaterThanOrEqual(1);
    const dataset = (await server.call('GET', '/api/v1/datasets/heart/versions/1')).body;
    expect((await server.galen.artifacts.readVerified(dataset.sha256)).toString('utf8')).toBe(csv);
    await server.close();

    // The data cannot be read without the key.
    server = await createTestServer({ dataDir });
    await expect(server.galen.artifacts.readVerified(dataset.sha256)).rejects.toThrow(
      /is encrypted, and no master key is configured/,
    );
  });
});
