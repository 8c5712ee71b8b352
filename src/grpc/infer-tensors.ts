/**
 * ModelInfer tensors: reads what each input of a request declares and how to decode it (typed
 * `contents` or `raw_input_contents`, all inputs one way, as the protocol says) into Galen
 * tensors, and encodes results as `raw_output_contents`, as Triton answers. Checks here are about
 * the wire form only; names, datatypes and shapes against the model, and the `tensors.*` limits,
 * are checked by the inference service before it decodes, as for HTTP.
 */
import { GalenError, OUT_OF_RANGE_PARAMETER, elementCount, formatShape } from '../core/index.js';
import type { Datatype, Tensor, TensorData } from '../core/index.js';
import type { EncodedInputs, InferenceResult, TensorBudget } from '../serving/index.js';
import { parseDatatype, parseShape, tensorFromRaw, tensorToRaw } from '../serving/index.js';
import type {
  InferInputTensor,
  InferParameters,
  InferTensorContents,
  ModelInferRequest,
  ModelInferResponse,
} from './proto.js';

type ContentsField = keyof InferTensorContents;

/** Which `contents` list carries each datatype's elements (FP16 has none: it travels raw). */
const CONTENTS_FIELD: Readonly<Record<Exclude<Datatype, 'FP16'>, ContentsField>> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

/** What an input without a `contents` message carries: nothing (valid only for zero elements). */
const EMPTY_CONTENTS: Readonly<InferTensorContents> = {
  bool_contents: [],
  int_contents: [],
  int64_contents: [],
  uint_contents: [],
  uint64_contents: [],
  fp32_contents: [],
  fp64_contents: [],
  bytes_contents: [],
};

const CONTENTS_FIELDS = Object.keys(EMPTY_CONTENTS) as ContentsField[];

/** Ranges of the datatypes narrower than the 32-bit list that carries them. */
const NARROW_RANGES: Partial<Record<Datatype, readonly [number, number]>> = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  UINT8: [0, 255],
  UINT16: [0, 65535],
};

const SHARED_MEMORY =
  'the shared memory extension is not supported by this server; send tensors in contents or raw_input_contents';

function filledFields(contents: InferTensorContents | null): ContentsField[] {
  if (contents === null) return [];
  return CONTENTS_FIELDS.filter((f) => contents[f].length > 0);
}

function refuseSharedMemory(parameters: InferParameters): void {
  if (parameters['shared_memory_region'] !== undefined) throw new GalenError('invalid_input', SHARED_MEMORY);
}

/** Shapes arrive as int64 decimal strings; they are checked like JSON shapes. */
function shapeOf(input: InferInputTensor): number[] {
  return parseShape(input.name, input.shape.map(Number));
}

/**
 * The inputs of a ModelInfer request, still encoded: the framing (shared memory, one raw entry
 * per input) and each input's datatype and shape are read now, which costs nothing; the elements
 * are decoded by `decode`, within the request's budget, once the inference service has checked
 * the declarations against the model and the limits. Every problem names the input and says what
 * is allowed.
 *
 * @example
 * const inputs = encodedInferInputs({ ...request, inputs: [{ name: 'x', datatype: 'FP32',
 *   shape: ['1', '2'], parameters: {}, contents: null }], raw_input_contents: [Buffer.alloc(8)] });
 * await galen.inference.infer({ model, inputs, protocol: 'oip-grpc' });
 */
export function encodedInferInputs(request: ModelInferRequest): EncodedInputs {
  refuseSharedMemory(request.parameters);
  const raw = request.raw_input_contents;
  if (raw.length > 0 && raw.length !== request.inputs.length) {
    throw new GalenError(
      'invalid_input',
      `raw_input_contents has ${raw.length} entries but the request has ${request.inputs.length} inputs; ` +
        'with raw_input_contents every input is sent raw, one entry per input in the order of "inputs"',
    );
  }
  const declared = request.inputs.map((input) => {
    refuseSharedMemory(input.parameters);
    return { name: input.name, datatype: parseDatatype(input.name, input.datatype), shape: shapeOf(input) };
  });
  return {
    declared,
    decode: (budget) =>
      request.inputs.map((input, i) => {
        const { name, datatype, shape } = declared[i]!;
        const filled = filledFields(input.contents);
        const bytes = raw[i];
        if (bytes === undefined)
          return tensorFromContents(name, datatype, shape, input.contents, filled, budget);
        if (filled.length > 0) {
          throw new GalenError(
            'invalid_input',
            `input "${name}" carries contents (${filled.join(', ')}) although the request uses raw_input_contents; ` +
              'send every input raw or every input in contents, not both',
          );
        }
        return tensorFromRaw(name, datatype, shape, bytes, budget);
      }),
  };
}

