/**
 * The HTTP edge as clients nobody here wrote drive it: Triton's HTTP client (repository calls
 * without a Content-Type, an index with an empty body), TF Serving's documented `curl -d` requests
 * (`application/x-www-form-urlencoded`), KServe's REST client (reads error text only under exactly
 * `application/json`), Prometheus' naming rules, and the edge's own refusals (long names, bad
 * %-encodings, unknown paths) answered in each protocol's format with a reason.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWdbcCsv } from '../../src/demo/index.js';
import { ADMIN_KEY, createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { identityModel, uploadModel } from '../helpers/tiny-models.js';
import { dataUrl } from '../helpers/data.js';

const wdbc = parseWdbcCsv(readFileSync(dataUrl('clinical/breast_cancer_wdbc.csv'), 'utf8'));

interface RawResult {
  status: number;
  type: string | null;
  text: string;
  body: any;
}

/**
 * A request sent byte for byte as given: `body` as a Buffer carries no Content-Type unless
 * `headers` names one (fetch adds none for bytes), and no body means `Content-Length: 0`.
 */
async function raw(
  server: TestServer,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<RawResult> {
  const response = await fetch(server.url + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, ...headers },
    ...(body !== undefined && { body: Buffer.from(body) }),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, type: response.headers.get('content-type'), text, body: parsed };
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('HTTP edge interoperability', () => {
  let server: TestServer;
  const row = (): number[] => wdbc.rows[0]!;
  const inferBody = (): string =>
    JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 30], data: row() }] });

  beforeAll(async () => {
    server = await createTestServer({ withDemo: true });
  });
  afterAll(async () => server.close());

  describe("Triton's HTTP client: repository calls without a Content-Type", () => {
    it('answers an index with no body, and with an empty JSON body, as an index of {}', async () => {
      for (const headers of [{}, { 'content-type': 'application/json' }]) {
        const res = await raw(server, 'POST', '/v2/repository/index', undefined, headers);
        expect(res.status, res.text).toBe(200);
        expect(res.body).toEqual(
          expect.arrayContaining([expect.objectContaining({ name: 'breast-cancer' })]),
        );
      }
      const ready = await raw(server, 'POST', '/v2/repository/index', '{"ready":true}');
      expect(ready.status, ready.text).toBe(200);
    });

    it('loads and unloads with a JSON body and no Content-Type, or with no body at all', async () => {
      const unload = await raw(server, 'POST', '/v2/repository/models/breast-cancer/unload', '{}');
      expect(unload.status, unload.text).toBe(200);
      const load = await raw(
        server,
        'POST',
        '/v2/repository/models/breast-cancer/load',
        '{"parameters":{"config":"{}"}}',
      );
      expect(load.status, load.text).toBe(200);
      expect(load.body.loaded_versions).toContain('1');
      const unloadEmpty = await raw(server, 'POST', '/v2/repository/models/breast-cancer/unload', '', {
        'content-type': 'application/json',
      });
      expect(unloadEmpty.status, unloadEmpty.text).toBe(200);
      const loadBare = await raw(server, 'POST', '/v2/repository/models/breast-cancer/load');
      expect(loadBare.status, loadBare.text).toBe(200);
    });

    it('infers from a JSON body with no Content-Type, and explains one', async () => {
      const res = await raw(server, 'POST', '/v2/models/breast-cancer/infer', inferBody());
      expect(res.status, res.text).toBe(200);
      expect(res.body.outputs.length).toBeGreaterThan(0);
      const explained = await raw(server, 'POST', '/v2/models/breast-cancer/explain', inferBody());
      expect(explained.status, explained.text).toBe(200);
    });

    it('still says what is missing when an inference body is empty', async () => {
      const res = await raw(server, 'POST', '/v2/models/breast-cancer/infer', '', {
        'content-type': 'application/json',
      });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/body is empty/);
    });
  });

  describe("TF Serving's documented requests (curl -d: application/x-www-form-urlencoded)", () => {
    it('predicts from a form-typed JSON body and from one with no Content-Type', async () => {
      const body = JSON.stringify({ instances: [{ features: row() }] });
      for (const headers of [FORM, {}]) {
        const res = await raw(server, 'POST', '/v1/models/breast-cancer:predict', body, headers);
        expect(res.status, res.text).toBe(200);
        expect(res.body.predictions).toHaveLength(1);
      }
    });

    it('takes a form-typed body on the OIP routes too', async () => {
      const res = await raw(server, 'POST', '/v2/models/breast-cancer/infer', inferBody(), FORM);
      expect(res.status, res.text).toBe(200);
    });

    it('says a form body is read as JSON when it is not JSON', async () => {
      const res = await raw(server, 'POST', '/v1/models/breast-cancer:predict', 'instances=1', FORM);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/not valid JSON/);
    });

    it('answers an unknown model with 404, as TF Serving does', async () => {
      const status = await raw(server, 'GET', '/v1/models/no-such-model');
      expect(status.status, status.text).toBe(404);
      expect(status.body.error).toMatch(/no-such-model/);
      const metadata = await raw(server, 'GET', '/v1/models/no-such-model/metadata');
      expect(metadata.status, metadata.text).toBe(404);
      const predict = await raw(
        server,
        'POST',
        '/v1/models/no-such-model:predict',
        JSON.stringify({ instances: [[1]] }),
        FORM,
      );
      expect(predict.status, predict.text).toBe(404);
      expect(Object.keys(predict.body)).toEqual(['error']);
    });
  });

  describe("KServe's REST client: exactly application/json", () => {
    it('sends error bodies and answers as exactly application/json', async () => {
      const oipError = await raw(server, 'POST', '/v2/models/no-such-model/infer', inferBody(), {
        'content-type': 'application/json',
      });
      expect(oipError.status).toBe(404);
      expect(oipError.type).toBe('application/json');
      const nativeError = await raw(server, 'GET', '/api/v1/models/no-such-model');
      expect(nativeError.type).toBe('application/json');
      const unauthorized = await fetch(`${server.url}/v2/models/breast-cancer`);
      expect(unauthorized.headers.get('content-type')).toBe('application/json');
      const ok = await raw(server, 'GET', '/v2/models/breast-cancer');
      expect(ok.status).toBe(200);
      expect(ok.type).toBe('application/json');
    });
  });

  describe('Prometheus names', () => {
    it('ends no gauge in _total, and every counter in _total', async () => {
      const text = (await raw(server, 'GET', '/metrics')).text;
      const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => ({ name, type }));
      expect(types.length).toBeGreaterThan(20);
      const gaugesNamedTotal = types.filter((t) => t.type === 'gauge' && t.name!.endsWith('_total'));
      expect(gaugesNamedTotal).toEqual([]);
      const countersWithoutTotal = types.filter((t) => t.type === 'counter' && !t.name!.endsWith('_total'));
      expect(countersWithoutTotal).toEqual([]);
      expect(text).toMatch(/^galen_process_nodejs_handles_active \d+$/m);
      expect(text).toMatch(/^galen_process_nodejs_requests_active \d+$/m);
    });
  });

  describe('refusals at the edge say what was wrong', () => {
    const longest = `m${'x'.repeat(127)}`;

    it('serves a model named with the longest name the rule allows, on every protocol', async () => {
      expect(longest).toHaveLength(128);
      await uploadModel(server, longest, identityModel('FP32'));
      const meta = await raw(server, 'GET', `/v2/models/${longest}`);
      expect(meta.status, meta.text).toBe(200);
      const infer = await raw(
        server,
        'POST',
        `/v2/models/${longest}/versions/1/infer`,
        JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] }),
      );
      expect(infer.status, infer.text).toBe(200);
      const tf = await raw(
        server,
        'POST',
        `/v1/models/${longest}/labels/latest:predict`,
        JSON.stringify({ instances: [[1, 2, 3]] }),
      );
      expect(tf.status, tf.text).not.toBe(414);
      const native = await raw(server, 'GET', `/api/v1/models/${longest}/versions/1`);
      expect(native.status, native.text).toBe(200);
    });

    it('refuses a longer path segment with the name rule, in the protocol format', async () => {
      const tooLong = `${longest}y`;
      const oip = await raw(server, 'GET', `/v2/models/${tooLong}`);
      expect(oip.status).toBe(400);
      expect(oip.type).toBe('application/json');
      expect(Object.keys(oip.body)).toEqual(['error']);
      expect(oip.body.error).toMatch(/longer than 128 characters/);
      const native = await raw(server, 'GET', `/api/v1/models/${tooLong}`);
      expect(native.status).toBe(400);
      expect(native.body.code).toBe('invalid_input');
      expect(native.body.error).toMatch(/names are 1-128 characters/);
    });

    it('refuses a bad %-encoding saying so', async () => {
      const res = await raw(server, 'GET', '/v2/models/bad%E0%A4%A/ready');
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/%-encoding/);
      expect(res.body.error).not.toMatch(/^Bad Request$/);
    });

    it('answers unknown paths under /fhir/ with an OperationOutcome, and under /v2/ with {"error"}', async () => {
      const fhir = await raw(server, 'GET', '/fhir/Observation/123');
      expect(fhir.status).toBe(404);
      expect(fhir.type).toMatch(/^application\/fhir\+json/);
      expect(fhir.body.resourceType).toBe('OperationOutcome');
      expect(fhir.body.issue[0]).toMatchObject({ severity: 'error', code: 'not-found' });
      const oip = await raw(server, 'GET', '/v2/no/such/thing');
      expect(oip.status).toBe(404);
      expect(Object.keys(oip.body)).toEqual(['error']);
    });
  });
});
