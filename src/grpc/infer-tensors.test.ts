import { describe, expect, it } from 'vitest';
import type { Tensor } from '../core/index.js';
import { DEFAULT_TENSOR_LIMITS, TensorBudget } from '../serving/index.js';
import type { TensorLimits } from '../serving/index.js';
import { encodeInferResponse, encodedInferInputs, requestedOutputs } from './infer-tensors.js';
import type { InferInputTensor, InferTensorContents, ModelInferRequest } from './proto.js';
import { invalidInputMessage } from '../../test/helpers/errors.js';

const EMPTY: InferTensorContents = {
  bool_contents: [],
  int_contents: [],
  int64_contents: [],
  uint_contents: [],
  uint64_contents: [],
  fp32_contents: [],
  fp64_contents: [],
  bytes_contents: [],
};

/** A request as the proto loader hands it over: every field present. */
function request(inputs: Partial<InferInputTensor>[], raw: Buffer[] = []): ModelInferRequest {
  return {
    model_name: 'm',
    model_version: '',
    id: '',
    parameters: {},
    inputs: inputs.map((i) => ({
      name: 'x',
      datatype: 'FP32',
      shape: ['3'],
      parameters: {},
      contents: null,
      ...i,
    })),
    outputs: [],
    raw_input_contents: raw,
  };
}

const contents = (c: Partial<InferTensorContents>): InferTensorContents => ({ ...EMPTY, ...c });

const invalid = invalidInputMessage;

/** Reads and decodes a request's inputs at once, within `limits`. */
const decodeInferInputs = (r: ModelInferRequest, limits: TensorLimits = DEFAULT_TENSOR_LIMITS): Tensor[] =>
  encodedInferInputs(r).decode(new TensorBudget(limits));

describe('encodedInferInputs', () => {
  it('declares each input from the message without decoding its contents', () => {
    const inputs = encodedInferInputs(
      request(
        [
          { name: 'a', datatype: 'FP32', shape: ['2', '2'] },
          { name: 'b', datatype: 'BYTES', shape: ['1'] },
        ],
        [Buffer.alloc(3), Buffer.alloc(0)], // neither could be decoded
      ),
    );
    expect(inputs.declared).toEqual([
      { name: 'a', datatype: 'FP32', shape: [2, 2] },
      { name: 'b', datatype: 'BYTES', shape: [1] },
    ]);
  });

  it('decodes typed contents within the budget: elements, BYTES element size and decoded bytes', () => {
    const limits = { maxElements: 4, maxBytesElements: 2, maxBytesElementSize: 3, maxDecodedBytes: 12 };
    const fp32 = (n: number): Partial<InferInputTensor> => ({
      shape: [String(n)],
      contents: contents({ fp32_contents: Array<number>(n).fill(0) }),
    });
    expect(invalid(() => decodeInferInputs(request([fp32(5)]), limits))).toBe(
      'input "x" has shape [5]; this server takes at most 4 elements per request, all inputs together',
    );
    expect(invalid(() => decodeInferInputs(request([fp32(2), { ...fp32(2), name: 'y' }]), limits))).toBe(
      'input "y" takes the request\'s decoded tensors past 12 bytes, the most this server decodes per request',
    );
    const bytes = (...s: string[]): Partial<InferInputTensor> => ({
      datatype: 'BYTES',
      shape: [String(s.length)],
      contents: contents({ bytes_contents: s.map((v) => Buffer.from(v)) }),
    });
    expect(invalid(() => decodeInferInputs(request([bytes('ab', 'long')]), limits))).toBe(
      'input "x" element 1 is 4 bytes long; this server takes BYTES elements of at most 3 bytes',
    );
    expect(invalid(() => decodeInferInputs(request([bytes('a', 'b', 'c')]), limits))).toBe(
      'input "x" has shape [3] of BYTES; this server takes at most 2 BYTES elements per request',
    );
    expect(decodeInferInputs(request([bytes('ab', 'c')]), limits)[0]!.data).toEqual([
      Buffer.from('ab'),
      Buffer.from('c'),
    ]);
  });
});

