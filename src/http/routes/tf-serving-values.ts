/**
 * One JSON value ↔ one tensor element, as TF Serving's REST API writes them: numbers, booleans,
 * strings and `{"b64": "…"}` for bytes, checked against the datatype (nothing is coerced), and the
 * small JSON helpers the TF Serving codecs share.
 */
import { isUtf8 } from 'node:buffer';
import { GalenError, INTEGER_RANGES } from '../../core/index.js';
import type { Datatype, Tensor, TensorData } from '../../core/index.js';
import { floatToHalfBits, halfBitsToFloat } from '../../serving/index.js';

/** An `invalid_input` error: the request is at fault. */
export const invalid = (message: string): GalenError => new GalenError('invalid_input', message);

/** `"a", "b"` */
export const quoteList = (names: readonly string[]): string => names.map((n) => `"${n}"`).join(', ');

/** `{"b64": "<string>"}` and nothing else: TF Serving's encoding of bytes. */
export function isB64Object(value: unknown): value is { b64: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  let keys = 0;
  for (const _key in value) keys++;
  return keys === 1 && typeof (value as { b64?: unknown }).b64 === 'string';
}

/** A JSON object keyed by tensor (or feature) names, as opposed to a value, a list or bytes. */
export function isNamedObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isB64Object(value);
}

// Standard base64 (RFC 4648 §4), padding optional, nothing else: Buffer.from would skip junk silently.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

const INT_RANGES = INTEGER_RANGES;

/** What each datatype takes, as error messages say it. */
function allowedValues(datatype: Datatype): string {
  switch (datatype) {
    case 'BOOL':
      return 'true or false';
    case 'FP16':
      return 'JSON numbers within ±65504';
    case 'FP32':
      return 'JSON numbers within ±3.4028235e38';
    case 'FP64':
      return 'JSON numbers';
    case 'INT64':
    case 'UINT64':
      return `integers from ${datatype === 'INT64' ? -Number.MAX_SAFE_INTEGER : 0} to ${Number.MAX_SAFE_INTEGER} (JSON numbers lose precision beyond)`;
    case 'UINT8':
    case 'UINT16':
    case 'UINT32':
    case 'INT8':
    case 'INT16':
    case 'INT32':
      return `integers from ${INT_RANGES[datatype][0]} to ${INT_RANGES[datatype][1]}`;
    case 'BYTES':
      return 'JSON strings, or {"b64": "<base64>"} for bytes';
  }
}

/**
 * Where decoded elements go: `put` stores element `i` and returns undefined, or returns why the
 * value does not fit (a list never fits). One allocation of the exact size, so nothing is copied
 * later.
 */
export interface ElementSink {
  readonly data: TensorData;
  put(i: number, value: unknown): string | undefined;
}

/**
 * A sink for `n` elements of `datatype`, allocated now: the caller has accounted them against the
 * request's budget. `onBytes` hears of each BYTES element's length before it is copied (and may
 * throw to refuse it).
 */
export function elementSink(
  datatype: Datatype,
  n: number,
  onBytes: (i: number, length: number) => void = () => undefined,
): ElementSink {
  const rule = `${datatype}, which takes ${allowedValues(datatype)}`;
  switch (datatype) {
    case 'FP32': {
      const a = new Float32Array(n);
      return {
        data: a,
        put(i, v) {
          if (typeof v !== 'number') return rule;
          const f = Math.fround(v);
          if (f === Infinity || f === -Infinity) return rule;
          a[i] = f;
          return undefined;
        },
      };
    }
    case 'FP64': {
      const a = new Float64Array(n);
      return {
        data: a,
        put(i, v) {
          if (typeof v !== 'number') return rule;
          a[i] = v;
          return undefined;
        },
      };
    }
    case 'FP16': {
      const a = new Uint16Array(n);
      return {
        data: a,
        put(i, v) {
          if (typeof v !== 'number') return rule;
          const half = floatToHalfBits(v);
          if ((half & 0x7fff) === 0x7c00) return rule;
          a[i] = half;
          return undefined;
        },
      };
    }
    case 'BOOL': {
      const a = new Uint8Array(n);
      return {
        data: a,
        put(i, v) {
          if (typeof v !== 'boolean') return rule;
          a[i] = v ? 1 : 0;
          return undefined;
        },
      };
    }
    case 'INT64':
    case 'UINT64': {
      const a = datatype === 'INT64' ? new BigInt64Array(n) : new BigUint64Array(n);
      const lo = datatype === 'INT64' ? -Number.MAX_SAFE_INTEGER : 0;
      return {
        data: a,
        put(i, v) {
          if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > Number.MAX_SAFE_INTEGER)
            return rule;
          a[i] = BigInt(v);
          return undefined;
        },
      };
    }
    case 'UINT8':
    case 'UINT16':
    case 'UINT32':
    case 'INT8':
    case 'INT16':
    case 'INT32': {
      const [lo, hi] = INT_RANGES[datatype];
      const Ctor = {
        UINT8: Uint8Array,
        UINT16: Uint16Array,
        UINT32: Uint32Array,
        INT8: Int8Array,
        INT16: Int16Array,
        INT32: Int32Array,
      }[datatype];
      const a = new Ctor(n);
      return {
        data: a,
        put(i, v) {
          if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) return rule;
          a[i] = v;
          return undefined;
        },
      };
    }
    case 'BYTES': {
      const a = new Array<Buffer>(n);
      return {
        data: a,
        put(i, v) {
          if (typeof v === 'string') {
            onBytes(i, Buffer.byteLength(v, 'utf8'));
            a[i] = Buffer.from(v, 'utf8');
            return undefined;
          }
          if (!isB64Object(v)) return rule;
          if (!BASE64.test(v.b64))
            return `${rule}; this "b64" is not standard base64 (A-Z a-z 0-9 + /, = padding)`;
          // Bytes a graph's string input cannot hold (not UTF-8) are refused when the inputs are
          // checked against the model; an encoded-image input takes any bytes.
          onBytes(i, Buffer.byteLength(v.b64, 'base64'));
          a[i] = Buffer.from(v.b64, 'base64');
          return undefined;
        },
      };
    }
  }
}

/** Reads element `i` of a tensor as TF Serving writes it in JSON. */
export function elementReader(tensor: Tensor): (i: number) => unknown {
  switch (tensor.datatype) {
    case 'FP32':
    case 'FP64':
    case 'UINT8':
    case 'UINT16':
    case 'UINT32':
    case 'INT8':
    case 'INT16':
    case 'INT32': {
      const a = tensor.data as Exclude<TensorData, Buffer[] | BigInt64Array | BigUint64Array>;
      return (i) => a[i];
    }
    case 'FP16': {
      const a = tensor.data as Uint16Array;
      return (i) => halfBitsToFloat(a[i]!);
    }
    case 'INT64':
    case 'UINT64': {
      const a = tensor.data as BigInt64Array | BigUint64Array;
      return (i) => Number(a[i]);
    }
    case 'BOOL': {
      const a = tensor.data as Uint8Array;
      return (i) => a[i] !== 0;
    }
    case 'BYTES': {
      const a = tensor.data as Buffer[];
      // TF Serving's rule: outputs named "*_bytes" are bytes. Text that is not UTF-8 is bytes too.
      if (tensor.name.endsWith('_bytes')) return (i) => ({ b64: a[i]!.toString('base64') });
      return (i) => {
        const b = a[i]!;
        return isUtf8(b) ? b.toString('utf8') : { b64: b.toString('base64') };
      };
    }
  }
}
