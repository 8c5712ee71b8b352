/**
 * Explanations end to end on the Cleveland heart data: models trained by jobs get an explainer
 * (background rows, global importance); `POST /v2/models/{m}/explain` answers Shapley values
 * that add up to the output minus the base value, and the exact linear and tree paths agree with
 * KernelSHAP run through the served graph. A model Galen did not train is explained by KernelSHAP
 * once given a background sample.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBreastCancerModel } from '../../src/demo/index.js';
import { CLEVELAND_INPUTS, clevelandInputs, trainHeart, uploadHeart } from '../helpers/cleveland.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { dataUrl } from '../helpers/data.js';

const COLUMNS = CLEVELAND_INPUTS;
const rowsAsInputs = clevelandInputs;

describe('explanations', () => {
  let server: TestServer;
  let rows: (number | null)[][];
  const explain = (model: string, inputs: unknown, parameters: Record<string, unknown> = {}) =>
    server.call('POST', `/v2/models/${model}/explain`, { body: { inputs, parameters } });
  const sum = (attributions: { shap: number }[]) => attributions.reduce((s, a) => s + a.shap, 0);

  beforeAll(async () => {
    server = await createTestServer({ withDemo: true });
    const csv = await uploadHeart(server);
    rows = csv
      .trim()
      .split('\n')
      .slice(1)
      .map((line) =>
        line
          .split(',')
          .slice(0, 13)
          .map((v) => (v === '?' ? null : Number(v))),
      );
    await trainHeart(server, 'heart-linear', 'logistic');
    await trainHeart(server, 'heart-trees', 'gbdt');
  });
  afterAll(async () => server.close());

  it('stores an explainer with global importance, and never shows its background rows', async () => {
    const view = (await server.call('GET', '/api/v1/models/heart-linear/versions/1/explainer')).body;
    expect(view).toMatchObject({
      schema: 'galen.explainer/1',
      players: COLUMNS,
      backgroundRows: 100,
      exactPath: 'linear',
      output: { tensor: 'probabilities', task: 'binary', classes: ['false', 'true'] },
    });
    expect(view.background).toBeUndefined();
    expect(view.pipeline).toBeUndefined();
    const { meanAbsShap, permutation } = view.importance;
    expect(Object.keys(meanAbsShap)).toEqual(COLUMNS);
    expect(permutation.metric).toBe('auroc');
    expect(permutation.baseline).toBeGreaterThan(0.8);
    // Chest-pain type, vessels coloured and thal carry this data set; fasting sugar does not.
    const ranked = Object.entries(meanAbsShap as Record<string, number>).sort((a, b) => b[1] - a[1]);
    expect(ranked.slice(0, 5).map(([c]) => c)).toEqual(expect.arrayContaining(['ca']));
    expect(meanAbsShap.fbs).toBeLessThan(meanAbsShap.ca);
    expect((await server.call('GET', '/api/v1/models/heart-trees/versions/1/explainer')).body.exactPath).toBe(
      'trees',
    );
  });

  it('exact paths: values add up to output − base, and the output is the served log-odds', async () => {
    const gap = rows.findIndex((r) => r.includes(null));
    const picked = [rows[0]!, rows[1]!, rows[gap]!]; // the last has a missing value
    for (const model of ['heart-linear', 'heart-trees']) {
      const res = await explain(model, rowsAsInputs(picked));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({
        model_name: model,
        model_version: '1',
        method: model === 'heart-linear' ? 'linear' : 'trees',
        exact: true,
        output: { tensor: 'probabilities', explained: 'log-odds of P(true)' },
        settings: { backgroundRows: 100 },
      });
      const served = await server.call('POST', `/v2/models/${model}/infer`, {
        body: { inputs: rowsAsInputs(picked), outputs: [{ name: 'probabilities' }] },
      });
      res.body.explanations.forEach((e: any, i: number) => {
        expect(e.class).toBe('true');
        expect(e.attributions).toHaveLength(13);
        expect(Math.abs(sum(e.attributions) - (e.output - e.base))).toBeLessThan(1e-9);
        const p = served.body.outputs[0].data[i * 2 + 1];
        expect(Math.abs(e.output - Math.log(p / (1 - p)))).toBeLessThan(1e-4);
        const shap = e.attributions.map((a: any) => Math.abs(a.shap));
        expect(shap).toEqual([...shap].sort((a, b) => b - a)); // largest first
      });
      const missing = COLUMNS[rows[gap]!.indexOf(null)];
      expect(res.body.explanations[2].attributions.find((a: any) => a.name === missing).value).toBeNull();
      // Each value is given back as sent (oldpeak 2.3), not as its FP32 expansion 2.299999952316284.
      const sent = Object.fromEntries(COLUMNS.map((c, j) => [c, picked[0]![j]]));
      for (const a of res.body.explanations[0].attributions) expect(a.value).toBe(sent[a.name]);
      expect(sent['oldpeak']).toBe(2.3);
    }
  });

  it('exact paths agree with KernelSHAP through the served graph (every coalition, same background)', async () => {
    const row = rows[10]!;
    for (const model of ['heart-linear', 'heart-trees']) {
      const exact = (await explain(model, rowsAsInputs([row]))).body.explanations[0];
      const kernel = await explain(model, rowsAsInputs([row]), {
        method: 'kernel',
        max_coalitions: 8190,
        background_rows: 100,
      });
      expect(kernel.status, JSON.stringify(kernel.body)).toBe(200);
      expect(kernel.body).toMatchObject({
        method: 'kernel',
        exact: true,
        settings: { coalitions: 8190, backgroundRows: 100 },
      });
      const k = kernel.body.explanations[0];
      expect(Math.abs(k.base - exact.base)).toBeLessThan(1e-4);
      const byName = new Map(exact.attributions.map((a: any) => [a.name, a.shap]));
      // float32 graph vs float64 reference: agreement to 1e-4 log-odds per column.
      for (const a of k.attributions)
        expect(Math.abs(a.shap - (byName.get(a.name) as number))).toBeLessThan(1e-4);
      expect(Math.abs(sum(k.attributions) - (k.output - k.base))).toBeLessThan(1e-9);
    }
  });

  it('explains a model Galen did not train with KernelSHAP once it has a background sample', async () => {
    const csv = await readFile(dataUrl('clinical/breast_cancer_wdbc.csv'), 'utf8');
    const data = csv
      .trim()
      .split(/\r?\n/)
      .slice(1)
      .map((l) => l.split(',').slice(0, 30).map(Number));
    const tensor = (rs: number[][]) => [
      { name: 'features', datatype: 'FP32', shape: [rs.length, 30], data: rs.flat() },
    ];
    // The demo's graph registered again, as a model from elsewhere: no explainer until given a background.
    const built = buildBreastCancerModel(csv);
    const registered = await server.call('POST', '/api/v1/models/wdbc/versions', { body: built.onnx });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    const none = await explain('wdbc', tensor([data[40]!]));
    expect(none.status).toBe(412);
    expect(none.body.error).toMatch(/has no explainer.*PUT \/api\/v1\/models\/wdbc\/versions\/1\/explainer/);

    const names = csv.split(/\r?\n/)[0]!.split(',').slice(0, 30);
    const put = await server.call('PUT', '/api/v1/models/wdbc/versions/1/explainer', {
      body: { inputs: tensor(data.slice(0, 100)), names, classes: ['benign', 'malignant'] },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({
      players: names,
      backgroundRows: 100,
      exactPath: null,
      output: { task: 'binary' },
    });

    const res = await explain('wdbc', tensor([data[40]!]), {
      max_coalitions: 4096,
      background_rows: 100,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      method: 'kernel',
      exact: false,
      output: { explained: 'log-odds of P(malignant)' },
    });
    const e = res.body.explanations[0];
    expect(Math.abs(sum(e.attributions) - (e.output - e.base))).toBeLessThan(1e-9);
    expect(e.class).toBe('malignant');

    // The demo model is linear in its standardised inputs, so its true Shapley values are known:
    // w_j (x_j − mean of the background) / std_j. Sampled KernelSHAP estimates them.
    const { coefficients } = built;
    const background = data.slice(0, 100);
    const truth = names.map((name, j) => {
      const mean = background.reduce((s, r) => s + r[j]!, 0) / background.length;
      return [name, (coefficients.weights[j]! * (data[40]![j]! - mean)) / coefficients.stds[j]!] as const;
    });
    const scale = Math.max(...truth.map(([, v]) => Math.abs(v)));
    const estimated = new Map<string, number>(e.attributions.map((a: any) => [a.name, a.shap]));
    for (const [name, value] of truth)
      expect(Math.abs(estimated.get(name)! - value)).toBeLessThan(0.05 * scale);
    // The base is the mean served log-odds over the background. (A confident model's float32
    // probabilities hold log-odds only up to about ±16; KernelSHAP on them saturates there.)
    const served = await server.call('POST', '/v2/models/wdbc/infer', {
      body: { inputs: tensor(background), outputs: [{ name: 'probabilities' }] },
    });
    const p1 = served.body.outputs[0].data.filter((_: number, i: number) => i % 2 === 1);
    const clipped = p1.map((p: number) => Math.min(Math.max(p, 1e-7), 1 - 1e-7));
    const meanLogit = clipped.reduce((s: number, p: number) => s + Math.log(p / (1 - p)), 0) / p1.length;
    expect(e.base).toBeCloseTo(meanLogit, 6);
    const small = await explain('wdbc', tensor([data[40]!]), {
      max_coalitions: 64,
      background_rows: 10,
    });
    expect(small.body.settings).toMatchObject({
      coalitions: 64,
      backgroundRows: 10,
      modelRowsRun: 1 + 65 * 10,
    });

    // The demo's own breast-cancer model comes with a background of its training rows.
    const demo = await explain('breast-cancer', tensor([data[40]!]));
    expect(demo.status, JSON.stringify(demo.body)).toBe(200);
    expect(demo.body).toMatchObject({ method: 'kernel', settings: { backgroundRows: 50, coalitions: 2048 } });
    expect(demo.body.explanations[0].attributions.map((a: any) => a.name).sort()).toEqual([...names].sort());
  });

  it('refuses requests it cannot bound or read, saying why', async () => {
    const some = rowsAsInputs(rows.slice(0, 17));
    const tooMany = await explain('heart-linear', some);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error).toMatch(/1 to 16 rows at a time; this request has 17/);
    const huge = await explain('heart-linear', rowsAsInputs(rows.slice(0, 16)), {
      method: 'kernel',
      max_coalitions: 16384,
      background_rows: 100,
    });
    expect(huge.status).toBe(400);
    expect(huge.body.error).toMatch(/would run the model on \d+ rows .* the limit is 4000000/);
    const unknown = await explain('heart-linear', rowsAsInputs([rows[0]!]), { samples: 10 });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatch(/unknown explain parameter\(s\) samples/);
    const badClass = await explain('heart-linear', rowsAsInputs([rows[0]!]), { class: 'maybe' });
    expect(badClass.status).toBe(400);
    expect(badClass.body.error).toMatch(/class "maybe" is not one of "false", "true"/);
    const negative = await explain('heart-linear', rowsAsInputs([rows[0]!]), { class: 'false' });
    const positive = await explain('heart-linear', rowsAsInputs([rows[0]!]), {});
    expect(negative.body.output.explained).toBe('log-odds of P(false) (the negative class)');
    expect(negative.body.explanations[0].output).toBeCloseTo(-positive.body.explanations[0].output, 12);
    const missing = await explain('heart-linear', rowsAsInputs([rows[0]!]).slice(1));
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatch(/"age" is missing/);
  });
});
