/**
 * Tensors in JSON, as the Open Inference Protocol's JSON form carries them: `data` flat or
 * nested in row-major order, one JSON value per element. Every element is checked against the
 * datatype; nothing is coerced (a string is never read as a number).
 */
import {
  DATATYPES,
  GalenError,
  INTEGER_RANGES,
  elementCount,
  formatShape,
  isDatatype,
  kindOf,
  quoted,
  shapeValueText,
} from '../core/index.js';
import type { Datatype, Tensor, TensorData } from '../core/index.js';
import { floatToHalfBits, halfBitsToFloat } from './float16.js';
import { TensorBudget } from './tensor-limits.js';

const INT_RANGES: Partial<Record<Datatype, readonly [number, number]>> = INTEGER_RANGES;

/**
 * The elements of `data`, flat or nested (row-major), walked without recursion and no deeper than
 * the shape has dimensions, so a deeply nested body gets a clear error instead of overflowing the
 * stack. Only the first `expected` elements are kept; the rest are counted.
 */
function flatten(
  name: string,
  data: unknown[],
  shape: readonly number[],
  expected: number,
): { elements: unknown[]; total: number } {
  if (!data.some(Array.isArray)) return { elements: data, total: data.length };
  const maxDepth = Math.max(shape.length, 1);
  const out: unknown[] = [];
  let total = 0;
  const lists: unknown[][] = [data];
  const next: number[] = [0];
  while (lists.length > 0) {
    const top = lists.length - 1;
    const list = lists[top]!;
    const i = next[top]!;
    if (i === list.length) {
      lists.pop();
      next.pop();
      continue;
    }
    next[top] = i + 1;
    const value = list[i];
    if (Array.isArray(value)) {
      if (lists.length === maxDepth) {
        throw new GalenError(
          'invalid_input',
          `input "${name}" has "data" nested deeper than its shape ${formatShape(shape)} has dimensions (${shape.length}); send the elements flat or nested once per dimension`,
        );
      }
      lists.push(value);
      next.push(0);
    } else {
      if (total < expected) out.push(value);
      total++;
    }
  }
  return { elements: out, total };
}

/**
 * Checks a JSON shape: an array of non-negative integers. The input's name is not yet checked
 * against the model here, so messages show it cut short, and the shape by its first dimensions.
 */
export function parseShape(name: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new GalenError(
      'invalid_input',
      `input ${quoted(name)} has shape ${shapeValueText(shape)}; a shape is an array of non-negative integers`,
    );
  }
  return shape as number[];
}

export function parseDatatype(name: string, datatype: unknown): Datatype {
  if (isDatatype(datatype)) return datatype;
  const note = datatype === 'BF16' ? ' (BF16 is not supported by ONNX Runtime for Node)' : '';
  throw new GalenError(
    'invalid_input',
    `input ${quoted(name)} has datatype ${typeof datatype === 'string' ? quoted(datatype) : kindOf(datatype)}${note}; allowed datatypes: ${DATATYPES.join(', ')}`,
  );
}

/** An element that does not fit its datatype, named by its index and kind: its value is patient data. */
function badElement(
  name: string,
  datatype: Datatype,
  index: number,
  value: unknown,
  rule: string,
): GalenError {
  return new GalenError(
    'invalid_input',
    `input ${quoted(name)} element ${index} is ${kindOf(value)}; ${datatype} elements must be ${rule}`,
  );
}

/**
 * Builds a tensor from an OIP JSON input. Its allocation is accounted against `budget` (the
 * request's; by default one with the default limits) before it is made.
 *
 * @example
 * tensorFromJson('features', 'FP32', [1, 2], [[0.5, 1.5]]);
 */
