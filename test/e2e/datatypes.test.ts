/**
 * Every OIP datatype that ONNX Runtime supports round-trips over OIP JSON: an Identity model per
 * datatype, uploaded through the native API, returns exactly what it was sent, edge values
 * included. Also the ways a JSON tensor can be wrong, each refused with a 400 that says why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Datatype } from '../../src/core/index.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { identityModel, twoOutputModel, uploadModel } from '../helpers/tiny-models.js';

const MAX_SAFE = Number.MAX_SAFE_INTEGER; // 2^53 - 1

/** Six elements per datatype, sent as shape [2,3]; `expected` when the datatype rounds what was sent. */
const CASES: { datatype: Datatype; data: (number | boolean | string)[]; expected?: number[] }[] = [
  { datatype: 'BOOL', data: [true, false, false, true, true, false] },
  { datatype: 'UINT8', data: [0, 1, 127, 128, 254, 255] },
  { datatype: 'UINT16', data: [0, 1, 255, 256, 65534, 65535] },
  { datatype: 'UINT32', data: [0, 1, 65535, 65536, 4294967294, 4294967295] },
  { datatype: 'UINT64', data: [0, 1, 4294967295, 4294967296, MAX_SAFE - 1, MAX_SAFE] },
  { datatype: 'INT8', data: [-128, -127, -1, 0, 1, 127] },
  { datatype: 'INT16', data: [-32768, -1, 0, 1, 256, 32767] },
  { datatype: 'INT32', data: [-2147483648, -2147483647, -1, 0, 2147483646, 2147483647] },
  { datatype: 'INT64', data: [-MAX_SAFE, -2147483649, -1, 0, 2147483648, MAX_SAFE] },
  // Exactly representable in half precision: 65504 is the largest finite, 2^-14 the smallest
  // normal, 2^-24 the smallest subnormal.
  { datatype: 'FP16', data: [0.5, -2, 65504, 0, 2 ** -14, 2 ** -24] },
  {
    datatype: 'FP32',
    data: [0.5, -1.25, 3.4028234663852886e38, 1.401298464324817e-45, 16777216, 0.1],
    // 0.1 has no float32 form: the model sees, and returns, the nearest float32.
    expected: [0.5, -1.25, 3.4028234663852886e38, 1.401298464324817e-45, 16777216, Math.fround(0.1)],
  },
  {
    datatype: 'FP64',
    data: [0.1 + 0.2, Number.MAX_VALUE, Number.MIN_VALUE, -1e-300, Math.PI, 1 / 3],
  },
  { datatype: 'BYTES', data: ['naïve', '肺炎', '', 'stéthoscope 🩺', 'tab\there', 'line\nbreak'] },
];

const modelName = (datatype: Datatype): string => `identity-${datatype.toLowerCase()}`;

const input = (
  datatype: unknown,
  shape: unknown,
  data: unknown,
  name = 'x',
): { name: string; datatype: unknown; shape: unknown; data: unknown } => ({ name, datatype, shape, data });

/**
 * The half-precision value nearest to `x` (ties to even), rounded once from the double; for
 * ordinary values away from powers of two and the subnormal range, which is all this test uses.
 */
function nearestHalf(x: number): number {
  const a = Math.abs(x);
  const ulp = 2 ** (Math.floor(Math.log2(a)) - 10);
  const q = a / ulp;
  let n = Math.floor(q);
  const rest = q - n;
  if (rest > 0.5 || (rest === 0.5 && n % 2 === 1)) n += 1;
  return Math.sign(x) * n * ulp;
}

