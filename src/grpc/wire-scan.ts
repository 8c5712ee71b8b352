/**
 * A cheap look at protobuf wire bytes before they are decoded: string fields read in place, and
 * ModelInfer's repeated fields counted against limits. Decoding a message builds one JS object
 * per repeated element (an empty `bytes_contents` string costs 2 bytes on the wire and ~200 bytes
 * of heap), so the counts are checked here, in one pass that allocates nothing per element.
 */
import { GalenError } from '../core/index.js';

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/** One field of a message: its number, wire type, and value (a number, or a view of the bytes). */
interface WireField {
  field: number;
  wireType: number;
  /** The varint value (wire type 0); 0 otherwise. Exact only up to 2^53, enough for counts. */
  value: number;
  /** The payload of a length-delimited field (wire type 2); empty otherwise. */
  bytes: Buffer;
}

const malformed = (message: string, what: string): GalenError =>
  new GalenError('invalid_input', `the ${message} message is not valid protobuf: ${what}`);

/** A forward-only reader over one message's fields. */
class WireReader {
  private at = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly message: string,
  ) {}

  get done(): boolean {
    return this.at >= this.buf.length;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.at >= this.buf.length) throw malformed(this.message, 'it ends inside a varint');
      const byte = this.buf[this.at++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    throw malformed(this.message, 'a varint is longer than 10 bytes');
  }

  next(): WireField {
    const key = this.varint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (field === 0) throw malformed(this.message, 'a field has number 0');
    switch (wireType) {
      case VARINT:
        return { field, wireType, value: this.varint(), bytes: EMPTY };
      case FIXED64:
        return { field, wireType, value: 0, bytes: this.take(8) };
      case LENGTH_DELIMITED:
        return { field, wireType, value: 0, bytes: this.take(this.varint()) };
      case FIXED32:
        return { field, wireType, value: 0, bytes: this.take(4) };
      default:
        throw malformed(this.message, `field ${field} has wire type ${wireType}, which proto3 does not use`);
    }
  }

  private take(length: number): Buffer {
    if (length > this.buf.length - this.at) {
      throw malformed(
        this.message,
        `a field claims ${length} bytes but only ${this.buf.length - this.at} remain`,
      );
    }
    const view = this.buf.subarray(this.at, this.at + length);
    this.at += length;
    return view;
  }
}

const EMPTY = Buffer.alloc(0);

/** The fields of a message, in order. */
function* fields(buf: Buffer, message: string): Generator<WireField> {
  const reader = new WireReader(buf, message);
  while (!reader.done) yield reader.next();
}

/**
 * The value of a string field (the last occurrence wins, as in protobuf), or '' when absent.
 *
 * @example
 * peekString(rawModelInferRequest, 1); // "breast-cancer" (model_name)
 */
export function peekString(buf: Buffer, field: number, message: string): string {
  let value = '';
  for (const f of fields(buf, message)) {
    if (f.field === field && f.wireType === LENGTH_DELIMITED) value = f.bytes.toString('utf8');
  }
  return value;
}

/** A limit on one count, and the setting it comes from (named when a request goes over it). */
export interface WireLimit {
  readonly max: number;
  readonly setting: string;
}

/** Limits on what one ModelInfer request may make the decoder build. */
export interface InferRequestLimits {
  /** Elements in the typed `contents` lists (bool … fp64), all inputs together. */
  readonly contentsElements: WireLimit;
  /** Strings in `contents.bytes_contents`, all inputs together. */
  readonly bytesElements: WireLimit;
}

/** The settings the wire limits come from. */
export interface InferRequestSettings {
  readonly grpc: { readonly maxContentsElements: number };
  readonly tensors: { readonly maxElements: number; readonly maxBytesElements: number };
}

/**
 * The wire limits from the settings. A request over `tensors.maxElements` or
 * `tensors.maxBytesElements` is refused after decoding anyway (each input's contents must hold
 * exactly its declared elements), so the scan applies them before protobufjs builds the arrays.
 * Typed elements are also held to `grpc.maxContentsElements` when lower: decoded into JS arrays
 * (int64 as strings) they cost several times their tensor size, so the default keeps that below
 * what `tensors.maxElements` allows through `raw_input_contents`.
 *
 * @example
 * checkInferRequest(raw, inferRequestLimits(galen.config));
 */
export function inferRequestLimits(settings: InferRequestSettings): InferRequestLimits {
  const { grpc, tensors } = settings;
  return {
    contentsElements:
      grpc.maxContentsElements < tensors.maxElements
        ? { max: grpc.maxContentsElements, setting: 'grpc.maxContentsElements' }
        : { max: tensors.maxElements, setting: 'tensors.maxElements' },
    bytesElements: { max: tensors.maxBytesElements, setting: 'tensors.maxBytesElements' },
  };
}

