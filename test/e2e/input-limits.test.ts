/**
 * Work before validation, against the real server: what a request declares is checked against the
 * model's signature and the tensor limits before its elements are decoded, BYTES are read only up
 * to the declared count, and bodies nested thousands deep get a clear 400 (not a stack overflow),
 * on the OIP JSON and binary routes and on TF Serving's :predict, :classify and :regress.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { identityModel, uploadModel } from '../helpers/tiny-models.js';

/** A binary OIP body: the JSON header then the raw bytes, with the header length to send. */
function frame(header: unknown, raw: Uint8Array): { body: Buffer; headers: Record<string, string> } {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  return {
    body: Buffer.concat([json, raw]),
    headers: { 'inference-header-content-length': String(json.length) },
  };
}

/** JSON text of `[[[…[value]…]]]`, `depth` lists deep (JSON.stringify itself would overflow). */
const nested = (depth: number, value: string): string => `${'['.repeat(depth)}${value}${']'.repeat(depth)}`;

/** JSON text of an OIP body with one input whose `data` is the JSON text `data`. */
const oipBody = (input: { name: string; datatype: string; shape: number[] }, data: string): string =>
  `{"inputs":[${JSON.stringify(input).slice(0, -1)},"data":${data}}]}`;

function expectClear400(res: { status: number; body: any }, message: RegExp | string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(Object.keys(res.body)).toEqual(['error']);
  if (typeof message === 'string') expect(res.body.error).toContain(message);
  else expect(res.body.error).toMatch(message);
}

describe('inputs are checked before they are decoded (default limits)', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await createTestServer();
    await uploadModel(server, 'strings', identityModel('BYTES', ['batch']));
    await uploadModel(server, 'rows', identityModel('FP32', ['batch', 3]));
    await uploadModel(server, 'wide', identityModel('FP32', ['batch', 'n']));
  });
  afterAll(async () => server.close());

  it('OIP binary: millions of empty BYTES elements under a one-element shape are refused at the second', async () => {
    const { body, headers } = frame(
      { inputs: [{ name: 'x', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 4 << 20 } }] },
      new Uint8Array(4 << 20), // a million zero lengths
    );
    const res = await server.call('POST', '/v2/models/strings/infer', { body, headers });
    expectClear400(res, 'input "x" raw BYTES data holds more than 1 elements');
  });

  it('OIP binary: an input the model does not have is refused before its bytes are read', async () => {
    const { body, headers } = frame(
      { inputs: [{ name: 'nope', datatype: 'BYTES', shape: [3], parameters: { binary_data_size: 2 } }] },
      Uint8Array.of(7, 0), // not even one element length
    );
    const res = await server.call('POST', '/v2/models/strings/infer', { body, headers });
    expectClear400(res, /model "strings" version 1 has no input "nope"; its inputs are "x"/);
  });

  it('OIP JSON: the shape is checked against the signature and the limits before the data', async () => {
    const wrong = await server.call('POST', '/v2/models/rows/infer', {
      body: oipBody({ name: 'x', datatype: 'FP32', shape: [2, 4] }, nested(90, '1')),
    });
    expectClear400(wrong, /input "x" has shape \[2,4\]; model "rows" version 1 expects \[-1,3\]/);
    const many = await server.call('POST', '/v2/models/strings/infer', {
      body: { inputs: [{ name: 'x', datatype: 'BYTES', shape: [1_000_000], data: ['a'] }] },
    });
    expectClear400(many, 'this server takes at most 262144 BYTES elements per request');
  });

  it('OIP JSON: data nested deeper than its shape, or 10,000 deep, is a clear 400, not a stack overflow', async () => {
    const res = await server.call('POST', '/v2/models/rows/infer', {
      body: oipBody({ name: 'x', datatype: 'FP32', shape: [1, 3] }, nested(90, '1')),
    });
    expectClear400(res, 'input "x" has "data" nested deeper than its shape [1,3] has dimensions (2)');
    const deep = await server.call('POST', '/v2/models/rows/infer', {
      body: oipBody({ name: 'x', datatype: 'FP32', shape: [1, 3] }, nested(10_000, '1')),
    });
    expectClear400(deep, 'the request body nests objects and arrays more than 100 levels deep');
    const ok = await server.call('POST', '/v2/models/rows/infer', {
      body: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [[1, 2, 3]] }] },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.outputs[0].data).toEqual([1, 2, 3]);
  });

  it('TF Serving: instances and inputs nested deeper than the signature, or 10,000 deep, are a clear 400', async () => {
    const rows = await server.call('POST', '/v1/models/rows:predict', {
      body: `{"instances":[${nested(90, '1')}]}`,
    });
    expectClear400(rows, /input "x" has shape \[1,1,1\]; model "rows" version 1 expects \[-1,3\]/);
    const columns = await server.call('POST', '/v1/models/rows:predict', {
      body: `{"inputs":${nested(90, '1')}}`,
    });
    expectClear400(columns, /input "x" has shape \[1,1,1\]; model "rows" version 1 expects \[-1,3\]/);
    const deep = await server.call('POST', '/v1/models/rows:predict', {
      body: `{"instances":[${nested(10_000, '1')}]}`,
    });
    expectClear400(deep, 'the request body nests objects and arrays more than 100 levels deep');
    const ok = await server.call('POST', '/v1/models/rows:predict', { body: { instances: [[1, 2, 3]] } });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ predictions: [[1, 2, 3]] });
  });

  it('TF Serving: a shape read from the first instance or example is limited before it is allocated', async () => {
    // The first entry sets the width (a million), the count of entries the batch: 5,000 × 10⁶
    // elements were allocated (or failed as a 500) before the second entry was even looked at.
    const wide = Array<number>(1_000_000).fill(0);
    const instances = await server.call('POST', '/v1/models/wide:predict', {
      body: { instances: [wide, ...Array<number[]>(5_000).fill([0])] },
    });
    expectClear400(
      instances,
      'input "x" has shape [5001,1000000]; this server takes at most 16777216 elements',
    );
    const examples = await server.call('POST', '/v1/models/wide:classify', {
      body: { examples: [{ x: wide }, ...Array<object>(5_000).fill({})] },
    });
    expectClear400(
      examples,
      'input "x" has shape [5001,1000000]; this server takes at most 16777216 elements',
    );
  });
});

