/**
 * Treatment recommendation end to end on the MIMIC-III demo: prescriptions, diagnoses and
 * admissions uploaded as datasets; a job trains the hybrid recommender (diagnoses, their ICD-9
 * categories and the admission type describe an admission; route and type describe a drug) and
 * evaluates its compiled graph against popularity and item-kNN on held-out prescriptions; the
 * served version answers top-k drugs with exclusions (already prescribed, contraindicated) stated.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForJob } from '../helpers/pytorch.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { dataUrl } from '../helpers/data.js';

const EHR = dataUrl('ehr/');

describe('treatment recommendation', () => {
  let server: TestServer;
  let job: any;
  beforeAll(async () => {
    server = await createTestServer();
    for (const [name, file] of [
      ['prescriptions', 'PRESCRIPTIONS'],
      ['diagnoses', 'DIAGNOSES_ICD'],
      ['admissions', 'ADMISSIONS'],
    ]) {
      const body = await readFile(new URL(`mimic3_demo_${file}.csv`, EHR), 'utf8');
      const res = await server.call('POST', `/api/v1/datasets/${name}`, { body, contentType: 'text/csv' });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    const submitted = await server.call('POST', '/api/v1/jobs', {
      body: {
        model: 'drug-rec',
        dataset: 'prescriptions',
        target: 'DRUG',
        recommender: {
          user: 'HADM_ID',
          userFeatures: [
            { dataset: 'diagnoses', key: 'HADM_ID', feature: 'ICD9_CODE', prefix: 'dx:' },
            { dataset: 'diagnoses', key: 'HADM_ID', feature: 'ICD9_CODE', prefix: 'dx3:', truncate: 3 },
            { dataset: 'admissions', key: 'HADM_ID', feature: 'ADMISSION_TYPE', prefix: 'admission:' },
          ],
          itemFeatures: [
            { dataset: 'prescriptions', key: 'DRUG', feature: 'ROUTE', prefix: 'route:' },
            { dataset: 'prescriptions', key: 'DRUG', feature: 'DRUG_TYPE', prefix: 'type:' },
          ],
          contraindications: [{ when: 'dx:2767', items: ['potassium chloride'], reason: 'hyperkalaemia' }],
        },
      },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    job = await waitForJob(server, submitted.body.id);
  }, 300_000);
  afterAll(() => server.close());

  it('ranks held-out prescriptions better than popularity, evaluated by the served graph', async () => {
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    const version = (await server.call('GET', '/api/v1/models/drug-rec/versions/1')).body;
    const { test, baselines, evaluatedOn } = version.metrics;
    expect(test.users).toBeGreaterThan(100);
    expect(test['precision@5']).toBeGreaterThan(baselines.popularity['precision@5']);
    expect(test['ndcg@10']).toBeGreaterThan(baselines.popularity['ndcg@10']);
    expect(test.auc).toBeGreaterThan(baselines.popularity.auc);
    expect(baselines.itemKnn['precision@5']).toBeGreaterThan(0);
    expect(evaluatedOn).toMatch(/held-out interactions .* ranked by the compiled ONNX in Galen's runtime/);
    const meta = (await server.call('GET', '/v2/models/drug-rec')).body;
    expect(meta.inputs).toEqual([{ name: 'features', datatype: 'BYTES', shape: [-1, -1] }]);
    expect(meta.outputs[0]).toMatchObject({ name: 'scores', datatype: 'FP32' });
  });

  it('recommends for a new patient, applying and stating the exclusions after scoring', async () => {
    const service = await server.key('service');
    const patient = {
      id: 'bed-12',
      features: ['dx:5849', 'dx3:584', 'dx:4280', 'dx3:428', 'admission:EMERGENCY', 'dx:not-a-code'],
      exclude: ['potassium chloride'],
      contraindicated: [{ items: ['morphine sulfate'], reason: 'documented allergy' }],
    };
    const top = await server.call('POST', '/v2/models/drug-rec/recommend', {
      key: service,
      body: { patients: [patient], k: 5 },
    });
    expect(top.status, JSON.stringify(top.body)).toBe(200);
    const answer = top.body.patients[0];
    expect(answer.id).toBe('bed-12');
    expect(answer.recommendations).toHaveLength(5);
    expect(answer.recommendations.map((r: any) => r.rank)).toEqual([1, 2, 3, 4, 5]);
    const scores = answer.recommendations.map((r: any) => r.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(answer.unknownFeatures).toEqual(['dx:not-a-code']);
    // Every item, so each rule shows: ruled-out items are listed with their reason and never recommended.
    const all = await server.call('POST', '/v2/models/drug-rec/recommend', {
      key: service,
      body: { patients: [patient], k: 100 },
    });
    const everything = all.body.patients[0];
    const excluded = Object.fromEntries(everything.excluded.map((e: any) => [e.item, e.reason]));
    expect(excluded['potassium chloride']).toBe('already prescribed');
    expect(excluded['morphine sulfate']).toBe('contraindicated: documented allergy');
    const recommended = everything.recommendations.map((r: any) => r.item);
    for (const item of ['potassium chloride', 'morphine sulfate']) expect(recommended).not.toContain(item);
    expect(all.body.rules).toEqual({ contraindications: 1 });
    // The patient has no hyperkalaemia: the version's own rule does not apply.
    const other = await server.call('POST', '/v2/models/drug-rec/recommend', {
      key: service,
      body: { patients: [{ features: ['dx:4280'] }], k: 100 },
    });
    expect(
      other.body.patients[0].excluded.some((e: any) => e.reason.startsWith('contraindicated with')),
    ).toBe(false);
  });

  it("applies the version's contraindications to patients with the feature", async () => {
    // Potassium chloride is the most prescribed drug in the data: among the top 100 of ~570 unless a rule removes it.
    const plain = await server.call('POST', '/v2/models/drug-rec/recommend', {
      body: { patients: [{ features: ['dx3:276', 'admission:EMERGENCY'] }], k: 100 },
    });
    expect(plain.body.patients[0].recommendations.map((r: any) => r.item)).toContain('potassium chloride');
    const res = await server.call('POST', '/v2/models/drug-rec/recommend', {
      body: { patients: [{ features: ['dx:2767', 'dx3:276', 'admission:EMERGENCY'] }], k: 100 },
    });
    const p = res.body.patients[0];
    expect(p.recommendations.map((r: any) => r.item)).not.toContain('potassium chloride');
    expect(p.recommendations).toHaveLength(100);
    expect(p.excluded).toEqual([
      expect.objectContaining({
        item: 'potassium chloride',
        reason: 'contraindicated with dx:2767: hyperkalaemia',
      }),
    ]);
  });

  it("evaluates on held-out patients when asked, with a patient's admissions kept together", async () => {
    const submitted = await server.call('POST', '/api/v1/jobs', {
      body: {
        model: 'drug-rec-cold',
        dataset: 'prescriptions',
        target: 'DRUG',
        recommender: {
          user: 'HADM_ID',
          group: 'SUBJECT_ID',
          split: 'users',
          userFeatures: [
            { dataset: 'diagnoses', key: 'HADM_ID', feature: 'ICD9_CODE', prefix: 'dx3:', truncate: 3 },
          ],
        },
      },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    // The feature dataset is pinned to the version checked when the job was queued.
    expect(submitted.body.request.recommender.userFeatures[0].version).toBe(1);
    const done = await waitForJob(server, submitted.body.id);
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    const { metrics } = (await server.call('GET', '/api/v1/models/drug-rec-cold/versions/1')).body;
    expect(metrics.evaluatedOn).toMatch(/held-out users \(20% of "SUBJECT_ID" groups, each held out whole/);
    expect(metrics.test.users).toBeGreaterThan(10);
    const bad = await server.call('POST', '/api/v1/jobs', {
      body: {
        model: 'x',
        dataset: 'prescriptions',
        target: 'DRUG',
        recommender: { user: 'HADM_ID', group: 'PATIENT' },
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/has no column "PATIENT"/);
  });

  it('refuses what it cannot answer, in the OIP error format', async () => {
    const unknownItem = await server.call('POST', '/v2/models/drug-rec/recommend', {
      body: { patients: [{ features: ['dx:4280'], exclude: ['unobtainium'] }] },
    });
    expect(unknownItem.status, JSON.stringify(unknownItem.body)).toBe(400);
    expect(unknownItem.body.error).toMatch(/rules out "unobtainium", which drug-rec:1 does not recommend/);
    const tooMany = await server.call('POST', '/v2/models/drug-rec/recommend', {
      body: { patients: [{ features: [] }], k: 500 },
    });
    expect(tooMany.status, JSON.stringify(tooMany.body)).toBe(400);
    const auditor = await server.key('auditor');
    expect(
      (
        await server.call('POST', '/v2/models/drug-rec/recommend', {
          key: auditor,
          body: { patients: [{ features: [] }] },
        })
      ).status,
    ).toBe(403);
    // The scores are plain OIP too.
    const infer = await server.call('POST', '/v2/models/drug-rec/infer', {
      body: { inputs: [{ name: 'features', datatype: 'BYTES', shape: [1, 2], data: ['dx:4280', ''] }] },
    });
    expect(infer.status).toBe(200);
    expect(infer.body.outputs[0].shape[0]).toBe(1);
  });
});
