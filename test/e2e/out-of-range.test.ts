/**
 * Answers say when a numeric input lies outside what a model trained by Galen saw: the version
 * records each numeric input's training range (lineage `trainingRanges`, the card's "Training
 * range"), and an OIP answer carries the response parameter `out_of_range`, the FHIR
 * RiskAssessment a note, the CDS card that note with its indicator raised to at least `warning`.
 * A model uploaded from elsewhere has no ranges and its answers carry nothing. Real server with the
 * demo models (heart-disease is trained from the Cleveland table at start).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEART_DEMO_MODEL, loadDemoCdsClient } from '../../src/demo/index.js';
import { signCdsClientJwt } from '../../src/security/index.js';
import { inferenceClient, unaryCall } from '../helpers/grpc-client.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { identityModel, uploadModel } from '../helpers/tiny-models.js';

type Range = { min: number; max: number };

describe('inputs outside the training range', () => {
  let server: TestServer;
  let age: Range;
  let ageText: string;
  const infer = (
    rows: { age: number; sex: number; trestbps: number; chol: number }[],
    model = HEART_DEMO_MODEL,
  ) =>
    server.call('POST', `/v2/models/${model}/infer`, {
      body: {
        inputs: (['age', 'sex', 'trestbps', 'chol'] as const).map((name) => ({
          name,
          datatype: 'FP32',
          shape: [rows.length, 1],
          data: rows.map((r) => r[name]),
        })),
      },
    });
  /** A Patient of `years` (and a month) today, as FHIR carries a birth date. */
  const patientAged = (years: number) => {
    const born = new Date();
    born.setUTCFullYear(born.getUTCFullYear() - years);
    born.setUTCMonth(born.getUTCMonth() - 1);
    return {
      resourceType: 'Patient',
      id: 'p1',
      gender: 'male',
      birthDate: born.toISOString().slice(0, 10),
    };
  };

  beforeAll(async () => {
    server = await createTestServer({ withDemo: true, grpc: true });
    const version = (await server.call('GET', `/api/v1/models/${HEART_DEMO_MODEL}/versions/1`)).body;
    age = version.lineage.parameters.trainingRanges.age;
    ageText = `${age.min}–${age.max}`;
  });
  afterAll(async () => server.close());

  it('records the numeric inputs’ training ranges with the version and shows them on its card', async () => {
    const version = (await server.call('GET', `/api/v1/models/${HEART_DEMO_MODEL}/versions/1`)).body;
    const ranges = version.lineage.parameters.trainingRanges;
    expect(Object.keys(ranges).sort()).toEqual(['age', 'chol', 'sex', 'trestbps']);
    // Cleveland's ages run from 29 to 77; the training rows are a share of them.
    expect(age.min).toBeGreaterThanOrEqual(29);
    expect(age.max).toBeLessThanOrEqual(77);
    expect(age.min).toBeLessThan(40);
    expect(age.max).toBeGreaterThan(65);

    const card = (await server.call('GET', `/api/v1/models/${HEART_DEMO_MODEL}/versions/1/card`)).body;
    const column = card.data.columns.find((c: { name: string }) => c.name === 'age');
    expect(column.trainingRange).toEqual(age);
    const markdown = (
      await server.call('GET', `/api/v1/models/${HEART_DEMO_MODEL}/versions/1/card?format=markdown`)
    ).body as string;
    expect(markdown).toContain('| Training range |');
    expect(markdown).toMatch(new RegExp(`\\| age \\| numeric \\| FP32 \\| [^|]+ \\| ${ageText} \\|`));
  });

  it('flags an out-of-range value in the OIP answer, and says nothing when every value is in range', async () => {
    const young = await infer([{ age: 17, sex: 1, trestbps: 130, chol: 240 }]);
    expect(young.status, JSON.stringify(young.body)).toBe(200);
    expect(young.body.parameters).toEqual({ out_of_range: `age=17 below training range ${ageText}` });

    const typical = await infer([{ age: 55, sex: 1, trestbps: 130, chol: 240 }]);
    expect(typical.status).toBe(200);
    expect(typical.body.parameters).toBeUndefined();

    // A batch names the rows (counted from 0), and never another row's values.
    const batch = await infer([
      { age: 55, sex: 1, trestbps: 130, chol: 240 },
      { age: 90, sex: 0, trestbps: 130, chol: 240 },
    ]);
    expect(batch.body.parameters).toEqual({ out_of_range: `row 1: age=90 above training range ${ageText}` });
    expect(batch.body.outputs.length).toBeGreaterThan(0);
  });

  it('flags it in the gRPC ModelInfer response parameters too', async () => {
    const client = inferenceClient(`127.0.0.1:${server.grpcPort}`);
    const values = { age: 17, sex: 1, trestbps: 130, chol: 240 };
    const request = {
      model_name: HEART_DEMO_MODEL,
      inputs: Object.keys(values).map((name) => ({ name, datatype: 'FP32', shape: ['1', '1'] })),
      raw_input_contents: Object.values(values).map((v) => Buffer.from(Float32Array.of(v).buffer)),
    };
    try {
      const response = await unaryCall(client, 'ModelInfer', request);
      expect(response.parameters.out_of_range).toMatchObject({
        string_param: `age=17 below training range ${ageText}`,
      });
    } finally {
      client.close();
    }
  });

  it('says nothing for a model uploaded from elsewhere (no training ranges)', async () => {
    await uploadModel(server, 'plain', identityModel('FP32', ['batch', 1]));
    const res = await server.call('POST', '/v2/models/plain/infer', {
      body: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [1e9] }] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.parameters).toBeUndefined();
  });

  it('notes it in the FHIR RiskAssessment', async () => {
    const res = await server.call('POST', `/fhir/Patient/$predict?model=${HEART_DEMO_MODEL}`, {
      body: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: patientAged(17) }] },
      contentType: 'application/fhir+json',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const notes: string[] = res.body.note.map((n: { text: string }) => n.text);
    expect(notes).toContainEqual(expect.stringContaining(`age=17 below training range ${ageText}`));

    const adult = await server.call('POST', `/fhir/Patient/$predict?model=${HEART_DEMO_MODEL}`, {
      body: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: patientAged(55) }] },
      contentType: 'application/fhir+json',
    });
    expect(adult.status).toBe(200);
    expect(JSON.stringify(adult.body.note ?? [])).not.toContain('training range');
  });

  it('raises the CDS card to a warning that names the value and the training range', async () => {
    const demo = await loadDemoCdsClient(server.dataDir);
    const path = `/cds-services/${HEART_DEMO_MODEL}--production`;
    const call = async (years: number) => {
      const token = await signCdsClientJwt(demo.key, { iss: demo.iss, aud: server.url + path });
      const res = await server.call('POST', path, {
        key: token,
        body: {
          hook: 'patient-view',
          hookInstance: crypto.randomUUID(),
          context: { userId: 'Practitioner/1', patientId: 'p1' },
          prefetch: {
            patient: patientAged(years),
            observations: { resourceType: 'Bundle', type: 'searchset', entry: [] },
          },
        },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.cards[0];
    };
    const young = await call(17);
    expect(young.indicator).toBe('warning');
    expect(young.detail).toContain(`Outside the training data: age=17 below training range ${ageText}`);
    // A 17-year-old's predicted risk alone is below the warning threshold: the range raised it.
    expect(Number(young.summary.match(/^(\d+)%/)![1])).toBeLessThan(30);

    const adult = await call(40);
    expect(adult.detail).not.toContain('training range');
  });
});
