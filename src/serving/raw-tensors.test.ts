import { describe, expect, it } from 'vitest';
import { DATATYPES } from '../core/index.js';
import type { Datatype, Tensor, TensorData } from '../core/index.js';
import { floatToHalfBits } from './float16.js';
import { ELEMENT_BYTES, tensorFromRaw, tensorToRaw } from './raw-tensors.js';
import { DEFAULT_TENSOR_LIMITS, TensorBudget } from './tensor-limits.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const tensor = (datatype: Datatype, shape: number[], data: TensorData): Tensor => ({
  name: 'x',
  datatype,
  shape,
  data,
});

/** Per datatype: elements at the edges of its range, and their little-endian bytes. */
const FIXED: { datatype: Exclude<Datatype, 'BYTES'>; data: TensorData; bytes: string }[] = [
  { datatype: 'BOOL', data: Uint8Array.of(1, 0, 1), bytes: '010001' },
  { datatype: 'UINT8', data: Uint8Array.of(0, 127, 255), bytes: '007fff' },
  { datatype: 'INT8', data: Int8Array.of(-128, -1, 127), bytes: '80ff7f' },
  { datatype: 'UINT16', data: Uint16Array.of(1, 256, 65535), bytes: '01000001ffff' },
  { datatype: 'INT16', data: Int16Array.of(-32768, -2, 32767), bytes: '0080feffff7f' },
  {
    datatype: 'FP16',
    data: Uint16Array.of(floatToHalfBits(1), floatToHalfBits(-2), floatToHalfBits(65504)),
    bytes: '003c00c0ff7b',
  },
  {
    datatype: 'UINT32',
    data: Uint32Array.of(1, 65536, 4294967295),
    bytes: '01000000' + '00000100' + 'ffffffff',
  },
  {
    datatype: 'INT32',
    data: Int32Array.of(-2147483648, -2, 2147483647),
    bytes: '00000080' + 'feffffff' + 'ffffff7f',
  },
  { datatype: 'FP32', data: Float32Array.of(1, -2, 0.5), bytes: '0000803f' + '000000c0' + '0000003f' },
  {
    datatype: 'UINT64',
    data: BigUint64Array.of(1n, 2n ** 32n, 2n ** 64n - 1n),
    bytes: '0100000000000000' + '0000000001000000' + 'ffffffffffffffff',
  },
  {
    datatype: 'INT64',
    data: BigInt64Array.of(-(2n ** 63n), -2n, 2n ** 63n - 1n),
    bytes: '0000000000000080' + 'feffffffffffffff' + 'ffffffffffffff7f',
  },
  {
    datatype: 'FP64',
    data: Float64Array.of(1, -2, Number.MIN_VALUE),
    bytes: '000000000000f03f' + '00000000000000c0' + '0100000000000000',
  },
];

describe('raw tensors: round trips', () => {
  it.each(FIXED)(
    '$datatype: little-endian bytes out, the same tensor back in',
    ({ datatype, data, bytes }) => {
      const raw = tensorToRaw(tensor(datatype, [1, 3], data));
      expect(hex(raw)).toBe(bytes);
      expect(raw.length).toBe(3 * ELEMENT_BYTES[datatype]);
      const back = tensorFromRaw('x', datatype, [1, 3], raw);
      expect(back).toEqual({ name: 'x', datatype, shape: [1, 3], data });
      expect(back.data.constructor).toBe(data.constructor);
    },
  );

  it('covers every datatype', () => {
    expect(new Set([...FIXED.map((c) => c.datatype), 'BYTES'])).toEqual(new Set(DATATYPES));
  });

  it('BYTES: a 4-byte little-endian length before each element, empty and non-ASCII ones included', () => {
    const strings = ['', 'é', '肺炎', 'stéthoscope 🩺', ''].map((s) => Buffer.from(s, 'utf8'));
    const raw = tensorToRaw(tensor('BYTES', [5], strings));
    expect(hex(raw.subarray(0, 4 + 4 + 2))).toBe('00000000' + '02000000' + 'c3a9');
    expect(raw.length).toBe(strings.reduce((n, s) => n + 4 + s.length, 0));
    const back = tensorFromRaw('x', 'BYTES', [5], raw);
    expect((back.data as Buffer[]).map((b) => b.toString('utf8'))).toEqual([
      '',
      'é',
      '肺炎',
      'stéthoscope 🩺',
      '',
    ]);
  });

  it('BYTES: arbitrary binary elements (not UTF-8) come back byte for byte', () => {
    const strings = [Buffer.from([0xff, 0x00, 0xfe]), Buffer.alloc(300, 7)];
    const back = tensorFromRaw('x', 'BYTES', [2], tensorToRaw(tensor('BYTES', [2], strings)));
    expect(back.data).toEqual(strings);
  });

  it('an empty tensor is zero bytes either way', () => {
    expect(tensorToRaw(tensor('FP32', [0, 3], new Float32Array(0))).length).toBe(0);
    expect(tensorFromRaw('x', 'FP32', [0, 3], new Uint8Array(0)).data).toEqual(new Float32Array(0));
    expect(tensorFromRaw('x', 'BYTES', [0], new Uint8Array(0)).data).toEqual([]);
  });

  it('reads from a view in the middle of a larger buffer, and never aliases it', () => {
    const body = Buffer.concat([
      Buffer.from('{"header":1}'),
      Buffer.from('0000803f000000c0', 'hex'),
      Buffer.from('!'),
    ]);
    const view = body.subarray(12, 20);
    const t = tensorFromRaw('x', 'FP32', [2], view);
    expect(Array.from(t.data as Float32Array)).toEqual([1, -2]);
    body.fill(0);
    expect(Array.from(t.data as Float32Array)).toEqual([1, -2]);

    const strings = Buffer.from('0200000068690100000021', 'hex'); // "hi", "!"
    const s = tensorFromRaw('x', 'BYTES', [2], strings);
    strings.fill(0x41);
    expect((s.data as Buffer[]).map(String)).toEqual(['hi', '!']);
  });

  it('writes only the bytes of a tensor whose data is a view into a larger buffer', () => {
    const backing = Int16Array.of(9, 9, 1, -1, 9);
    expect(hex(tensorToRaw(tensor('INT16', [2], backing.subarray(2, 4))))).toBe('0100ffff');
  });
});

