/**
 * A model exported from PyTorch (opset 13, dynamic batch axis) uploaded through Triton's
 * repository `load` call and through the native API serves over OIP `infer` and returns what
 * PyTorch itself computed (fixtures made by test/fixtures/pytorch/export_mlp.py).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServer, maxAbsDiff } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';

interface TensorJson {
  name: string;
  shape: number[];
  data: number[];
}
interface Expected {
  opset: number;
  input: TensorJson;
  output: TensorJson;
  batch1: { input: TensorJson; output: TensorJson };
}

const fixture = (name: string): URL => new URL(`../fixtures/pytorch/${name}`, import.meta.url);
const onnxV1 = readFileSync(fixture('wdbc_mlp.onnx'));
const expectedV1 = JSON.parse(readFileSync(fixture('wdbc_mlp.expected.json'), 'utf8')) as Expected;
const expectedV2 = JSON.parse(readFileSync(fixture('wdbc_mlp_v2.expected.json'), 'utf8')) as Expected;
const onnxV2 = readFileSync(fixture('wdbc_mlp_v2.onnx'));

const inferBody = (t: TensorJson): unknown => ({
  inputs: [{ name: t.name, datatype: 'FP32', shape: t.shape, data: t.data }],
});

describe('PyTorch-exported model', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await createTestServer();
  });
  afterAll(async () => server.close());

  it('serves PyTorch outputs after an upload inside a repository load request', async () => {
    const load = await server.call('POST', '/v2/repository/models/wdbc-mlp/load', {
      body: { parameters: { 'file:1/model.onnx': onnxV1.toString('base64') } },
    });
    expect(load.status).toBe(200);
    expect(load.body.registered_version).toBe('1');

    const index = await server.call('POST', '/v2/repository/index', { body: {} });
    expect(index.body).toContainEqual({ name: 'wdbc-mlp', version: '1', state: 'READY', reason: '' });

    for (const { input, output } of [expectedV1, expectedV1.batch1]) {
      const res = await server.call('POST', '/v2/models/wdbc-mlp/infer', { body: inferBody(input) });
      expect(res.status).toBe(200);
      const out = res.body.outputs[0];
      expect(out.name).toBe('probabilities');
      expect(out.datatype).toBe('FP32');
      expect(out.shape).toEqual(output.shape);
      expect(maxAbsDiff(out.data, output.data)).toBeLessThanOrEqual(1e-5);
    }
  });

  it('serves PyTorch outputs after a native API upload, with the signature read from the file', async () => {
    const res = await server.call(
      'POST',
      '/api/v1/models/wdbc-mlp-native/versions?framework=pytorch&source=fixture',
      {
        body: new Uint8Array(onnxV1),
      },
    );
    expect(res.status).toBe(201);
    expect(res.body.version).toBe(1);
    expect(res.body.signature.inputs).toEqual([{ name: 'features', datatype: 'FP32', shape: [-1, 30] }]);
    expect(res.body.signature.outputs).toEqual([{ name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }]);
    expect(res.body.lineage.onnx.producerName).toBe('pytorch');
    expect(res.body.lineage.onnx.opsetImports).toContainEqual({ domain: '', version: expectedV1.opset });
    expect(res.body.lineage.framework).toBe('pytorch');

    const infer = await server.call('POST', '/v2/models/wdbc-mlp-native/versions/1/infer', {
      body: inferBody(expectedV1.input),
    });
    expect(infer.status).toBe(200);
    expect(infer.body.model_version).toBe('1');
    expect(maxAbsDiff(infer.body.outputs[0].data, expectedV1.output.data)).toBeLessThanOrEqual(1e-5);
  });

  it('keeps every in-flight request whole while production moves between versions', async () => {
    const model = 'switching';
    expect(
      (await server.call('POST', `/api/v1/models/${model}/versions`, { body: new Uint8Array(onnxV1) }))
        .status,
    ).toBe(201);
    expect(
      (await server.call('POST', `/api/v1/models/${model}/versions`, { body: new Uint8Array(onnxV2) }))
        .status,
    ).toBe(201);
    expect(
      (await server.call('PUT', `/api/v1/models/${model}/aliases/production`, { body: { version: 1 } }))
        .status,
    ).toBe(200);

    let stop = false;
    const seen = { 1: 0, 2: 0 } as Record<string, number>;
    const failures: unknown[] = [];
    const worker = async (): Promise<void> => {
      while (!stop) {
        const res = await server.call('POST', `/v2/models/${model}/infer`, {
          body: inferBody(expectedV1.input),
        });
        if (res.status !== 200) {
          failures.push(res.body);
          continue;
        }
        const version = res.body.model_version as string;
        const want = version === '1' ? expectedV1 : expectedV2;
        if (maxAbsDiff(res.body.outputs[0].data, want.output.data) > 1e-5)
          failures.push({ mismatch: version });
        seen[version] = (seen[version] ?? 0) + 1;
      }
    };
    const workers = Array.from({ length: 6 }, worker);
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setTimeout(r, 40));
      const res = await server.call('PUT', `/api/v1/models/${model}/aliases/production`, {
        body: { version: i % 2 === 0 ? 2 : 1 },
      });
      expect(res.status).toBe(200);
    }
    stop = true;
    await Promise.all(workers);
    expect(failures).toEqual([]);
    expect(seen['1']).toBeGreaterThan(0);
    expect(seen['2']).toBeGreaterThan(0);
  });
});
