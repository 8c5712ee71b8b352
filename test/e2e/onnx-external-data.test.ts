/**
 * A model file must not be able to read the server's files. ONNX tensors may keep their bytes in
 * "external data" files named by a relative path, which ONNX Runtime resolves against the server's
 * working folder; with the default data folder (`./.galen`) inside it, a model whose initializer
 * points at `.galen/admin.key` would hand the admin key back as an output. Galen refuses any model
 * with external data at registration, through every upload route, before ONNX Runtime sees it.
 */
/// <reference types="long" />
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';

const proto = onnxProto.onnx;
const SECRET = 'this-is-the-admin-key-of-the-server\n';

/**
 * Input `x` (FP32 [1]) → `y = Identity(x)`, and output `leak = Identity(secret)` where `secret` is a
 * UINT8 initializer whose bytes live in the external file `location`.
 */
function externalDataModel(location: string): Uint8Array {
  const fp32 = (name: string): onnxProto.onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: proto.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: 1 }] } } },
  });
  return proto.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'attacker',
    graph: {
      name: 'exfiltrate',
      input: [fp32('x')],
      output: [
        fp32('y'),
        {
          name: 'leak',
          type: {
            tensorType: {
              elemType: proto.TensorProto.DataType.UINT8,
              shape: { dim: [{ dimValue: SECRET.length }] },
            },
          },
        },
      ],
      initializer: [
        {
          name: 'secret',
          dataType: proto.TensorProto.DataType.UINT8,
          dims: [SECRET.length],
          dataLocation: proto.TensorProto.DataLocation.EXTERNAL,
          externalData: [
            { key: 'location', value: location },
            { key: 'offset', value: '0' },
            { key: 'length', value: String(SECRET.length) },
          ],
        },
      ],
      node: [
        { opType: 'Identity', input: ['x'], output: ['y'], name: 'pass' },
        { opType: 'Identity', input: ['secret'], output: ['leak'], name: 'copy' },
      ],
    },
  }).finish();
}

/** The same graph with the secret's bytes embedded (zeros): what registration accepts. */
function cleanTwin(): Uint8Array {
  const decoded = proto.ModelProto.decode(externalDataModel('unused'));
  const secret = decoded.graph!.initializer![0]!;
  secret.externalData = [];
  secret.dataLocation = proto.TensorProto.DataLocation.DEFAULT;
  secret.rawData = new Uint8Array(SECRET.length);
  return proto.ModelProto.encode(decoded).finish();
}

describe('models with external data', () => {
  const startedIn = process.cwd();
  let workDir: string;
  let server: TestServer;
  let developer: string;
  const model = externalDataModel('.galen/admin.key');

  beforeAll(async () => {
    // The layout of a default install: the server runs in a folder that holds `./.galen`.
    // (Vitest runs each test file in its own process, so changing folder here stays here.)
    workDir = await mkdtemp(join(tmpdir(), 'galen-cwd-'));
    process.chdir(workDir);
    server = await createTestServer({ dataDir: join(workDir, '.galen') });
    await writeFile(join(server.dataDir, 'admin.key'), SECRET, { mode: 0o600 });
    developer = await server.key('developer');
  });
  afterAll(async () => {
    await server.close();
    process.chdir(startedIn);
    await rm(workDir, { recursive: true, force: true });
  });

  const expectRefused = (res: { status: number; body: { error?: string } }): void => {
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error).toContain('tensor "secret"');
    expect(res.body.error).toContain('external data is not allowed');
    expect(res.body.error).toContain('embed');
    expect(JSON.stringify(res.body)).not.toContain(SECRET.trim());
  };

  const expectNothingStored = async (name: string): Promise<void> => {
    expect((await server.call('GET', `/api/v1/models/${name}`)).status).toBe(404);
    const artifacts = join(server.dataDir, 'artifacts');
    expect(await readdir(join(artifacts, 'sha256')).catch(() => [])).toEqual([]);
    expect(await readdir(join(artifacts, 'tmp')).catch(() => [])).toEqual([]);
  };

  it('refuses the upload through the native API with a 400 naming the tensor', async () => {
    const res = await server.call('POST', '/api/v1/models/leak/versions', { key: developer, body: model });
    expectRefused(res);
    await expectNothingStored('leak');
  });

  it('refuses the file in an OIP repository load', async () => {
    const res = await server.call('POST', '/v2/repository/models/leak2/load', {
      key: developer,
      body: { parameters: { 'file:1/model.onnx': Buffer.from(model).toString('base64') } },
    });
    expectRefused(res);
    await expectNothingStored('leak2');
  });

  it('does not load such a model stored before registration refused it (a data folder from an older Galen)', async () => {
    // A clean twin registers normally; then the stored version of an older Galen is written beside
    // it as that Galen would have: the file in the artifact store, a row naming it.
    const twin = await server.call('POST', '/api/v1/models/old/versions', {
      key: developer,
      body: cleanTwin(),
    });
    expect(twin.status, JSON.stringify(twin.body)).toBe(201);
    const staged = await server.galen.artifacts.stage(model);
    await staged.commit();
    const record = await server.galen.store.getVersion('old', 1);
    await server.galen.store.insertVersion({
      ...record!,
      version: 2,
      sha256: staged.sha256,
      sizeBytes: staged.sizeBytes,
    });

    const res = await server.call('POST', '/v2/models/old/versions/2/infer', {
      key: developer,
      body: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }] },
    });
    expect(JSON.stringify(res.body)).not.toContain(JSON.stringify([...Buffer.from(SECRET)]).slice(1, -1));
    expect(res.status, JSON.stringify(res.body)).toBe(412);
    expect(res.body.error).toContain('model "old" version 2');
    expect(res.body.error).toContain('external data is not allowed');
    // Its twin, without external data, still serves.
    const ok = await server.call('POST', '/v2/models/old/versions/1/infer', {
      key: developer,
      body: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }] },
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
  });
});