describe('decoding ModelInfer inputs', () => {
  it('reads each datatype from the contents list the protocol assigns it', () => {
    const [bool, int8, uint16, uint64, fp64] = decodeInferInputs(
      request([
        { datatype: 'BOOL', contents: contents({ bool_contents: [true, false, true] }) },
        { datatype: 'INT8', contents: contents({ int_contents: [-128, 0, 127] }) },
        { datatype: 'UINT16', contents: contents({ uint_contents: [0, 1, 65535] }) },
        { datatype: 'UINT64', contents: contents({ uint64_contents: ['0', '1', '18446744073709551615'] }) },
        { datatype: 'FP64', contents: contents({ fp64_contents: [0.1, -2, 1e300] }) },
      ]),
    );
    expect(bool!.data).toEqual(new Uint8Array([1, 0, 1]));
    expect(int8!.data).toEqual(new Int8Array([-128, 0, 127]));
    expect(uint16!.data).toEqual(new Uint16Array([0, 1, 65535]));
    expect(uint64!.data).toEqual(new BigUint64Array([0n, 1n, 2n ** 64n - 1n]));
    expect(fp64!.data).toEqual(new Float64Array([0.1, -2, 1e300]));
  });

  it('refuses 32-bit list values that a narrower datatype cannot hold, instead of wrapping them', () => {
    expect(
      invalid(() =>
        decodeInferInputs(request([{ datatype: 'INT8', contents: contents({ int_contents: [1, 128, 0] }) }])),
      ),
    ).toBe('input "x" element 1 is out of range; INT8 elements must be integers from -128 to 127');
    expect(
      invalid(() =>
        decodeInferInputs(
          request([{ datatype: 'UINT8', contents: contents({ uint_contents: [256, 0, 0] }) }]),
        ),
      ),
    ).toBe('input "x" element 0 is out of range; UINT8 elements must be integers from 0 to 255');
  });

  it('accepts an input with no contents only when its shape holds no elements', () => {
    const [empty] = decodeInferInputs(request([{ shape: ['0', '3'] }]));
    expect(empty!.data).toEqual(new Float32Array(0));
    expect(invalid(() => decodeInferInputs(request([{}])))).toBe(
      'input "x" has 0 elements in contents.fp32_contents but its shape [3] needs 3',
    );
  });

  it('refuses negative shapes and the shared memory extension', () => {
    expect(invalid(() => decodeInferInputs(request([{ shape: ['-1', '3'] }])))).toMatch(
      /input "x" has shape \[-1,3\]; a shape is an array of non-negative integers/,
    );
    expect(
      invalid(() =>
        decodeInferInputs(
          request([
            { parameters: { shared_memory_region: { string_param: 'r', parameter_choice: 'string_param' } } },
          ]),
        ),
      ),
    ).toMatch(/shared memory extension is not supported/);
  });

  it('copies raw bytes so tensors never alias the request', () => {
    const raw = Buffer.from(new Float32Array([1, 2, 3]).buffer);
    const [x] = decodeInferInputs(request([{}], [raw]));
    raw.fill(0);
    expect(x!.data).toEqual(new Float32Array([1, 2, 3]));
  });
});

describe('requestedOutputs and encodeInferResponse', () => {
  it('lists requested outputs, or none for all of them', () => {
    expect(requestedOutputs(request([]))).toBeUndefined();
    expect(requestedOutputs({ ...request([]), outputs: [{ name: 'y', parameters: {} }] })).toEqual(['y']);
  });

  it('answers with raw_output_contents in output order and echoes the id', () => {
    const response = encodeInferResponse({
      model: 'm',
      version: 3,
      id: 'abc',
      outputs: [
        { name: 'y', datatype: 'FP32', shape: [2], data: new Float32Array([1.5, -2]) },
        { name: 'z', datatype: 'BYTES', shape: [1], data: [Buffer.from('hé')] },
      ],
      queueNs: 0,
      computeNs: 0,
    });
    expect(response.model_version).toBe('3');
    expect(response.id).toBe('abc');
    expect(response.outputs).toEqual([
      { name: 'y', datatype: 'FP32', shape: [2] },
      { name: 'z', datatype: 'BYTES', shape: [1] },
    ]);
    expect(response.raw_output_contents[0]).toEqual(Buffer.from(new Float32Array([1.5, -2]).buffer));
    expect(response.raw_output_contents[1]).toEqual(Buffer.from([3, 0, 0, 0, 0x68, 0xc3, 0xa9]));
  });
});
