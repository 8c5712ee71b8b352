/**
 * Encrypting a data folder that was written without a master key: `galen encryption rotate` (the
 * real CLI, in its own process) with GALEN_MASTER_KEY set seals every stored model file and
 * dataset in place. Afterwards the data folder holds none of their bytes in the clear, and a
 * server started with the key answers exactly as before and still reads the dataset.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBreastCancerModel, readWdbcCsv } from '../../src/demo/index.js';
import { LocalArtifactStore } from '../../src/store/index.js';
import { clevelandInputs, trainHeart, uploadHeart } from '../helpers/cleveland.js';
import { assertCliBuilt, runCli } from '../helpers/galen-process.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';

const MAGIC = Buffer.from('GALENC01');
const patients = [
  [63, 1, 1, 145, 233, 1, 2, 150, 0, 2.3, 3, 0, 6],
  [41, 0, 2, 130, 204, 0, 2, 172, 0, 1.4, 1, 0, 3],
];

/** Every artifact file: `artifacts/sha256/<ab>/<digest>`. */
async function artifactFiles(dataDir: string): Promise<string[]> {
  const root = join(dataDir, 'artifacts', 'sha256');
  const out: string[] = [];
  for (const prefix of await readdir(root))
    for (const name of await readdir(join(root, prefix))) out.push(join(root, prefix, name));
  return out;
}

describe('galen encryption rotate on a data folder stored in the clear', () => {
  const key = randomBytes(32).toString('base64');
  let dataDir: string;
  let csv: string;
  let onnx: Uint8Array;
  let wdbcRow: number[];
  const answers: Record<string, unknown> = {};
  let schemaBefore: unknown;

  const wdbcInputs = (row: number[]) => [{ name: 'features', datatype: 'FP32', shape: [1, 30], data: row }];

  async function predictions(server: TestServer): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const [model, inputs] of [
      ['wdbc', wdbcInputs(wdbcRow)],
      ['heart', clevelandInputs(patients)],
    ] as const) {
      const res = await server.call('POST', `/v2/models/${model}/infer`, { body: { inputs } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      out[model] = res.body.outputs;
    }
    return out;
  }

  const schemaOf = async (server: TestServer): Promise<unknown> => {
    const res = await server.call('POST', '/api/v1/datasets/heart/versions/1/schema', {
      body: { target: 'num' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };

  beforeAll(async () => {
    assertCliBuilt();
    dataDir = await mkdtemp(join(tmpdir(), 'galen-rotate-'));
    const server = await createTestServer({ dataDir });
    try {
      const built = buildBreastCancerModel(await readWdbcCsv());
      onnx = built.onnx;
      wdbcRow = Array.from(built.test.features.subarray(0, 30));
      const upload = await server.call('POST', '/api/v1/models/wdbc/versions', { body: onnx });
      expect(upload.status, JSON.stringify(upload.body)).toBe(201);
      csv = await uploadHeart(server);
      await trainHeart(server, 'heart');
      Object.assign(answers, await predictions(server));
      schemaBefore = await schemaOf(server);
    } finally {
      await server.close();
    }
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts from model files and datasets stored in the clear', async () => {
    const stored = await Promise.all((await artifactFiles(dataDir)).map((f) => readFile(f)));
    expect(stored).toHaveLength(3); // wdbc, the heart dataset, the trained heart model
    expect(stored.some((b) => b.equals(Buffer.from(onnx)))).toBe(true);
    expect(stored.some((b) => b.toString('utf8') === csv)).toBe(true);
  });

  it('encrypts every artifact in place, after which a server with the key serves as before', async () => {
    const run = await runCli(['--json', 'encryption', 'rotate'], dataDir, 60_000, { GALEN_MASTER_KEY: key });
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as { artifacts: Record<string, number>; explainers: number };
    expect(result.artifacts).toEqual({ encrypted: 3, rewrapped: 0, unchanged: 0 });
    expect(result.explainers).toBeGreaterThanOrEqual(1); // the trained model's explainer and profile

    const needles = [
      Buffer.from(onnx).subarray(Math.floor(onnx.length / 2), Math.floor(onnx.length / 2) + 64),
      ...csv
        .split('\n')
        .slice(1, 20)
        .map((line) => Buffer.from(line.trim())),
    ];
    const files = await artifactFiles(dataDir);
    expect(files).toHaveLength(3);
    for (const file of files) {
      const bytes = await readFile(file);
      expect(bytes.subarray(0, MAGIC.length).equals(MAGIC), `${file} is sealed`).toBe(true);
      for (const needle of needles) expect(bytes.includes(needle), `${file} holds clear bytes`).toBe(false);
    }
    // Without the key the files cannot be read at all.
    const sha256 = files[0]!.split('/').at(-1)!;
    await expect(new LocalArtifactStore(dataDir).readVerified(sha256)).rejects.toThrow(
      /is encrypted, and no master key is configured/,
    );

    const server = await createTestServer({
      dataDir,
      config: { encryption: { masterKey: key, previousKeys: [] } },
    });
    try {
      expect(await predictions(server)).toEqual(answers);
      expect(await schemaOf(server)).toEqual(schemaBefore);
      const explained = await server.call('POST', '/v2/models/heart/explain', {
        body: { inputs: clevelandInputs(patients.slice(0, 1)) },
      });
      expect(explained.status, JSON.stringify(explained.body)).toBe(200);
      // A second run finds everything under the current key.
      const again = await runCli(['--json', 'encryption', 'rotate'], dataDir, 60_000, {
        GALEN_MASTER_KEY: key,
      });
      expect(again.code, again.stderr).toBe(0);
      expect((JSON.parse(again.stdout) as { artifacts: unknown }).artifacts).toEqual({
        encrypted: 0,
        rewrapped: 0,
        unchanged: 3,
      });
    } finally {
      await server.close();
    }
  });
});
