/**
 * The native registry API, observability endpoints and the demo model over the real server.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WDBC_FEATURE_NAMES, parseWdbcCsv } from '../../src/demo/index.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { dataUrl } from '../helpers/data.js';

const onnx = new Uint8Array(readFileSync(new URL('../fixtures/pytorch/wdbc_mlp.onnx', import.meta.url)));
const wdbc = parseWdbcCsv(readFileSync(dataUrl('clinical/breast_cancer_wdbc.csv'), 'utf8'));

describe('native API and observability', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await createTestServer({ withDemo: true });
  });
  afterAll(async () => server.close());

  it('serves the demo model with held-out metrics and sensible probabilities for real rows', async () => {
    const model = await server.call('GET', '/api/v1/models/breast-cancer');
    expect(model.status).toBe(200);
    expect(model.body.aliases).toEqual({ production: 1 });
    const v1 = model.body.versions[0];
    expect(v1.metrics.test.auroc).toBeGreaterThan(0.97);
    expect(v1.lineage.datasetSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(v1.signature.inputs).toEqual([
      { name: 'features', datatype: 'FP32', shape: [-1, WDBC_FEATURE_NAMES.length] },
    ]);

    // Every 10th row (many of them held out): probabilities in [0,1] summing to 1, labels following them.
    const rows = wdbc.rows.filter((_, i) => i % 10 === 0);
    const res = await server.call('POST', '/v2/models/breast-cancer/infer', {
      body: {
        id: 'demo',
        inputs: [{ name: 'features', datatype: 'FP32', shape: [rows.length, 30], data: rows }],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe('demo');
    const [probs, labels] = res.body.outputs;
    let correct = 0;
    for (let i = 0; i < rows.length; i++) {
      const [benign, malignant] = [probs.data[2 * i], probs.data[2 * i + 1]];
      expect(benign + malignant).toBeCloseTo(1, 5);
      expect(labels.data[i]).toBe(malignant >= 0.5 ? 1 : 0);
      if (labels.data[i] === wdbc.labels.filter((_, j) => j % 10 === 0)[i]) correct++;
    }
    expect(correct / rows.length).toBeGreaterThan(0.9);
  });

  it('answers OIP server and model metadata, readiness and statistics', async () => {
    const meta = await server.call('GET', '/v2');
    expect(meta.body).toMatchObject({
      name: 'galen',
      extensions: expect.arrayContaining(['model_repository', 'statistics']),
    });
    const model = await server.call('GET', '/v2/models/breast-cancer/versions/production');
    expect(model.body).toMatchObject({
      name: 'breast-cancer',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
    });
    expect((await server.call('GET', '/v2/models/breast-cancer/ready')).status).toBe(200);
    expect((await server.call('GET', '/v2/models/breast-cancer/versions/1/ready')).status).toBe(200);
    expect((await server.call('GET', '/v2/models/breast-cancer/versions/9/ready')).status).toBe(404);
    const stats = await server.call('GET', '/v2/models/breast-cancer/versions/1/stats');
    const s = stats.body.model_stats[0];
    expect(s).toMatchObject({ name: 'breast-cancer', version: '1' });
    expect(s.execution_count).toBeGreaterThan(0);
    expect(s.inference_stats.compute_infer.ns).toBeGreaterThan(0);
  });

  it('registers, describes, archives and restores through the API', async () => {
    const up = await server.call(
      'POST',
      '/api/v1/models/reg-test/versions?description=first&parameters=%7B%22lr%22%3A0.1%7D&metrics=%7B%22auroc%22%3A0.9%7D',
      {
        body: onnx,
      },
    );
    expect(up.status).toBe(201);
    expect(up.body).toMatchObject({
      version: 1,
      description: 'first',
      metrics: { auroc: 0.9 },
      lineage: { parameters: { lr: 0.1 } },
    });
    // The same bytes again are the version they already are (a retried upload makes no duplicate).
    const again = await server.call('POST', '/api/v1/models/reg-test/versions', { body: onnx });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ version: 1, alreadyRegistered: true });
    const changed = Uint8Array.from([...onnx, 0x32, 0x00]); // the same graph with an empty doc_string appended
    expect(
      (await server.call('POST', '/api/v1/models/reg-test/versions', { body: changed })).body.version,
    ).toBe(2);

    const patched = await server.call('PATCH', '/api/v1/models/reg-test', {
      body: { description: 'd', tags: { team: 'icu' } },
    });
    expect(patched.body).toMatchObject({ description: 'd', tags: { team: 'icu' }, latestVersion: 2 });

    // Without production, calls go to the latest version that is not archived.
    expect((await server.call('POST', '/api/v1/models/reg-test/versions/2/archive')).body.archived).toBe(
      true,
    );
    const meta = await server.call('GET', '/v2/models/reg-test');
    expect(meta.body.versions).toEqual(['1']);
    const archivedInfer = await server.call('GET', '/v2/models/reg-test/versions/2');
    expect(archivedInfer.status).toBe(404);
    expect(archivedInfer.body.error).toMatch(/archived/);
    expect((await server.call('POST', '/api/v1/models/reg-test/versions/2/restore')).body.archived).toBe(
      false,
    );

    expect((await server.call('POST', '/api/v1/models/reg-test/archive')).body.archived).toBe(true);
    expect((await server.call('GET', '/api/v1/models')).body.models.map((m: any) => m.name)).not.toContain(
      'reg-test',
    );
    expect(
      (await server.call('GET', '/api/v1/models?archived=true')).body.models.map((m: any) => m.name),
    ).toContain('reg-test');
    expect((await server.call('POST', '/api/v1/models/reg-test/versions', { body: onnx })).status).toBe(409);
    expect((await server.call('POST', '/api/v1/models/reg-test/restore')).status).toBe(200);
  });

  it('refuses malformed registry calls with messages that say what is allowed', async () => {
    const wrongType = await server.call('POST', '/api/v1/models/m/versions', {
      body: 'x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(wrongType.status).toBe(400);
    const badName = await server.call('POST', '/api/v1/models/bad%20name/versions', { body: onnx });
    expect(badName.status).toBe(400);
    expect(badName.body).toMatchObject({
      code: 'invalid_input',
      error: expect.stringMatching(/names are 1-128 characters/),
    });
    const badParams = await server.call('POST', '/api/v1/models/m/versions?parameters=nope', { body: onnx });
    expect(badParams.body.error).toMatch(/"parameters" must be a JSON object/);
    // Bodies are never coerced: "1" is not a version number.
    const coerced = await server.call('PUT', '/api/v1/models/breast-cancer/aliases/staging', {
      body: { version: '1' },
    });
    expect(coerced.status).toBe(400);
    const numeric = await server.call('PUT', '/api/v1/models/breast-cancer/aliases/42', {
      body: { version: 1 },
    });
    expect(numeric.body.error).toMatch(/may not be all digits/);
    const missing = await server.call('PUT', '/api/v1/models/breast-cancer/aliases/staging', {
      body: { version: 5 },
    });
    expect(missing.status).toBe(404);
  });

  it('publishes Prometheus metrics and an OpenAPI document', async () => {
    await server.call('POST', '/v2/models/breast-cancer/infer', {
      body: { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 30], data: wdbc.rows[0] }] },
    });
    const metrics = await server.call('GET', '/metrics');
    expect(metrics.headers.get('content-type')).toMatch(/text\/plain/);
    const text = metrics.body as string;
    expect(text).toMatch(
      /galen_inference_requests_total\{model="breast-cancer",version="1",protocol="oip-http",outcome="success"\} \d+/,
    );
    expect(text).toContain(
      'galen_inference_compute_duration_seconds_bucket{le="0.001",model="breast-cancer",version="1"}',
    );
    expect(text).toContain('galen_inference_queue_duration_seconds_count{model="breast-cancer",version="1"}');
    expect(text).toMatch(/galen_models_loaded [1-9]/);

    const openapi = await server.call('GET', '/api/v1/openapi.json');
    expect(openapi.body.openapi).toBe('3.1.0');
    expect(Object.keys(openapi.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/models',
        '/api/v1/models/{model}/versions',
        '/api/v1/models/{model}/aliases/{alias}',
        '/api/v1/keys',
        '/api/v1/audit/verify',
      ]),
    );
  });
});
