/**
 * `--model mlp` end to end: the Cleveland heart-disease table (with `cp` declared categorical, so
 * the served graph takes text too) trained as a job by the PyTorch backend's MLP on the design
 * matrix of preprocessing fitted in TypeScript, compiled into one graph with one input per column,
 * checked against PyTorch (which also checks the compiled preprocessing), evaluated and served.
 *
 * Training needs the PyTorch backend: without it that test is skipped (the run ends by listing it),
 * unless GALEN_REQUIRE_PYTORCH=1 (CI sets it). The refusal needs no backend and always runs.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { itWithPyTorch, pytorchForTests, waitForJob } from '../helpers/pytorch.js';
import { dataUrl } from '../helpers/data.js';

const CLINICAL = dataUrl('clinical/');
const pytorch = await pytorchForTests();

describe('tabular MLP (PyTorch backend)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await createTestServer();
    const res = await server.call('POST', '/api/v1/datasets/heart', {
      body: await readFile(new URL('heart_cleveland.csv', CLINICAL)),
      contentType: 'text/csv',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });
  afterAll(async () => server?.close());

  itWithPyTorch(
    pytorch,
    'trains an MLP served with one input per column, matching PyTorch',
    async () => {
      const submitted = await server.call('POST', '/api/v1/jobs', {
        body: {
          model: 'heart-mlp',
          dataset: 'heart',
          target: 'num > 0',
          modelKind: 'mlp',
          overrides: { cp: { kind: 'categorical' } },
          sensitive: 'sex',
          deep: { epochs: 30, network: { hidden: 16, layers: 1 } },
        },
      });
      expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
      const job = await waitForJob(server, submitted.body.id);
      expect(job.error).toBeNull();
      const version = (await server.call('GET', '/api/v1/models/heart-mlp/versions/1')).body;
      expect(version.metrics.parityMaxAbsDiff).toBeLessThanOrEqual(1e-4);
      expect(version.metrics.test.n).toBe(61);
      expect(version.metrics.test.auroc).toBeGreaterThan(0.8);
      expect(Object.keys(version.metrics.subgroups).sort()).toEqual(['0', '1']); // the file writes 0.0 and 1.0
      const meta = (await server.call('GET', '/v2/models/heart-mlp')).body;
      const inputs = Object.fromEntries(meta.inputs.map((i: any) => [i.name, [i.datatype, i.shape]]));
      expect(inputs['age']).toEqual(['FP32', [-1, 1]]);
      expect(inputs['cp']).toEqual(['BYTES', [-1, 1]]);
      expect(inputs['num']).toBeUndefined();

      const row: Record<string, number | string | null> = {
        age: 63,
        sex: 1,
        cp: '4',
        trestbps: 145,
        chol: 233,
        fbs: 1,
        restecg: 2,
        thalach: 150,
        exang: 0,
        oldpeak: 2.3,
        slope: 3,
        ca: null,
        thal: 6,
      };
      const answer = await server.call('POST', '/v2/models/heart-mlp/infer', {
        body: {
          inputs: Object.entries(row).map(([name, value]) => ({
            name,
            datatype: typeof value === 'string' ? 'BYTES' : 'FP32',
            shape: [1, 1],
            data: [value],
          })),
        },
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(['false', 'true']).toContain(answer.body.outputs.find((o: any) => o.name === 'label').data[0]);
      const card = (await server.call('GET', '/api/v1/models/heart-mlp/versions/1/card')).body;
      expect(card.details.algorithm).toBe('multilayer perceptron');
      expect(card.data.columns.find((c: any) => c.name === 'cp').input).toBe('BYTES');
    },
    600_000,
  );

  it('refuses an mlp for a number to predict when it is submitted', async () => {
    const submitted = await server.call('POST', '/api/v1/jobs', {
      body: { model: 'chol-mlp', dataset: 'heart', target: 'chol', modelKind: 'mlp', deep: { epochs: 1 } },
    });
    expect(submitted.status).toBe(400);
    expect(submitted.body.error).toMatch(
      /the mlp predicts classes, and target "chol" is a number: use linear or gbdt/,
    );
  });
});