export function tensorFromJson(
  name: string,
  datatype: Datatype,
  shape: number[],
  data: unknown,
  budget: TensorBudget = new TensorBudget(),
): Tensor {
  if (!Array.isArray(data)) {
    throw new GalenError('invalid_input', `input "${name}" must carry its elements in a "data" array`);
  }
  budget.reserve(name, datatype, shape);
  const expected = elementCount(shape);
  const { elements: flat, total } = flatten(name, data, shape, expected);
  if (total !== expected) {
    throw new GalenError(
      'invalid_input',
      `input "${name}" has ${total} elements but its shape ${formatShape(shape)} needs ${expected}`,
    );
  }
  const n = expected;
  let out: TensorData;
  switch (datatype) {
    case 'BOOL': {
      const a = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const v = flat[i];
        if (typeof v !== 'boolean') throw badElement(name, datatype, i, v, 'true or false');
        a[i] = v ? 1 : 0;
      }
      out = a;
      break;
    }
    case 'FP16':
    case 'FP32':
    case 'FP64': {
      const a =
        datatype === 'FP16'
          ? new Uint16Array(n)
          : datatype === 'FP32'
            ? new Float32Array(n)
            : new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = flat[i];
        // JSON has no NaN: null carries a missing value (NaN), which tabular pipelines impute.
        const x = v === null ? Number.NaN : v;
        if (typeof x !== 'number')
          throw badElement(name, datatype, i, v, 'JSON numbers, or null for a missing value');
        a[i] = datatype === 'FP16' ? floatToHalfBits(x) : x;
      }
      out = a;
      break;
    }
    case 'BYTES': {
      const a: Buffer[] = new Array<Buffer>(n);
      for (let i = 0; i < n; i++) {
        const v = flat[i];
        if (typeof v !== 'string') throw badElement(name, datatype, i, v, 'JSON strings');
        budget.bytesElement(name, i, Buffer.byteLength(v, 'utf8'));
        a[i] = Buffer.from(v, 'utf8');
      }
      out = a;
      break;
    }
    case 'INT64':
    case 'UINT64': {
      const [lo, hi] = INT_RANGES[datatype]!;
      const a = datatype === 'INT64' ? new BigInt64Array(n) : new BigUint64Array(n);
      for (let i = 0; i < n; i++) {
        const v = flat[i];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
          throw badElement(name, datatype, i, v, `integers from ${lo} to ${hi} in JSON`);
        }
        a[i] = BigInt(v);
      }
      out = a;
      break;
    }
    case 'UINT8':
    case 'UINT16':
    case 'UINT32':
    case 'INT8':
    case 'INT16':
    case 'INT32': {
      const [lo, hi] = INT_RANGES[datatype]!;
      const Ctor = {
        UINT8: Uint8Array,
        UINT16: Uint16Array,
        UINT32: Uint32Array,
        INT8: Int8Array,
        INT16: Int16Array,
        INT32: Int32Array,
      }[datatype];
      const a = new Ctor(n);
      for (let i = 0; i < n; i++) {
        const v = flat[i];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
          throw badElement(name, datatype, i, v, `integers from ${lo} to ${hi}`);
        }
        a[i] = v;
      }
      out = a;
      break;
    }
  }
  return { name, datatype, shape, data: out };
}

/** A tensor's elements as JSON values (flat, row-major). */
export function tensorDataToJson(tensor: Tensor): (number | boolean | string)[] {
  const data = tensor.data;
  switch (tensor.datatype) {
    case 'BOOL':
      return Array.from(data as Uint8Array, (v) => v !== 0);
    case 'FP16':
      return Array.from(data as Uint16Array, halfBitsToFloat);
    case 'INT64':
    case 'UINT64':
      return Array.from(data as BigInt64Array | BigUint64Array, (v) => Number(v));
    case 'BYTES':
      return (data as Buffer[]).map((b) => b.toString('utf8'));
    case 'UINT8':
    case 'UINT16':
    case 'UINT32':
    case 'INT8':
    case 'INT16':
    case 'INT32':
    case 'FP32':
    case 'FP64':
      return Array.from(data as Exclude<TensorData, Buffer[] | BigInt64Array | BigUint64Array>);
  }
}
