/**
 * Tensor vocabulary shared by every module: the Open Inference Protocol datatypes, tensor
 * specifications (what a model signature is made of) and in-memory tensor values.
 */

/** OIP v2 datatypes that Galen can carry to and from ONNX Runtime. */
export const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;

export type Datatype = (typeof DATATYPES)[number];

export function isDatatype(value: unknown): value is Datatype {
  return typeof value === 'string' && (DATATYPES as readonly string[]).includes(value);
}

/** One input or output of a model: name, datatype and shape, with -1 for a dynamic dimension. */
export interface TensorSpec {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: readonly number[];
}

/**
 * An encoded-image input: `name` takes BYTES [-1] holding PNG or JPEG files, which Galen decodes,
 * converts to `channels`, resizes to `height` × `width` and feeds to the graph input `into`
 * (FP32 [-1, channels, height, width], pixel / 255). Declared by the model's ONNX metadata.
 */
export interface ImageInputSpec {
  readonly name: string;
  readonly into: string;
  readonly channels: 1 | 3;
  readonly height: number;
  readonly width: number;
}

/**
 * An input Galen turns into a graph input by a registered preprocessing step before the graph runs
 * (e.g. `molecule_features`: SMILES strings, BYTES [-1], into an FP32 [-1, K] feature matrix).
 * Declared by the model's ONNX metadata, so any model can declare one.
 */
export interface PreprocessedInputSpec {
  readonly name: string;
  readonly into: string;
  readonly step: string;
  /** The step's options, checked by the step when the version is registered. */
  readonly options: Readonly<Record<string, unknown>>;
}

/**
 * A ranking model (a recommender): its output's columns are items, scored for the patient whose
 * feature names fill the input; Galen answers the top k after exclusion rules. Declared by the
 * model's ONNX metadata (`galen.ranking`).
 */
export interface RankingSpec {
  /** BYTES [-1, -1]: each row a patient's feature names, padded with "". */
  readonly input: string;
  /** FP32 [-1, items]: a score per item. */
  readonly output: string;
  readonly items: readonly string[];
  /** The feature names the model knows (others are ignored when scoring). */
  readonly features: readonly string[];
  /** Items never recommended to a patient with feature `when`, and why. */
  readonly contraindications: readonly {
    readonly when: string;
    readonly items: readonly string[];
    readonly reason: string;
  }[];
}

/** What a model accepts and returns, as read from its ONNX graph by ONNX Runtime. */
export interface Signature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Inputs Galen decodes before the graph (each an alternative to the graph input it feeds). */
  readonly imageInputs?: readonly ImageInputSpec[];
  /** Inputs a preprocessing step turns into a graph input (each an alternative to the graph input it feeds). */
  readonly preprocessedInputs?: readonly PreprocessedInputSpec[];
  /** A recommender's items and exclusion rules, when the model declares it ranks items. */
  readonly ranking?: RankingSpec;
  /** Outputs the graph has but OIP cannot carry (sequences, maps), with why. */
  readonly unservedOutputs?: readonly { readonly name: string; readonly reason: string }[];
}

/** The in-memory form of each datatype's elements. */
export interface TensorDataMap {
  BOOL: Uint8Array;
  UINT8: Uint8Array;
  UINT16: Uint16Array;
  UINT32: Uint32Array;
  UINT64: BigUint64Array;
  INT8: Int8Array;
  INT16: Int16Array;
  INT32: Int32Array;
  INT64: BigInt64Array;
  /** IEEE 754 half-precision bit patterns. */
  FP16: Uint16Array;
  FP32: Float32Array;
  FP64: Float64Array;
  /** Each element is one byte string; Galen keeps them as Buffers. */
  BYTES: Buffer[];
}

export type TensorData = TensorDataMap[Datatype];

/** A tensor value: flat row-major data plus its shape. */
export interface Tensor<D extends Datatype = Datatype> {
  readonly name: string;
  readonly datatype: D;
  readonly shape: readonly number[];
  readonly data: TensorDataMap[D];
}

/** Number of elements a shape holds (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The most dimensions of a shape an error message lists (a request may send thousands). */
const SHOWN_DIMS = 8;

/**
 * Formats a shape the way error messages show it: `[-1,30]`; past 8 dimensions, the first 8 and
 * how many there are (`[1,1,1,1,1,1,1,1,… 10000 dimensions]`).
 */
export function formatShape(shape: readonly number[]): string {
  if (shape.length <= SHOWN_DIMS) return `[${shape.join(',')}]`;
  return `[${shape.slice(0, SHOWN_DIMS).join(',')},… ${shape.length} dimensions]`;
}

/** Whether `shape` fits `spec`, where -1 in the spec accepts any size. */
export function shapeMatches(spec: readonly number[], shape: readonly number[]): boolean {
  if (spec.length !== shape.length) return false;
  return spec.every((d, i) => d === -1 || d === shape[i]);
}

/** A zero-filled array for `count` elements of a fixed-size datatype. */
export function allocateTensorData<D extends Exclude<Datatype, 'BYTES'>>(
  datatype: D,
  count: number,
): TensorDataMap[D] {
  const make = (): Exclude<TensorData, Buffer[]> => {
    switch (datatype) {
      case 'BOOL':
      case 'UINT8':
        return new Uint8Array(count);
      case 'INT8':
        return new Int8Array(count);
      case 'UINT16':
      case 'FP16':
        return new Uint16Array(count);
      case 'INT16':
        return new Int16Array(count);
      case 'UINT32':
        return new Uint32Array(count);
      case 'INT32':
        return new Int32Array(count);
      case 'FP32':
        return new Float32Array(count);
      case 'UINT64':
        return new BigUint64Array(count);
      case 'INT64':
        return new BigInt64Array(count);
      case 'FP64':
        return new Float64Array(count);
    }
  };
  return make() as TensorDataMap[D];
}

/** The values each integer datatype holds that JSON numbers carry exactly (64-bit: the safe range). */
export const INTEGER_RANGES = {
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
} as const satisfies Partial<Record<Datatype, readonly [number, number]>>;

/**
 * A number as FP32 holds it, written back as the shortest decimal with the same FP32 value: a 2.3
 * sent to an FP32 input reads back as 2.299999952316284, and is given back as 2.3. Numbers that
 * are not FP32 values (FP64 data) are returned unchanged.
 */
export function shortestFloat32(value: number): number {
  if (!Number.isFinite(value) || Math.fround(value) !== value) return value;
  for (let digits = 1; digits < 9; digits++) {
    const short = Number(value.toPrecision(digits));
    if (Math.fround(short) === value) return short;
  }
  return value;
}
