/**
 * What one inference request may make the server decode and allocate. A request's inputs arrive
 * in a wire form (JSON, raw bytes) that can declare far more than it costs to send: a shape of
 * millions of elements, or millions of empty BYTES elements in a few bytes each. So the inference
 * path checks what each input declares against the version's signature and these limits first,
 * and the decoders account every allocation against the request's budget before making it.
 */
import { GalenError, formatShape } from '../core/index.js';
import type { Datatype, Tensor } from '../core/index.js';

/** Limits on the tensors of one request. */
export interface TensorLimits {
  /** Most elements of all inputs of one request together. */
  readonly maxElements: number;
  /** Most BYTES elements (strings, files) of one request; each costs an object, not just its bytes. */
  readonly maxBytesElements: number;
  /** Largest single BYTES element, in bytes. */
  readonly maxBytesElementSize: number;
  /** Most bytes the decoded tensors of one request may take. */
  readonly maxDecodedBytes: number;
}

/** The defaults of `tensors.*` in the server's settings. */
export const DEFAULT_TENSOR_LIMITS: TensorLimits = {
  maxElements: 16_777_216,
  maxBytesElements: 262_144,
  maxBytesElementSize: 16 * 1024 * 1024,
  maxDecodedBytes: 256 * 1024 * 1024,
};

/** Bytes per element of each fixed-size datatype. */
export const ELEMENT_BYTES: Readonly<Record<Exclude<Datatype, 'BYTES'>, number>> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};

/** An input as a request declares it, before any of its elements is read. */
export interface DeclaredInput {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: readonly number[];
}

/**
 * A request's inputs still in their wire form: what each declares, and how to decode them within
 * a budget. `InferenceService.infer` checks the declarations against the resolved version's
 * signature and the limits, and only then decodes, so a request that cannot run allocates nothing.
 */
export interface EncodedInputs {
  readonly declared: readonly DeclaredInput[];
  decode(budget: TensorBudget): Tensor[];
}

/** Elements of a shape; Infinity when the product is too large to count exactly (never NaN). */
export function declaredCount(shape: readonly number[]): number {
  if (shape.includes(0)) return 0;
  let n = 1;
  for (const d of shape) n = n * d > Number.MAX_SAFE_INTEGER ? Infinity : n * d;
  return n;
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

/**
 * One request's running account of elements and bytes. Decoders call `reserve` before allocating
 * a tensor and `bytesElement` for each BYTES element as they read it; either throws
 * `invalid_input` naming the input and the limit once the request would exceed it.
 */
export class TensorBudget {
  private elements = 0;
  private bytesElements = 0;
  private decodedBytes = 0;

  constructor(readonly limits: TensorLimits = DEFAULT_TENSOR_LIMITS) {}

  /** Accounts a tensor of `shape` before it is allocated (its bytes too, for fixed-size datatypes). */
  reserve(name: string, datatype: Datatype, shape: readonly number[]): void {
    const count = declaredCount(shape);
    const { maxElements, maxBytesElements } = this.limits;
    this.elements += count;
    if (this.elements > maxElements) {
      throw new GalenError(
        'invalid_input',
        `input "${name}" has shape ${formatShape(shape)}${count === this.elements ? '' : ' after the earlier inputs'}; this server takes at most ${plural(maxElements, 'element')} per request, all inputs together`,
      );
    }
    if (datatype === 'BYTES') {
      this.bytesElements += count;
      if (this.bytesElements > maxBytesElements) {
        throw new GalenError(
          'invalid_input',
          `input "${name}" has shape ${formatShape(shape)} of BYTES; this server takes at most ${plural(maxBytesElements, 'BYTES element')} per request`,
        );
      }
      return;
    }
    this.addBytes(name, count * ELEMENT_BYTES[datatype]);
  }

  /** Accounts BYTES element `index` of input `name`, `length` bytes long, before it is copied. */
  bytesElement(name: string, index: number, length: number): void {
    const { maxBytesElementSize } = this.limits;
    if (length > maxBytesElementSize) {
      throw new GalenError(
        'invalid_input',
        `input "${name}" element ${index} is ${length} bytes long; this server takes BYTES elements of at most ${maxBytesElementSize} bytes`,
      );
    }
    this.addBytes(name, length);
  }

  private addBytes(name: string, bytes: number): void {
    this.decodedBytes += bytes;
    if (this.decodedBytes > this.limits.maxDecodedBytes) {
      throw new GalenError(
        'invalid_input',
        `input "${name}" takes the request's decoded tensors past ${this.limits.maxDecodedBytes} bytes, the most this server decodes per request`,
      );
    }
  }
}

/**
 * Checks what a request declares against the limits, before anything is decoded: the same rules
 * `TensorBudget` applies as the decoders go, all at once.
 */
export function checkDeclaredLimits(limits: TensorLimits, declared: readonly DeclaredInput[]): void {
  const budget = new TensorBudget(limits);
  for (const input of declared) budget.reserve(input.name, input.datatype, input.shape);
}