describe('raw tensors: refusals name the tensor and say what was expected', () => {
  it('refuses a byte count that does not fit the shape', () => {
    expect(() => tensorFromRaw('features', 'FP32', [1, 30], new Uint8Array(119))).toThrow(
      'input "features" has 119 bytes of raw data; shape [1,30] of FP32 needs 30 × 4 = 120 bytes',
    );
    expect(() => tensorFromRaw('x', 'INT64', [2], new Uint8Array(24))).toThrow('needs 2 × 8 = 16 bytes');
    expect(() => tensorFromRaw('x', 'UINT8', [3], new Uint8Array(0))).toThrow('needs 3 × 1 = 3 bytes');
  });

  it('refuses BYTES data that ends inside an element length', () => {
    expect(() => tensorFromRaw('notes', 'BYTES', [1], Uint8Array.of(5, 0))).toThrow(
      'input "notes" raw BYTES data ends inside the 4-byte length of element 0',
    );
    const oneThenTwoBytes = Buffer.from('010000004101', 'hex');
    expect(() => tensorFromRaw('notes', 'BYTES', [2], oneThenTwoBytes)).toThrow(
      'ends inside the 4-byte length of element 1',
    );
  });

  it('refuses a BYTES element longer than what remains', () => {
    expect(() => tensorFromRaw('notes', 'BYTES', [1], Buffer.from('0a000000616263', 'hex'))).toThrow(
      'input "notes" raw BYTES element 0 declares 10 bytes but only 3 remain',
    );
  });

  it('refuses BYTES data holding more or fewer elements than the shape', () => {
    const two = tensorToRaw(tensor('BYTES', [2], [Buffer.from('a'), Buffer.from('b')]));
    expect(() => tensorFromRaw('notes', 'BYTES', [3], two)).toThrow(
      'input "notes" raw BYTES data holds 2 elements; shape [3] needs 3 (each element is a 4-byte little-endian length, then the bytes)',
    );
    expect(() => tensorFromRaw('notes', 'BYTES', [1], two)).toThrow(
      'holds more than 1 elements (5 bytes remain after element 0); shape [1] needs 1',
    );
  });

  it('stops reading BYTES at the count the shape declares: millions of empty elements cost nothing', () => {
    // 64 MiB of zero lengths once became 16 million Buffers (3.8 GB) before the shape was compared.
    const zeros = new Uint8Array(16 * 1024 * 1024); // 4 million empty elements
    expect(() => tensorFromRaw('notes', 'BYTES', [2], zeros)).toThrow(
      'input "notes" raw BYTES data holds more than 2 elements (16777208 bytes remain after element 1)',
    );
  });

  it('refuses, before reading any element, a BYTES shape beyond the limits', () => {
    expect(() => tensorFromRaw('notes', 'BYTES', [1_000_000], new Uint8Array(4_000_000))).toThrow(
      'input "notes" has shape [1000000] of BYTES; this server takes at most 262144 BYTES elements per request',
    );
    const tight = new TensorBudget({ ...DEFAULT_TENSOR_LIMITS, maxBytesElementSize: 2 });
    expect(() =>
      tensorFromRaw('notes', 'BYTES', [2], Buffer.from('02000000686903000000616263', 'hex'), tight),
    ).toThrow('input "notes" element 1 is 3 bytes long; this server takes BYTES elements of at most 2 bytes');
  });

  it('refuses fixed-size tensors beyond the limits before allocating them', () => {
    const budget = new TensorBudget({ ...DEFAULT_TENSOR_LIMITS, maxElements: 10, maxDecodedBytes: 32 });
    tensorFromRaw('a', 'FP32', [2, 3], new Uint8Array(24), budget);
    expect(() => tensorFromRaw('b', 'FP64', [1, 3], new Uint8Array(24), budget)).toThrow(
      'input "b" takes the request\'s decoded tensors past 32 bytes, the most this server decodes per request',
    );
    expect(() => tensorFromRaw('c', 'UINT8', [5], new Uint8Array(5), budget)).toThrow(
      'input "c" has shape [5] after the earlier inputs; this server takes at most 10 elements per request, all inputs together',
    );
  });

  it('refuses a BOOL byte other than 0 or 1, naming the element', () => {
    expect(() => tensorFromRaw('flags', 'BOOL', [4], Uint8Array.of(0, 1, 2, 1))).toThrow(
      'input "flags" element 2 is byte 2; BOOL elements are one byte, 0 or 1',
    );
    expect(() => tensorFromRaw('flags', 'BOOL', [1], Uint8Array.of(255))).toThrow('element 0 is byte 255');
  });
});
