/**
 * A tabular pipeline compiled by `compileTabularPipeline` registers through the native API and serves
 * over OIP JSON from raw columns (numbers and category strings), returning what the TypeScript
 * reference `predictPipeline` computes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineSpec } from '../../src/core/index.js';
import { compileTabularPipeline } from '../../src/onnx/index.js';
import { predictPipeline } from '../../src/training/index.js';
import { createTestServer, maxAbsDiff } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { uploadModel } from '../helpers/tiny-models.js';

const SPEC: PipelineSpec = {
  features: [
    {
      kind: 'numeric',
      column: 'age',
      impute: 60,
      missingIndicator: true,
      clip: { low: 18, high: 90 },
      offset: 60,
      scale: 0.1,
    },
    { kind: 'categorical', column: 'ward', categories: ['icu', 'er', 'general'] },
  ],
  model: {
    type: 'linear',
    task: 'classification',
    classes: ['survived', 'died'],
    coefficients: [[0.9, 1.5, 1.2, -0.4, -0.8]],
    intercepts: [-0.7],
  },
};
const AGE = [45, 101, 12, 70];
// '' is missing and 'ICU' is unseen: both encode as all zeros.
const WARD = ['icu', 'general', '', 'ICU'];

describe('tabular pipeline served over OIP', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await createTestServer();
  });
  afterAll(async () => server.close());

  it('registers with one input per column and answers label and probabilities', async () => {
    const version = await uploadModel(server, 'sepsis-pipeline', compileTabularPipeline(SPEC));
    expect(version.signature.inputs).toEqual([
      expect.objectContaining({ name: 'age', datatype: 'FP32', shape: [-1, 1] }),
      expect.objectContaining({ name: 'ward', datatype: 'BYTES', shape: [-1, 1] }),
    ]);

    const res = await server.call('POST', '/v2/models/sepsis-pipeline/infer', {
      body: {
        inputs: [
          { name: 'age', datatype: 'FP32', shape: [4, 1], data: AGE },
          { name: 'ward', datatype: 'BYTES', shape: [4, 1], data: WARD },
        ],
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const expected = predictPipeline(SPEC, { age: AGE, ward: WARD });
    const byName = Object.fromEntries(res.body.outputs.map((o: any) => [o.name, o]));
    expect(byName.label).toMatchObject({ datatype: 'BYTES', shape: [4], data: expected.labels });
    expect(byName.probabilities).toMatchObject({ datatype: 'FP32', shape: [4, 2] });
    const flat = expected.probabilities!.flatMap((p) => [...p]);
    expect(maxAbsDiff(byName.probabilities.data, flat)).toBeLessThanOrEqual(1e-5);
  });
});
