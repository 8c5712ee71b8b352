/**
 * The OIP binary tensor data extension over HTTP, against the real server: tensors sent as raw
 * bytes after a JSON inference header (`Inference-Header-Content-Length`), outputs returned the
 * same way when asked for, mixed freely with JSON; every malformed body refused with a 400 that
 * says what was wrong.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { parseWdbcCsv } from '../../src/demo/index.js';
import { OnnxGraphBuilder } from '../../src/onnx/index.js';
import { ADMIN_KEY, createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { identityModel, twoOutputModel, uploadModel } from '../helpers/tiny-models.js';
import { dataUrl } from '../helpers/data.js';

const wdbc = parseWdbcCsv(readFileSync(dataUrl('clinical/breast_cancer_wdbc.csv'), 'utf8'));

/** Three inputs of three datatypes, each returned unchanged: `a` FP32 [b,3], `s` BYTES [b,1], `c` INT64 [b,2]. */
function threeInputModel(): Uint8Array {
  return new OnnxGraphBuilder({ graphName: 'three_inputs' })
    .addInput('a', 'FP32', ['batch', 3])
    .addInput('s', 'BYTES', ['batch', 1])
    .addInput('c', 'INT64', ['batch', 2])
    .addNode({ opType: 'Identity', inputs: ['a'], outputs: ['a_out'] })
    .addNode({ opType: 'Identity', inputs: ['s'], outputs: ['s_out'] })
    .addNode({ opType: 'Identity', inputs: ['c'], outputs: ['c_out'] })
    .addOutput('a_out', 'FP32', ['batch', 3])
    .addOutput('s_out', 'BYTES', ['batch', 1])
    .addOutput('c_out', 'INT64', ['batch', 2])
    .toBytes();
}

const bytesOf = (view: ArrayBufferView): Buffer => Buffer.from(view.buffer, view.byteOffset, view.byteLength);

/** BYTES elements as the extension lays them out: a 4-byte little-endian length, then the bytes. */
function byteStrings(...values: (string | Buffer)[]): Buffer {
  return Buffer.concat(
    values.flatMap((v) => {
      const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
      const length = Buffer.alloc(4);
      length.writeUInt32LE(b.length);
      return [length, b];
    }),
  );
}

function readByteStrings(raw: Buffer): string[] {
  const out: string[] = [];
  for (let offset = 0; offset < raw.length;) {
    const n = raw.readUInt32LE(offset);
    out.push(raw.toString('utf8', offset + 4, offset + 4 + n));
    offset += 4 + n;
  }
  return out;
}

/** A binary request body: the JSON header, then `parts` in order; and the header's byte length. */
function frame(header: unknown, ...parts: Uint8Array[]): { body: Buffer; headerLength: number } {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  return { body: Buffer.concat([json, ...parts]), headerLength: json.length };
}

interface InferReply {
  status: number;
  headers: Headers;
  /** The JSON object: the whole body, or the header of a binary response. */
  json: any;
  /** The bytes after the JSON header (empty for a plain JSON response). */
  binary: Buffer;
}

