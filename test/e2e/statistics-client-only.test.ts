/**
 * The statistics extension describes client traffic, as Triton's does: `inference_count` counts
 * the rows clients sent and `execution_count` the runs made for them. Galen's own runs for an
 * explanation (KernelSHAP: hundreds of perturbed rows per explained row) share the session but
 * are not counted there. Real server, real ONNX Runtime, the WDBC graph registered as a model
 * from elsewhere so that it is explained through the served graph.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBreastCancerModel } from '../../src/demo/index.js';
import { dataUrl } from '../helpers/data.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';

describe('model statistics count client requests only', () => {
  let server: TestServer;
  let rows: number[][];
  const tensor = (rs: number[][]) => [
    { name: 'features', datatype: 'FP32', shape: [rs.length, 30], data: rs.flat() },
  ];
  const stats = async (): Promise<{ inference_count: number; execution_count: number }> => {
    const res = await server.call('GET', '/v2/models/wdbc/versions/1/stats');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.model_stats[0];
  };

  beforeAll(async () => {
    server = await createTestServer();
    const csv = await readFile(dataUrl('clinical/breast_cancer_wdbc.csv'), 'utf8');
    const lines = csv.trim().split(/\r?\n/);
    rows = lines.slice(1).map((l) => l.split(',').slice(0, 30).map(Number));
    const registered = await server.call('POST', '/api/v1/models/wdbc/versions', {
      body: buildBreastCancerModel(csv).onnx,
    });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    const put = await server.call('PUT', '/api/v1/models/wdbc/versions/1/explainer', {
      body: {
        inputs: tensor(rows.slice(0, 20)),
        names: lines[0]!.split(',').slice(0, 30),
        classes: ['benign', 'malignant'],
      },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
  });
  afterAll(async () => server.close());

  it('a KernelSHAP explanation leaves inference_count and execution_count as the clients made them', async () => {
    const before = await stats();
    const infer = await server.call('POST', '/v2/models/wdbc/infer', {
      body: { inputs: tensor(rows.slice(0, 3)) },
    });
    expect(infer.status, JSON.stringify(infer.body)).toBe(200);

    const explained = await server.call('POST', '/v2/models/wdbc/explain', {
      body: { inputs: tensor([rows[40]!]), parameters: { max_coalitions: 64, background_rows: 10 } },
    });
    expect(explained.status, JSON.stringify(explained.body)).toBe(200);
    expect(explained.body).toMatchObject({ method: 'kernel', settings: { modelRowsRun: 1 + 65 * 10 } });

    const after = await stats();
    expect(after.inference_count - before.inference_count).toBe(3);
    expect(after.execution_count - before.execution_count).toBe(1);
  });
});