describe('the tensors.* settings bound every protocol', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await createTestServer({
      config: {
        tensors: {
          maxElements: 1_000,
          maxBytesElements: 10,
          maxBytesElementSize: 16,
          maxDecodedBytes: 2_000,
        },
      },
    });
    await uploadModel(server, 'strings', identityModel('BYTES', ['batch']));
    await uploadModel(server, 'rows', identityModel('FP32', ['batch', 3]));
  });
  afterAll(async () => server.close());

  it('OIP JSON and binary', async () => {
    const strings = (n: number): string[] => Array.from({ length: n }, (_, i) => `s${i}`);
    const eleven = await server.call('POST', '/v2/models/strings/infer', {
      body: { inputs: [{ name: 'x', datatype: 'BYTES', shape: [11], data: strings(11) }] },
    });
    expectClear400(
      eleven,
      'input "x" has shape [11] of BYTES; this server takes at most 10 BYTES elements per request',
    );
    const ten = await server.call('POST', '/v2/models/strings/infer', {
      body: { inputs: [{ name: 'x', datatype: 'BYTES', shape: [10], data: strings(10) }] },
    });
    expect(ten.status).toBe(200);
    const long = await server.call('POST', '/v2/models/strings/infer', {
      body: { inputs: [{ name: 'x', datatype: 'BYTES', shape: [1], data: ['x'.repeat(17)] }] },
    });
    expectClear400(
      long,
      'input "x" element 0 is 17 bytes long; this server takes BYTES elements of at most 16 bytes',
    );

    const { body, headers } = frame(
      {
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [334, 3], parameters: { binary_data_size: 334 * 12 } },
        ],
      },
      new Uint8Array(334 * 12),
    );
    const rows = await server.call('POST', '/v2/models/rows/infer', { body, headers });
    expectClear400(rows, 'input "x" has shape [334,3]; this server takes at most 1000 elements per request');
    const bytes = await server.call('POST', '/v2/models/rows/infer', {
      body: { inputs: [{ name: 'x', datatype: 'FP32', shape: [167, 3], data: Array<number>(501).fill(0) }] },
    });
    expectClear400(bytes, "takes the request's decoded tensors past 2000 bytes");
  });

  it('TF Serving', async () => {
    const res = await server.call('POST', '/v1/models/strings:predict', {
      body: { instances: Array<string>(11).fill('a') },
    });
    expectClear400(res, 'this server takes at most 10 BYTES elements per request');
    const b64 = await server.call('POST', '/v1/models/strings:predict', {
      body: { instances: [{ b64: Buffer.alloc(17).toString('base64') }] },
    });
    expectClear400(b64, 'element 0 is 17 bytes long');
  });
});