function tensorFromContents(
  name: string,
  datatype: Datatype,
  shape: number[],
  contents: InferTensorContents | null,
  filled: readonly ContentsField[],
  budget: TensorBudget,
): Tensor {
  if (datatype === 'FP16') {
    throw new GalenError(
      'invalid_input',
      `input "${name}" is FP16, which the protocol has no contents list for; send it (and every other input) in raw_input_contents`,
    );
  }
  const field = CONTENTS_FIELD[datatype];
  const wrong = filled.filter((f) => f !== field);
  if (wrong.length > 0) {
    throw new GalenError(
      'invalid_input',
      `input "${name}" has datatype ${datatype}, whose elements go in contents.${field}; it carries ${wrong.join(', ')}`,
    );
  }
  const count = elementCount(shape);
  const given = contents?.[field].length ?? 0;
  if (given !== count) {
    throw new GalenError(
      'invalid_input',
      `input "${name}" has ${given} elements in contents.${field} but its shape ${formatShape(shape)} needs ${count}`,
    );
  }
  budget.reserve(name, datatype, shape);
  if (datatype === 'BYTES') {
    contents?.bytes_contents.forEach((b, i) => budget.bytesElement(name, i, b.length));
  }
  return { name, datatype, shape, data: elementsOf(name, datatype, contents ?? EMPTY_CONTENTS) };
}

/** Copies the elements into the typed array Galen keeps for `datatype` (the count is checked). */
function elementsOf(name: string, datatype: Exclude<Datatype, 'FP16'>, c: InferTensorContents): TensorData {
  switch (datatype) {
    case 'BOOL':
      return Uint8Array.from(c.bool_contents, (b) => (b ? 1 : 0));
    case 'INT8':
      return new Int8Array(inRange(name, datatype, c.int_contents));
    case 'INT16':
      return new Int16Array(inRange(name, datatype, c.int_contents));
    case 'INT32':
      return new Int32Array(c.int_contents);
    case 'UINT8':
      return new Uint8Array(inRange(name, datatype, c.uint_contents));
    case 'UINT16':
      return new Uint16Array(inRange(name, datatype, c.uint_contents));
    case 'UINT32':
      return new Uint32Array(c.uint_contents);
    case 'INT64':
      return BigInt64Array.from(c.int64_contents, (s) => BigInt(s));
    case 'UINT64':
      return BigUint64Array.from(c.uint64_contents, (s) => BigInt(s));
    case 'FP32':
      return new Float32Array(c.fp32_contents);
    case 'FP64':
      return new Float64Array(c.fp64_contents);
    case 'BYTES':
      // Copied so the tensor never keeps the whole request message alive.
      return c.bytes_contents.map((b) => Buffer.from(b));
  }
}

/** Checks that 32-bit list elements fit a narrower datatype (a typed array would wrap them silently). */
function inRange(name: string, datatype: Datatype, values: number[]): number[] {
  const [lo, hi] = NARROW_RANGES[datatype]!;
  const bad = values.findIndex((v) => v < lo || v > hi);
  if (bad >= 0) {
    throw new GalenError(
      'invalid_input',
      // Not the value: it is patient data.
      `input "${name}" element ${bad} is out of range; ${datatype} elements must be integers from ${lo} to ${hi}`,
    );
  }
  return values;
}

/** The requested output names, or undefined for all of them. */
export function requestedOutputs(request: ModelInferRequest): string[] | undefined {
  if (request.outputs.length === 0) return undefined;
  return request.outputs.map((o) => {
    refuseSharedMemory(o.parameters);
    return o.name;
  });
}

/** The response, with every output's bytes in `raw_output_contents` (views of the tensors, not copies). */
export function encodeInferResponse(result: InferenceResult): ModelInferResponse {
  return {
    model_name: result.model,
    model_version: String(result.version),
    id: result.id ?? '',
    ...(result.outOfRange !== undefined && {
      parameters: {
        [OUT_OF_RANGE_PARAMETER]: { parameter_choice: 'string_param', string_param: result.outOfRange },
      },
    }),
    outputs: result.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: [...t.shape] })),
    raw_output_contents: result.outputs.map(tensorToRaw),
  };
}
