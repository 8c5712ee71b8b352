/**
 * A training run through the real services: a stored clinical dataset → trained pipeline → one
 * ONNX graph evaluated by Galen's runtime → a registered version that serves over OIP with one
 * input per column. A run that fails registers nothing.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/core/index.js';
import { trainModel } from '../../src/jobs/index.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';

const DATA = new URL('../../../shared/data/clinical/', import.meta.url);
const ADMIN: Actor = { keyId: 'test', role: 'admin' };

describe('trainModel', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await createTestServer();
    const body = await readFile(new URL('hospital_readmissions.csv', DATA));
    const res = await server.call('POST', '/api/v1/datasets/readmissions', { body, contentType: 'text/csv' });
    expect(res.status).toBe(201);
  });
  afterAll(async () => server.close());

  const deps = () => ({
    datasets: server.galen.datasets,
    registry: server.galen.registry,
    runtime: server.galen.runtime,
    artifacts: server.galen.artifacts,
  });

  for (const modelKind of ['gbdt', 'logistic'] as const) {
    it(`trains ${modelKind} on readmissions, evaluates the compiled graph, registers and serves it`, async () => {
      const { version, metrics } = await trainModel(
        deps(),
        {
          model: `readmit-${modelKind}`,
          dataset: 'readmissions',
          target: 'readmitted',
          positive: 'yes',
          modelKind,
          sensitive: 'age',
        },
        ADMIN,
      );
      const dataset = (await server.call('GET', '/api/v1/datasets/readmissions/versions/1')).body;
      expect(version.lineage.datasetSha256).toBe(dataset.sha256);
      expect(version.lineage.parameters).toMatchObject({
        dataset: 'readmissions:1',
        target: 'readmitted',
        model: modelKind,
        seed: 42,
        classes: ['no', 'yes'],
      });
      const test = metrics['test'] as Record<string, number>;
      expect(test['n']).toBe(5000);
      expect(test['auroc']).toBeGreaterThan(0.6);
      expect(metrics['parityMaxAbsDiff']).toBeLessThan(1e-5);
      expect((metrics['report'] as any).auroc.ci95.low).toBeLessThan(test['auroc']!);
      // Per age band, on the same held-out rows: the group sizes add up to the whole.
      const groups = metrics['subgroups'] as Record<string, { n: number; report?: any }>;
      expect(Object.keys(groups)).toEqual([
        '[40-50)',
        '[50-60)',
        '[60-70)',
        '[70-80)',
        '[80-90)',
        '[90-100)',
      ]);
      expect(Object.values(groups).reduce((sum, g) => sum + g.n, 0)).toBe(5000);
      expect(groups['[70-80)']!.report.auroc.value).toBeGreaterThan(0.5);

      // One input per column, [-1, 1]: FP32 for numbers, BYTES for categories.
      const meta = await server.call('GET', `/v2/models/readmit-${modelKind}`);
      expect(meta.body.inputs).toContainEqual({ name: 'age', datatype: 'BYTES', shape: [-1, 1] });
      expect(meta.body.inputs).toContainEqual({ name: 'n_medications', datatype: 'FP32', shape: [-1, 1] });
      const patient: Record<string, string | number | null> = {
        age: '[70-80)',
        time_in_hospital: 6,
        n_lab_procedures: 72,
        n_procedures: 5,
        n_medications: 20,
        n_outpatient: 0,
        n_inpatient: 2,
        n_emergency: null,
        medical_specialty: 'Cardiology',
        diag_1: 'Circulatory',
        diag_2: 'Diabetes',
        diag_3: 'Circulatory',
        glucose_test: 'no',
        A1Ctest: 'high',
        change: 'no',
        diabetes_med: 'yes',
      };
      const inputs = meta.body.inputs.map((i: any) => ({
        name: i.name,
        datatype: i.datatype,
        shape: [1, 1],
        data: [patient[i.name] ?? null],
      }));
      const res = await server.call('POST', `/v2/models/readmit-${modelKind}/infer`, { body: { inputs } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const out = Object.fromEntries(res.body.outputs.map((o: any) => [o.name, o]));
      expect(out['label'].data[0]).toMatch(/^(no|yes)$/);
      const [pNo, pYes] = out['probabilities'].data;
      expect(pNo + pYes).toBeCloseTo(1, 5);
      expect(out['label'].data[0]).toBe(pYes >= pNo ? 'yes' : 'no');
    }, 60_000);
  }

  it('trains a multiclass target and reports its held-out accuracy, macro F1 and log loss', async () => {
    const { version, metrics } = await trainModel(
      deps(),
      {
        model: 'specialty',
        dataset: 'readmissions',
        target: 'medical_specialty',
        modelKind: 'gbdt',
        options: { gbdt: { maxIterations: 15 } },
      },
      ADMIN,
    );
    expect(version.signature.outputs).toContainEqual({
      name: 'probabilities',
      datatype: 'FP32',
      shape: [-1, 7],
    });
    const test = metrics['test'] as Record<string, number>;
    expect(test['accuracy']).toBeGreaterThan(0.45); // "Missing" alone is ~49%; above chance (1/7) in any case
    expect(test['logLoss']).toBeGreaterThan(0);
    expect(metrics['parityMaxAbsDiff']).toBeLessThan(1e-5);
  }, 60_000);

  it('trains on a derived target (Cleveland "num > 0"), leaving the source column out of the inputs', async () => {
    const body = await readFile(new URL('heart_cleveland.csv', DATA));
    expect(
      (await server.call('POST', '/api/v1/datasets/cleveland', { body, contentType: 'text/csv' })).status,
    ).toBe(201);
    const { version, metrics } = await trainModel(
      deps(),
      { model: 'heart-any', dataset: 'cleveland', target: 'num > 0', modelKind: 'logistic' },
      ADMIN,
    );
    expect(version.lineage.parameters).toMatchObject({ target: 'num > 0', classes: ['false', 'true'] });
    expect(version.signature.inputs.map((i) => i.name)).not.toContain('num');
    expect(version.signature.inputs).toHaveLength(13);
    expect((metrics['test'] as Record<string, number>)['auroc']).toBeGreaterThan(0.85);
    const card = await server.galen.registry.getModelCard('heart-any', version.version);
    expect(card['details']).toMatchObject({ target: 'num > 0', positiveClass: 'true' });
  }, 60_000);

  it('registers nothing when the run cannot be done, and says why', async () => {
    await expect(
      trainModel(
        deps(),
        { model: 'nope', dataset: 'readmissions', target: 'no_such', modelKind: 'gbdt' },
        ADMIN,
      ),
    ).rejects.toThrow(/"no_such"/);
    await expect(
      trainModel(
        deps(),
        { model: 'nope', dataset: 'readmissions', target: 'readmitted', modelKind: 'gbdt', sensitive: 'sex' },
        ADMIN,
      ),
    ).rejects.toThrow(/the sensitive column "sex" is not in the data/);
    await expect(
      trainModel(
        deps(),
        {
          model: 'nope',
          dataset: 'readmissions',
          target: 'readmitted',
          positive: 'maybe',
          modelKind: 'gbdt',
        },
        ADMIN,
      ),
    ).rejects.toThrow(/"maybe" is not a value of target "readmitted"/);
    await expect(
      trainModel(
        deps(),
        { model: 'nope', dataset: 'readmissions', target: 'readmitted', modelKind: 'gbdt' },
        { keyId: 's', role: 'service' },
      ),
    ).rejects.toMatchObject({ code: 'forbidden' });
    expect((await server.call('GET', '/api/v1/models/nope')).status).toBe(404);
  });
});