describe('OIP binary tensor data extension', () => {
  let server: TestServer;

  /** POSTs `body` to `model`'s infer route and splits a binary response into header and bytes. */
  async function post(
    model: string,
    body: Uint8Array | string,
    headers: Record<string, string>,
  ): Promise<InferReply> {
    const response = await fetch(`${server.url}/v2/models/${model}/infer`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, ...headers },
      body,
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    const length = response.headers.get('inference-header-content-length');
    const split = length === null ? bytes.length : Number(length);
    return {
      status: response.status,
      headers: response.headers,
      json: JSON.parse(bytes.toString('utf8', 0, split)),
      binary: bytes.subarray(split),
    };
  }

  /** A framed binary request, sent as Triton's clients send it (application/octet-stream). */
  const postBinary = (
    model: string,
    header: unknown,
    parts: Uint8Array[],
    contentType = 'application/octet-stream',
  ): Promise<InferReply> => {
    const { body, headerLength } = frame(header, ...parts);
    return post(model, body, {
      'content-type': contentType,
      'inference-header-content-length': String(headerLength),
    });
  };

  const postJson = (model: string, body: unknown): Promise<InferReply> =>
    post(model, JSON.stringify(body), { 'content-type': 'application/json' });

  beforeAll(async () => {
    server = await createTestServer({ withDemo: true });
    // Uploaded through the native API's own octet-stream route: the infer routes' parsers must not disturb it.
    for (const datatype of ['FP32', 'FP16', 'INT64', 'BOOL', 'BYTES'] as const) {
      await uploadModel(server, `identity-${datatype.toLowerCase()}`, identityModel(datatype));
    }
    await uploadModel(server, 'two-outputs', twoOutputModel());
    await uploadModel(server, 'three-inputs', threeInputModel());
  });
  afterAll(async () => server.close());

  it('is advertised in the server metadata', async () => {
    const res = await server.call('GET', '/v2');
    expect(res.status).toBe(200);
    expect(res.body.extensions).toContain('binary_tensor_data');
  });

  describe('round trips', () => {
    it('binary in, JSON out', async () => {
      const x = Float32Array.of(1.5, -2, 3.25, 0.1, 1e-7, -65536);
      const res = await postBinary(
        'identity-fp32',
        {
          id: 'b-in',
          inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], parameters: { binary_data_size: 24 } }],
        },
        [bytesOf(x)],
      );
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('inference-header-content-length')).toBeNull();
      expect(res.json).toEqual({
        model_name: 'identity-fp32',
        model_version: '1',
        id: 'b-in',
        outputs: [{ name: 'y', datatype: 'FP32', shape: [2, 3], data: Array.from(x) }],
      });
    });

    it('JSON in, binary out (binary_data_output), with a Content-Length that covers header and bytes', async () => {
      const res = await postJson('identity-fp32', {
        parameters: { binary_data_output: true },
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, -2, 0.5] }],
      });
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      const headerLength = Number(res.headers.get('inference-header-content-length'));
      expect(Number(res.headers.get('content-length'))).toBe(headerLength + 12);
      expect(res.json.outputs).toEqual([
        { name: 'y', datatype: 'FP32', shape: [1, 3], parameters: { binary_data_size: 12 } },
      ]);
      expect(res.binary.toString('hex')).toBe('0000803f' + '000000c0' + '0000003f');
    });

    const roundTrips: { datatype: string; shape: number[]; raw: Buffer; why: string }[] = [
      {
        datatype: 'INT64',
        shape: [2, 3],
        // The full int64 range, which JSON numbers cannot carry.
        raw: bytesOf(BigInt64Array.of(-(2n ** 63n), -1n, 0n, 2n ** 53n + 1n, 42n, 2n ** 63n - 1n)),
        why: 'the whole int64 range, beyond what JSON numbers can carry',
      },
      {
        datatype: 'FP16',
        shape: [2, 3],
        // 1, -2, 65504 (largest), 2^-24 (smallest subnormal), +Infinity, 0.0999755859375
        raw: bytesOf(Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x2e66)),
        why: 'half-precision bit patterns, infinity included',
      },
      { datatype: 'BOOL', shape: [2, 3], raw: Buffer.from([1, 0, 0, 1, 1, 0]), why: 'one byte per element' },
      {
        datatype: 'BYTES',
        shape: [2, 3],
        // ONNX Runtime for Node holds string tensors as JS strings, so elements must be UTF-8 text.
        raw: byteStrings('naïve', '', '肺炎', 'stéthoscope 🩺', 'tab\there', 'line\nbreak'),
        why: 'empty and non-ASCII elements',
      },
    ];

    for (const { datatype, shape, raw, why } of roundTrips) {
      it(`binary both ways, ${datatype}: ${why}, byte for byte`, async () => {
        const res = await postBinary(
          `identity-${datatype.toLowerCase()}`,
          {
            inputs: [{ name: 'x', datatype, shape, parameters: { binary_data_size: raw.length } }],
            outputs: [{ name: 'y', parameters: { binary_data: true } }],
          },
          [raw],
        );
        expect(res.status, JSON.stringify(res.json)).toBe(200);
        expect(res.json.outputs).toEqual([
          { name: 'y', datatype, shape, parameters: { binary_data_size: raw.length } },
        ]);
        expect(res.binary.equals(raw)).toBe(true);
      });
    }

    it('BYTES sent as binary come back as the same strings in JSON', async () => {
      const raw = byteStrings('naïve', '', '肺炎');
      const res = await postBinary(
        'identity-bytes',
        {
          inputs: [
            { name: 'x', datatype: 'BYTES', shape: [1, 3], parameters: { binary_data_size: raw.length } },
          ],
        },
        [raw],
      );
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.json.outputs[0].data).toEqual(['naïve', '', '肺炎']);
    });

    it('mixes binary and JSON inputs in any order, each binary input taking the next bytes', async () => {
      const a = bytesOf(Float32Array.of(1, 2, 3, 4, 5, 6));
      const c = bytesOf(BigInt64Array.of(10n, -20n, 30n, -40n));
      const res = await postBinary(
        'three-inputs',
        {
          inputs: [
            { name: 'a', datatype: 'FP32', shape: [2, 3], parameters: { binary_data_size: a.length } },
            { name: 's', datatype: 'BYTES', shape: [2, 1], data: ['first', 'zweite'] },
            { name: 'c', datatype: 'INT64', shape: [2, 2], parameters: { binary_data_size: c.length } },
          ],
          outputs: [
            { name: 'a_out' },
            { name: 's_out', parameters: { binary_data: true } },
            { name: 'c_out' },
          ],
        },
        [a, c],
      );
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      const strings = byteStrings('first', 'zweite');
      expect(res.json.outputs).toEqual([
        { name: 'a_out', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
        { name: 's_out', datatype: 'BYTES', shape: [2, 1], parameters: { binary_data_size: strings.length } },
        { name: 'c_out', datatype: 'INT64', shape: [2, 2], data: [10, -20, 30, -40] },
      ]);
      expect(readByteStrings(res.binary)).toEqual(['first', 'zweite']);
    });

    it('accepts a zero-byte binary input for an empty tensor', async () => {
      const res = await postBinary(
        'identity-fp32',
        { inputs: [{ name: 'x', datatype: 'FP32', shape: [0, 3], parameters: { binary_data_size: 0 } }] },
        [],
      );
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.json.outputs[0]).toMatchObject({ shape: [0, 3], data: [] });
    });

    it('returns binary outputs in output order, after the header', async () => {
      const x = bytesOf(Float32Array.of(1, -2, 3));
      const res = await postBinary(
        'two-outputs',
        {
          parameters: { binary_data_output: true },
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], parameters: { binary_data_size: 12 } }],
          outputs: [{ name: 'z' }, { name: 'y' }],
        },
        [x],
      );
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.json.outputs.map((o: any) => [o.name, o.parameters.binary_data_size])).toEqual([
        ['z', 12],
        ['y', 12],
      ]);
      const { binary } = res;
      const names = res.json.outputs.map((o: any) => o.name as string);
      const values = [binary.subarray(0, 12), binary.subarray(12, 24)].map((b) =>
        Array.from(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + 12))),
      );
      expect(Object.fromEntries(names.map((n: string, i: number) => [n, values[i]]))).toEqual({
        z: [-1, 2, -3],
        y: [1, -2, 3],
      });
    });

    it('lets an output say binary_data: false against the request-wide binary_data_output', async () => {
      const res = await postJson('two-outputs', {
        parameters: { binary_data_output: true },
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, -2, 3] }],
        outputs: [{ name: 'y', parameters: { binary_data: false } }, { name: 'z' }],
      });
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.json.outputs).toEqual([
        { name: 'y', datatype: 'FP32', shape: [1, 3], data: [1, -2, 3] },
        { name: 'z', datatype: 'FP32', shape: [1, 3], parameters: { binary_data_size: 12 } },
      ]);
      expect(Array.from(new Float32Array(res.binary.buffer.slice(res.binary.byteOffset)))).toEqual([
        -1, 2, -3,
      ]);
    });

    it('returns only the outputs that ask for binary_data as binary', async () => {
      const res = await postJson('two-outputs', {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, -2, 3] }],
        outputs: [{ name: 'y' }, { name: 'z', parameters: { binary_data: true } }],
      });
      expect(res.status).toBe(200);
      expect(res.json.outputs[0]).toEqual({ name: 'y', datatype: 'FP32', shape: [1, 3], data: [1, -2, 3] });
      expect(res.json.outputs[1]).toEqual({
        name: 'z',
        datatype: 'FP32',
        shape: [1, 3],
        parameters: { binary_data_size: 12 },
      });
    });

    it('answers plain JSON, as before, when nothing asks for binary', async () => {
      const res = await postJson('two-outputs', {
        parameters: { binary_data_output: false },
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, -2, 3] }],
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('inference-header-content-length')).toBeNull();
      expect(res.binary.length).toBe(0);
      expect(res.json.outputs.map((o: any) => o.data)).toEqual([
        [1, -2, 3],
        [-1, 2, -3],
      ]);
    });

    it('accepts the framed body as application/json too, and without any Content-Type', async () => {
      const header = {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], parameters: { binary_data_size: 12 } }],
      };
      const x = bytesOf(Float32Array.of(7, 8, 9));
      const asJson = await postBinary('identity-fp32', header, [x], 'application/json; charset=utf-8');
      expect(asJson.status, JSON.stringify(asJson.json)).toBe(200);
      expect(asJson.json.outputs[0].data).toEqual([7, 8, 9]);

      const { body, headerLength } = frame(header, x);
      const untyped = await post('identity-fp32', body, {
        'inference-header-content-length': String(headerLength),
      });
      expect(untyped.status, JSON.stringify(untyped.json)).toBe(200);
      expect(untyped.json.outputs[0].data).toEqual([7, 8, 9]);
    });

    it('gives the demo model the same answer for a real WDBC row as pure JSON does', async () => {
      const row = wdbc.rows[39]!; // row 40 of the data set: the malignant mass of the README example
      const json = await postJson('breast-cancer', {
        inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 30], data: row }],
      });
      expect(json.status).toBe(200);

      const features = bytesOf(Float32Array.from(row));
      const binary = await postBinary(
        'breast-cancer',
        {
          parameters: { binary_data_output: true },
          inputs: [
            { name: 'features', datatype: 'FP32', shape: [1, 30], parameters: { binary_data_size: 120 } },
          ],
        },
        [features],
      );
      expect(binary.status, JSON.stringify(binary.json)).toBe(200);
      expect(binary.json.model_name).toBe('breast-cancer');
      expect(binary.json.outputs).toEqual([
        { name: 'probabilities', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } },
        { name: 'label', datatype: 'INT64', shape: [1], parameters: { binary_data_size: 8 } },
      ]);
      const probabilities = new Float32Array(
        binary.binary.buffer.slice(binary.binary.byteOffset, binary.binary.byteOffset + 8),
      );
      const label = binary.binary.readBigInt64LE(8);
      expect(Array.from(probabilities)).toEqual(json.json.outputs[0].data);
      expect(Number(label)).toBe(json.json.outputs[1].data[0]);
      expect(Number(label)).toBe(1);
      expect(probabilities[1]).toBeGreaterThan(0.5);
    });
  });

  describe('refusals, each a 400 in the OIP error format that says what was wrong', () => {
    const fp32 = (size: unknown = 12, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
      name: 'x',
      datatype: 'FP32',
      shape: [1, 3],
      parameters: { binary_data_size: size },
      ...extra,
    });
    const x12 = bytesOf(Float32Array.of(1, 2, 3));

    const refused = async (reply: Promise<InferReply>): Promise<string> => {
      const res = await reply;
      expect(res.status, JSON.stringify(res.json)).toBe(400);
      expect(Object.keys(res.json)).toEqual(['error']);
      return res.json.error as string;
    };

    it('refuses an application/octet-stream body without Inference-Header-Content-Length', async () => {
      const { body } = frame({ inputs: [fp32()] }, x12);
      const error = await refused(
        post('identity-fp32', body, { 'content-type': 'application/octet-stream' }),
      );
      expect(error).toContain('Inference-Header-Content-Length is missing');
      expect(error).toContain('JSON inference header followed by the tensor bytes');
    });

    it.each([['abc'], ['-1'], ['1.5'], ['1e2'], ['']])(
      'refuses Inference-Header-Content-Length %j, saying it must be a whole number',
      async (value) => {
        const { body } = frame({ inputs: [fp32()] }, x12);
        const error = await refused(
          post('identity-fp32', body, {
            'content-type': 'application/octet-stream',
            'inference-header-content-length': value,
          }),
        );
        expect(error).toContain(`Inference-Header-Content-Length is ${JSON.stringify(value)}`);
        expect(error).toContain('must be a whole number');
      },
    );

    it('refuses an Inference-Header-Content-Length larger than the body', async () => {
      const { body } = frame({ inputs: [fp32()] }, x12);
      const error = await refused(
        post('identity-fp32', body, {
          'content-type': 'application/octet-stream',
          'inference-header-content-length': String(body.length + 1),
        }),
      );
      expect(error).toBe(
        `Inference-Header-Content-Length is ${body.length + 1} but the body has only ${body.length} bytes; a binary inference body is the JSON inference header followed by the tensor bytes, with the header's length in bytes in "Inference-Header-Content-Length"`,
      );
    });

    it('refuses a header length that cuts the JSON header short, or an empty header', async () => {
      const { body, headerLength } = frame({ inputs: [fp32()] }, x12);
      for (const length of [headerLength - 1, 0]) {
        const error = await refused(
          post('identity-fp32', body, {
            'content-type': 'application/octet-stream',
            'inference-header-content-length': String(length),
          }),
        );
        expect(error).toContain(
          `the first ${length} bytes of the body (Inference-Header-Content-Length) are not valid JSON`,
        );
      }
    });

    it('refuses a JSON header with a prototype-poisoning key', async () => {
      const json = Buffer.from('{"__proto__":{"x":1},"inputs":[]}');
      const error = await refused(
        post('identity-fp32', Buffer.concat([json, x12]), {
          'content-type': 'application/octet-stream',
          'inference-header-content-length': String(json.length),
        }),
      );
      expect(error).toContain('are not valid JSON');
    });

    it('validates the JSON header with the same schema, and the same words, as a JSON body', async () => {
      for (const header of [{ inputs: [] }, { inputs: 'x' }, { id: 7, inputs: [fp32()] }, [fp32()]]) {
        const framed = await refused(postBinary('identity-fp32', header, [x12]));
        const plain = await refused(postJson('identity-fp32', header));
        expect(framed).toBe(plain);
        expect(framed).toMatch(/^invalid request: body/);
      }
    });

    it.each([
      ['"12"', '12'],
      ['-1', -1],
      ['1.5', 1.5],
      ['null', null],
      ['true', true],
    ])('refuses binary_data_size %s, saying it must be a whole number of bytes', async (shown, size) => {
      const error = await refused(postBinary('identity-fp32', { inputs: [fp32(size)] }, [x12]));
      expect(error).toBe(
        `input "x" has binary_data_size ${shown}; it must be a whole number of bytes (0 or more)`,
      );
    });

    it('refuses inputs that declare more bytes than follow the header', async () => {
      const error = await refused(postBinary('identity-fp32', { inputs: [fp32(16)] }, [x12]));
      expect(error).toBe(
        'inputs declare 16 bytes of binary data ("x" 16) but only 12 bytes follow the JSON inference header',
      );
    });

    it('refuses bytes after the header that no input declares', async () => {
      const leftover = await refused(postBinary('identity-fp32', { inputs: [fp32(8)] }, [x12]));
      expect(leftover).toBe(
        '12 bytes follow the JSON inference header but the inputs declare only 8 ("x" 8); every byte after the header must belong to an input with binary_data_size',
      );
      const none = await refused(
        postBinary(
          'identity-fp32',
          { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] },
          [x12],
        ),
      );
      expect(none).toContain(
        '12 bytes follow the JSON inference header but no input declares binary_data_size',
      );
    });

    it('refuses binary_data_size in a plain JSON request, which has no binary part', async () => {
      const error = await refused(postJson('identity-fp32', { inputs: [fp32()] }));
      expect(error).toContain('inputs declare binary_data_size ("x" 12) but the request has no binary part');
      expect(error).toContain('Inference-Header-Content-Length');
    });

    it('refuses an input with both binary_data_size and data', async () => {
      const error = await refused(
        postBinary('identity-fp32', { inputs: [fp32(12, { data: [1, 2, 3] })] }, [x12]),
      );
      expect(error).toBe(
        'input "x" has both "data" and binary_data_size; send its elements either as JSON "data" or as binary_data_size bytes after the JSON header, not both',
      );
    });

    it('refuses a byte count that does not fit the shape and datatype', async () => {
      const x8 = x12.subarray(0, 8);
      const error = await refused(postBinary('identity-fp32', { inputs: [fp32(8)] }, [x8]));
      expect(error).toBe('input "x" has 8 bytes of raw data; shape [1,3] of FP32 needs 3 × 4 = 12 bytes');
    });

    it('refuses a BOOL byte other than 0 or 1, and BYTES data cut inside a length', async () => {
      const bools = await refused(
        postBinary(
          'identity-bool',
          { inputs: [{ name: 'x', datatype: 'BOOL', shape: [1, 3], parameters: { binary_data_size: 3 } }] },
          [Buffer.from([1, 2, 0])],
        ),
      );
      expect(bools).toBe('input "x" element 1 is byte 2; BOOL elements are one byte, 0 or 1');

      const cut = Buffer.concat([byteStrings('a', 'b'), Buffer.from([3, 0])]);
      const strings = await refused(
        postBinary(
          'identity-bytes',
          {
            inputs: [
              { name: 'x', datatype: 'BYTES', shape: [1, 3], parameters: { binary_data_size: cut.length } },
            ],
          },
          [cut],
        ),
      );
      expect(strings).toBe('input "x" raw BYTES data ends inside the 4-byte length of element 2');
    });

    it('refuses BYTES that are not UTF-8, which ONNX Runtime string tensors would corrupt', async () => {
      const raw = byteStrings('ok', Buffer.from([0xff, 0xfe]), 'fine');
      const message = await refused(
        postBinary(
          'identity-bytes',
          {
            inputs: [
              { name: 'x', datatype: 'BYTES', shape: [1, 3], parameters: { binary_data_size: raw.length } },
            ],
          },
          [raw],
        ),
      );
      expect(message).toMatch(/input "x" element 1 is not valid UTF-8; .* takes BYTES as UTF-8 text/);
    });

    it('refuses binary_data_output or binary_data that are not true or false', async () => {
      const x = { name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] };
      const request = await refused(
        postJson('identity-fp32', { parameters: { binary_data_output: 'true' }, inputs: [x] }),
      );
      expect(request).toBe('the request has binary_data_output "true"; it must be true or false');
      const output = await refused(
        postJson('identity-fp32', { inputs: [x], outputs: [{ name: 'y', parameters: { binary_data: 1 } }] }),
      );
      expect(output).toBe('output "y" has binary_data 1; it must be true or false');
    });

    it('refuses a Content-Type other than JSON or octet-stream, naming both', async () => {
      const { body, headerLength } = frame({ inputs: [fp32()] }, x12);
      const error = await refused(
        post('identity-fp32', body, {
          'content-type': 'text/csv',
          'inference-header-content-length': String(headerLength),
        }),
      );
      expect(error).toContain('Content-Type text/csv is not accepted for inference');
      expect(error).toContain('application/json');
      expect(error).toContain('application/octet-stream');
    });

    it('still reports an unknown model as 404 for a binary request', async () => {
      const res = await postBinary('no-such-model', { inputs: [fp32()] }, [x12]);
      expect(res.status).toBe(404);
    });
  });

  describe('body limit', () => {
    let small: TestServer;
    const limit = 64 * 1024;

    beforeAll(async () => {
      small = await createTestServer({
        config: { http: { ...loadConfig({ env: {} }).http, bodyLimitBytes: limit } },
      });
      await uploadModel(small, 'identity-fp32', identityModel('FP32'));
    });
    afterAll(async () => small.close());

    const send = async (rows: number): Promise<Response> => {
      const { body, headerLength } = frame(
        {
          inputs: [
            { name: 'x', datatype: 'FP32', shape: [rows, 3], parameters: { binary_data_size: rows * 12 } },
          ],
        },
        new Uint8Array(rows * 12),
      );
      return fetch(`${small.url}/v2/models/identity-fp32/infer`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${ADMIN_KEY}`,
          'content-type': 'application/octet-stream',
          'inference-header-content-length': String(headerLength),
        },
        body,
      });
    };

    it('serves a binary body within http.bodyLimitBytes and refuses one beyond it with 413', async () => {
      const within = await send(5000); // 60,000 bytes of tensor data
      expect(within.status, await within.clone().text()).toBe(200);
      const beyond = await send(6000); // 72,000 bytes
      expect(beyond.status).toBe(413);
      expect(Object.keys((await beyond.json()) as object)).toEqual(['error']);
    });
  });
});