describe('OIP datatypes over JSON', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await createTestServer();
    for (const { datatype } of CASES) {
      const version = await uploadModel(server, modelName(datatype), identityModel(datatype));
      expect(version.signature).toEqual({
        inputs: [{ name: 'x', datatype, shape: [-1, 3] }],
        outputs: [{ name: 'y', datatype, shape: [-1, 3] }],
      });
    }
    await uploadModel(server, 'two-outputs', twoOutputModel());
  });
  afterAll(async () => server.close());

  const infer = (model: string, body: unknown): ReturnType<TestServer['call']> =>
    server.call('POST', `/v2/models/${model}/infer`, { body });

  describe('round trip through Identity', () => {
    for (const { datatype, data, expected } of CASES) {
      it(`${datatype}: values, datatype and shape come back exactly`, async () => {
        const res = await infer(modelName(datatype), {
          id: `rt-${datatype}`,
          inputs: [input(datatype, [2, 3], data)],
        });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body).toEqual({
          model_name: modelName(datatype),
          model_version: '1',
          id: `rt-${datatype}`,
          outputs: [{ name: 'y', datatype, shape: [2, 3], data: expected ?? data }],
        });
      });
    }

    it('FP16: values half precision cannot hold come back as the nearest half', async () => {
      // 1 + 2^-11 + 2^-40 lies just above the midpoint of 1 and 1 + 2^-10, so it must round up;
      // rounding through float32 first would land exactly on the midpoint and round down to 1.
      const sent = [0.1, -0.1, 1 / 3, 1000.1, Math.PI, 1 + 2 ** -11 + 2 ** -40];
      const res = await infer(modelName('FP16'), { inputs: [input('FP16', [2, 3], sent)] });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const got = res.body.outputs[0].data as number[];
      expect(got[0]).toBe(0.0999755859375);
      for (const [i, x] of sent.entries()) {
        expect(Math.abs(got[i]! - x), `element ${i}`).toBeLessThanOrEqual(2 ** -11 * Math.abs(x));
        expect(Math.abs(got[i]! - x), `element ${i}`).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(x)));
        expect(got[i], `element ${i} (${x})`).toBe(nearestHalf(x));
      }
      expect(got[5]).toBe(1 + 2 ** -10);
    });

    it('accepts data nested by row as well as flat, and answers flat', async () => {
      const nested = await infer(modelName('INT32'), {
        inputs: [
          input(
            'INT32',
            [2, 3],
            [
              [1, 2, 3],
              [4, 5, 6],
            ],
          ),
        ],
      });
      const flat = await infer(modelName('INT32'), { inputs: [input('INT32', [2, 3], [1, 2, 3, 4, 5, 6])] });
      for (const res of [nested, flat]) {
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.outputs[0]).toEqual({
          name: 'y',
          datatype: 'INT32',
          shape: [2, 3],
          data: [1, 2, 3, 4, 5, 6],
        });
      }
      const bytes = await infer(modelName('BYTES'), { inputs: [input('BYTES', [1, 3], [['a', 'ü', '肺']])] });
      expect(bytes.body.outputs[0].data).toEqual(['a', 'ü', '肺']);
    });

    it('echoes the request id, and leaves it out when none was sent', async () => {
      const withId = await infer(modelName('FP32'), {
        id: 'request-42 ✓',
        inputs: [input('FP32', [1, 3], [1, 2, 3])],
      });
      expect(withId.body.id).toBe('request-42 ✓');
      const without = await infer(modelName('FP32'), { inputs: [input('FP32', [1, 3], [1, 2, 3])] });
      expect(without.status).toBe(200);
      expect(without.body).not.toHaveProperty('id');
    });

    it('carries a missing float as null (NaN inside), both ways', async () => {
      for (const datatype of ['FP16', 'FP32', 'FP64'] as const) {
        const res = await infer(modelName(datatype), { inputs: [input(datatype, [1, 3], [1.5, null, -2])] });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.outputs[0].data).toEqual([1.5, null, -2]);
      }
      const ints = await infer(modelName('INT32'), { inputs: [input('INT32', [1, 3], [1, null, 2])] });
      expect(ints.status).toBe(400); // integers have no missing value
    });

    it('serves a batch of any size on the dynamic dimension', async () => {
      const data = Array.from({ length: 5 * 3 }, (_, i) => i - 7);
      const res = await infer(modelName('INT16'), { inputs: [input('INT16', [5, 3], data)] });
      expect(res.status).toBe(200);
      expect(res.body.outputs[0]).toEqual({ name: 'y', datatype: 'INT16', shape: [5, 3], data });
    });
  });

  describe('output selection', () => {
    const x = input('FP32', [1, 3], [1, -2, 3]);

    it('returns every output when none is asked for', async () => {
      const res = await infer('two-outputs', { inputs: [x] });
      expect(res.status).toBe(200);
      expect(res.body.outputs).toEqual([
        { name: 'y', datatype: 'FP32', shape: [1, 3], data: [1, -2, 3] },
        { name: 'z', datatype: 'FP32', shape: [1, 3], data: [-1, 2, -3] },
      ]);
    });

    it('returns only the output asked for', async () => {
      const res = await infer('two-outputs', { inputs: [x], outputs: [{ name: 'z' }] });
      expect(res.status).toBe(200);
      expect(res.body.outputs).toEqual([{ name: 'z', datatype: 'FP32', shape: [1, 3], data: [-1, 2, -3] }]);
    });

    it('refuses an unknown output, naming the outputs there are', async () => {
      const res = await infer('two-outputs', { inputs: [x], outputs: [{ name: 'probabilities' }] });
      expect(res.status).toBe(400);
      expect(res.body.error).toContain('no output "probabilities"');
      expect(res.body.error).toContain('"y", "z"');
    });
  });

  describe('refusals, each a 400 that says what was wrong', () => {
    const refused = async (datatype: Datatype, body: unknown): Promise<string> => {
      const res = await infer(modelName(datatype), body);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(Object.keys(res.body)).toEqual(['error']);
      return res.body.error as string;
    };

    it.each([
      ['UINT8', [1, 2, 3, 4, 256, 5], 4, 'a number'],
      ['UINT8', [-1, 2, 3, 4, 5, 6], 0, 'a number'],
      ['INT8', [0, 0, -129, 0, 0, 0], 2, 'a number'],
      ['INT8', [0, 0, 0, 0, 0, 128], 5, 'a number'],
      ['UINT16', [0, 0, 0, 65536, 0, 0], 3, 'a number'],
      ['INT32', [0, 1.5, 0, 0, 0, 0], 1, 'a number'],
      ['INT32', [0, 0, 0, 0, 0, 2147483648], 5, 'a number'],
      ['INT64', [0, 0, 0, 0, 2 ** 53, 0], 4, 'a number'],
      ['UINT64', [0, 0, 0, -1, 0, 0], 3, 'a number'],
      ['FP32', [1, 2, '3', 4, 5, 6], 2, 'a string'],
      ['FP64', [1, 2, 3, true, 5, 6], 3, 'a boolean'],
      ['BOOL', [true, false, 1, true, false, true], 2, 'a number'],
      ['BYTES', ['a', 'b', 'c', 'd', 'e', 7], 5, 'a number'],
    ] as const)(
      '%s element %j out of range or of the wrong kind names input, index and kind (never the value)',
      async (datatype, data, index, shown) => {
        const error = await refused(datatype, { inputs: [input(datatype, [2, 3], data)] });
        expect(error).toContain('input "x"');
        expect(error).toContain(`element ${index} is ${shown};`);
        expect(error).toContain(datatype);
      },
    );

    it('names the flat, row-major index of a bad element in nested data', async () => {
      const error = await refused('UINT8', {
        inputs: [
          input(
            'UINT8',
            [2, 3],
            [
              [0, 1, 2],
              [3, 256, 5],
            ],
          ),
        ],
      });
      // The element's kind, not its value (a request's values are patient data).
      expect(error).toContain('input "x" element 4 is a number; UINT8 elements must be');
      expect(error).not.toContain('256');
      expect(error).toContain('integers from 0 to 255');
    });

    it('refuses an element count that does not fit the shape', async () => {
      const error = await refused('FP32', { inputs: [input('FP32', [2, 3], [1, 2, 3, 4, 5])] });
      expect(error).toBe('input "x" has 5 elements but its shape [2,3] needs 6');
      const nested = await refused('FP32', {
        inputs: [
          input(
            'FP32',
            [2, 3],
            [
              [1, 2, 3],
              [4, 5, 6],
              [7, 8, 9],
            ],
          ),
        ],
      });
      expect(nested).toContain('9 elements');
    });

    it.each([
      ['a negative dimension', [-1, 3], '[-1,3]'],
      ['a fractional dimension', [1.5, 2], '[1.5,2]'],
      // Not the string itself: a shape's text is shown only when it is numbers.
      ['a string dimension', ['2', 3], 'an array of 2 whose element 0 is a string'],
      ['no array', 6, 'a number'],
    ])('refuses %s in the shape', async (_what, shape, shown) => {
      const error = await refused('FP32', { inputs: [input('FP32', shape, [1, 2, 3, 4, 5, 6])] });
      expect(error).toContain(`input "x" has shape ${shown};`);
      expect(error).toContain('non-negative integers');
    });

    it('refuses a datatype other than the one the model takes, even with the right count', async () => {
      const error = await refused('FP32', { inputs: [input('FP64', [2, 3], [1, 2, 3, 4, 5, 6])] });
      expect(error).toBe('input "x" has datatype FP64; model "identity-fp32" version 1 expects FP32');
    });

    it('refuses a shape that breaks a static dimension, showing the expected shape', async () => {
      const error = await refused('FP32', { inputs: [input('FP32', [3, 2], [1, 2, 3, 4, 5, 6])] });
      expect(error).toContain('input "x" has shape [3,2]');
      expect(error).toContain('expects [-1,3]');
      const rank = await refused('FP32', { inputs: [input('FP32', [6], [1, 2, 3, 4, 5, 6])] });
      expect(rank).toContain('expects [-1,3]');
    });

    it.each([['BF16'], ['FLOAT32'], ['fp32'], [7]])(
      'refuses datatype %j, listing the allowed ones',
      async (datatype) => {
        const error = await refused('FP32', { inputs: [input(datatype, [1, 3], [1, 2, 3])] });
        expect(error).toContain(
          `input "x" has datatype ${typeof datatype === 'string' ? JSON.stringify(datatype) : 'a number'}`,
        );
        expect(error).toContain(
          'allowed datatypes: BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES',
        );
      },
    );

    it('refuses an input the model does not have, naming the ones it has', async () => {
      const error = await refused('FP32', { inputs: [input('FP32', [1, 3], [1, 2, 3], 'features')] });
      expect(error).toContain('no input "features"');
      expect(error).toContain('"x"');
    });

    it('refuses an input without data', async () => {
      const error = await refused('FP32', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3] }] });
      expect(error).toBe('input "x" has no "data"');
    });
  });

  describe('model metadata', () => {
    for (const path of ['/v2/models/identity-fp16', '/v2/models/identity-fp16/versions/1']) {
      it(`${path} lists inputs and outputs with -1 for the dynamic dimension`, async () => {
        const res = await server.call('GET', path);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({
          name: 'identity-fp16',
          versions: ['1'],
          platform: 'onnxruntime_onnx',
          inputs: [{ name: 'x', datatype: 'FP16', shape: [-1, 3] }],
          outputs: [{ name: 'y', datatype: 'FP16', shape: [-1, 3] }],
        });
      });
    }

    it('reports each datatype as uploaded', async () => {
      for (const { datatype } of CASES) {
        const res = await server.call('GET', `/v2/models/${modelName(datatype)}/versions/1`);
        expect(res.body.inputs, datatype).toEqual([{ name: 'x', datatype, shape: [-1, 3] }]);
        expect(res.body.outputs, datatype).toEqual([{ name: 'y', datatype, shape: [-1, 3] }]);
      }
    });
  });
});
