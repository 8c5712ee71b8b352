/**
 * One depth limit for every JSON body: nesting deeper than MAX_JSON_DEPTH (100) levels is refused
 * with a 400 in the route's own error format before any handler reads it, whichever parser read
 * the body (Fastify's JSON, a TF Serving body sent with no type, the OIP binary-extension header,
 * FHIR's application/fhir+json). These bodies answered 500 before (a recursive walk or
 * `JSON.stringify` of the value in an error message overflowed the stack).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../src/core/index.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import type { CallResult } from '../helpers/http-call.js';

const DEEP = 10_000;
const TOO_DEEP = `the request body nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep; at most ${MAX_JSON_DEPTH} are allowed`;

/** `{"a":{"a":…1…}}` with `levels` objects, as JSON text. */
const deepObject = (levels: number): string => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
/** `[[…[1]…]]` with `levels` arrays, as JSON text. */
const deepArray = (levels: number): string => '['.repeat(levels) + '1' + ']'.repeat(levels);

/** A breast-cancer row (30 features) whose last value is `last` (JSON text). */
const row = (last: string): string => `[${Array.from({ length: 29 }, () => '0.5').join(',')},${last}]`;

function expectOip(res: CallResult): void {
  expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(400);
  expect(res.body).toEqual({ error: TOO_DEEP });
}

function expectNative(res: CallResult): void {
  expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(400);
  expect(res.body).toEqual({ error: TOO_DEEP, code: 'invalid_input' });
}

describe('JSON bodies nested deeper than the limit', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await createTestServer({ withDemo: true });
  });
  afterAll(async () => server?.close());

  it('TF Serving :predict with an object 10,000 deep inside "inputs" or "instances": 400 {"error"}', async () => {
    for (const body of [
      `{"signature_name":"serving_default","inputs":{"features":[${row(deepObject(DEEP))}]}}`,
      `{"instances":[${row(deepObject(DEEP))}]}`,
      `{"instances":[${row(deepArray(DEEP))}]}`,
    ]) {
      expectOip(await server.call('POST', '/v1/models/breast-cancer/versions/1:predict', { body }));
    }
  });

  it('TF Serving :classify with an object 10,000 deep in examples[].features, sent as curl -d does', async () => {
    const body = `{"examples":[{"features":${row(deepObject(DEEP))}}]}`;
    expectOip(
      await server.call('POST', '/v1/models/breast-cancer:classify', {
        body,
        contentType: 'application/x-www-form-urlencoded',
      }),
    );
  });

  it('OIP infer, plain JSON and the binary extension header: 400 {"error"}', async () => {
    const header = `{"inputs":[{"name":"features","datatype":"FP32","shape":[1,30],"data":${row(deepObject(DEEP))}}]}`;
    expectOip(await server.call('POST', '/v2/models/breast-cancer/infer', { body: header }));
    const binary = new Uint8Array(Buffer.from(header));
    expectOip(
      await server.call('POST', '/v2/models/breast-cancer/infer', {
        body: binary,
        headers: { 'inference-header-content-length': String(binary.length) },
      }),
    );
  });

  it('a monitoring reference whose data holds an object 10,000 deep: 400 {"error","code"}', async () => {
    const data = Array.from({ length: 20 }, () => row('0.5')).join(',');
    const body = `{"inputs":[{"name":"features","shape":[21,30],"datatype":"FP32","data":[${data},${row(deepObject(DEEP))}]}]}`;
    expectNative(
      await server.call('PUT', '/api/v1/models/breast-cancer/versions/1/monitoring/reference', { body }),
    );
  });

  it('an optimisation model with an array 10,000 deep, solved at once or as a job: 400 {"error","code"}', async () => {
    const body = `{"input":{"sense":"maximize","variables":[{"name":"x","type":${deepArray(DEEP)}}],"constraints":[],"objective":{"linear":{"x":1}}}}`;
    expectNative(await server.call('POST', '/api/v1/optimize', { body }));
    expectNative(await server.call('POST', '/api/v1/optimize/jobs', { body }));
  });

  it('FHIR $predict (application/fhir+json): 400 OperationOutcome naming the limit', async () => {
    const res = await server.call('POST', '/fhir/Patient/$predict?model=breast-cancer', {
      body: `{"resourceType":"Bundle","type":"collection","entry":[{"resource":${deepObject(DEEP)}}]}`,
      contentType: 'application/fhir+json',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/fhir+json');
    expect(res.body).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'invalid', diagnostics: TOO_DEEP }],
    });
  });

  it('exactly the limit passes the edge (the route then judges the body); one level more does not', async () => {
    // The body object is level 1, "input" level 2: the array under "type" adds the rest.
    const body = (levels: number): string =>
      `{"input":{"sense":"maximize","variables":[{"name":"x","type":${deepArray(levels - 4)}}],"constraints":[],"objective":{"linear":{"x":1}}}}`;
    const atLimit = await server.call('POST', '/api/v1/optimize', { body: body(MAX_JSON_DEPTH) });
    expect(atLimit.status).toBe(400);
    expect(atLimit.body.code).toBe('invalid_input');
    expect(atLimit.body.error).not.toContain('levels deep');
    expectNative(await server.call('POST', '/api/v1/optimize', { body: body(MAX_JSON_DEPTH + 1) }));
  });

  it('an unknown path still answers 404 whatever its body', async () => {
    const res = await server.call('POST', '/api/v1/no-such-thing', { body: deepArray(DEEP) });
    expect(res.status).toBe(404);
  });

  it('refuses before authorisation-free work only: without a key the answer is 401, not the depth', async () => {
    const res = await server.call('POST', '/api/v1/optimize', { body: deepArray(DEEP), key: null });
    expect(res.status).toBe(401);
  });
});