/** Structural limits no real request comes near; each keeps a small message from expanding. */
export const INFER_STRUCTURE_LIMITS = {
  inputs: 1024,
  outputs: 1024,
  /** Parameters in all the request's `parameters` maps together. */
  parameters: 1024,
  /** Dimensions of one input's shape. */
  dims: 64,
} as const;

/** What a ModelInfer request holds, counted without decoding it. */
export interface InferRequestCounts {
  inputs: number;
  outputs: number;
  rawContents: number;
  parameters: number;
  contentsElements: number;
  bytesElements: number;
}

/** Elements of one packed repeated field in `InferTensorContents` (fields 1–7). */
function packedCount(field: number, bytes: Buffer): number {
  if (field === 6) return Math.ceil(bytes.length / 4); // fp32, fixed 32-bit
  if (field === 7) return Math.ceil(bytes.length / 8); // fp64, fixed 64-bit
  // bool, int32, int64, uint32, uint64: varints, each ending in a byte below 0x80.
  let count = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! < 0x80) count++;
  return count;
}

const MESSAGE = 'ModelInfer';

/** A count went over its limit (counting stops there, so the message says "more than"). */
function tooMany(what: string, max: number, setting?: string): GalenError {
  const where = setting ? ` (setting ${setting})` : '';
  const hint = setting === 'grpc.maxContentsElements' ? '; send large tensors in raw_input_contents' : '';
  return new GalenError(
    'payload_too_large',
    `the ModelInfer request has more than ${max} ${what}; at most ${max} are allowed${where}${hint}`,
  );
}

/**
 * Counts the repeated fields of a `ModelInferRequest` in its wire bytes and checks them against
 * the limits before anything is decoded, stopping at the first count over its limit. Throws
 * `payload_too_large` (RESOURCE_EXHAUSTED) naming the limit and its setting, or `invalid_input`
 * for bytes that are not a protobuf message.
 *
 * @example
 * checkInferRequest(raw, {
 *   contentsElements: { max: 4_194_304, setting: 'grpc.maxContentsElements' },
 *   bytesElements: { max: 262_144, setting: 'tensors.maxBytesElements' },
 * });
 */
export function checkInferRequest(buf: Buffer, limits: InferRequestLimits): InferRequestCounts {
  const counts: InferRequestCounts = {
    inputs: 0,
    outputs: 0,
    rawContents: 0,
    parameters: 0,
    contentsElements: 0,
    bytesElements: 0,
  };
  const check = (): void => {
    const s = INFER_STRUCTURE_LIMITS;
    if (counts.inputs > s.inputs) throw tooMany('inputs', s.inputs);
    if (counts.outputs > s.outputs) throw tooMany('requested outputs', s.outputs);
    if (counts.parameters > s.parameters) throw tooMany('parameters', s.parameters);
    if (counts.rawContents > s.inputs) {
      throw tooMany('raw_input_contents entries', s.inputs);
    }
    const { contentsElements, bytesElements } = limits;
    if (counts.contentsElements > contentsElements.max) {
      throw tooMany('elements in typed contents lists', contentsElements.max, contentsElements.setting);
    }
    if (counts.bytesElements > bytesElements.max) {
      throw tooMany('strings in contents.bytes_contents', bytesElements.max, bytesElements.setting);
    }
  };
  for (const f of fields(buf, MESSAGE)) {
    if (f.field === 4 && f.wireType === LENGTH_DELIMITED) counts.parameters++;
    else if (f.field === 5 && f.wireType === LENGTH_DELIMITED) {
      counts.inputs++;
      scanInput(f.bytes, counts, check);
    } else if (f.field === 6 && f.wireType === LENGTH_DELIMITED) {
      counts.outputs++;
      for (const o of fields(f.bytes, MESSAGE)) if (o.field === 2) counts.parameters++;
    } else if (f.field === 7 && f.wireType === LENGTH_DELIMITED) counts.rawContents++;
    // Checked as it goes, so a huge message stops at the first element over a limit.
    check();
  }
  check();
  return counts;
}

/** `InferInputTensor`: shape (field 3), parameters (4) and contents (5). */
function scanInput(buf: Buffer, counts: InferRequestCounts, check: () => void): void {
  let dims = 0;
  for (const f of fields(buf, MESSAGE)) {
    if (f.field === 3) {
      dims += f.wireType === LENGTH_DELIMITED ? packedCount(3, f.bytes) : 1;
      if (dims > INFER_STRUCTURE_LIMITS.dims) {
        throw tooMany('dimensions in one input shape', INFER_STRUCTURE_LIMITS.dims);
      }
    } else if (f.field === 4) counts.parameters++;
    else if (f.field === 5 && f.wireType === LENGTH_DELIMITED) {
      for (const c of fields(f.bytes, MESSAGE)) {
        if (c.field === 8) counts.bytesElements++;
        else if (c.field >= 1 && c.field <= 7) {
          counts.contentsElements += c.wireType === LENGTH_DELIMITED ? packedCount(c.field, c.bytes) : 1;
        }
        check();
      }
    }
  }
}
