/**
 * What the benchmark sends: real WDBC rows for the tabular model, images for the CNN, and their
 * encodings as OIP JSON, OIP binary (JSON header + little-endian FP32 bytes) and gRPC
 * `ModelInferRequest` with `raw_input_contents`, exactly as a client would build them.
 */
import { readFileSync } from 'node:fs';
import { parseWdbcCsv } from '../src/demo/index.js';
import { repoPath } from './paths.js';

/** One FP32 input tensor of a request: a batch of rows. */
export interface FloatTensor {
  readonly name: string;
  /** Full shape, batch first. */
  readonly shape: readonly number[];
  /** Row-major values. Plain numbers keep their decimal text in JSON (13.48, not 13.479999542236328). */
  readonly values: readonly number[] | Float32Array;
}

/** An HTTP request the load generator replays. */
export interface HttpRequestSpec {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** A gRPC `ModelInferRequest`, in the object form @grpc/proto-loader (keepCase) serialises. */
export interface GrpcInferRequest {
  model_name: string;
  inputs: { name: string; datatype: string; shape: number[] }[];
  raw_input_contents: Buffer[];
}

/** The 569 rows of the bundled WDBC CSV (30 features each), in file order. */
export function wdbcRows(): number[][] {
  return parseWdbcCsv(readFileSync(repoPath('data', 'clinical', 'breast_cancer_wdbc.csv'), 'utf8')).rows;
}

function littleEndianFloats(values: readonly number[] | Float32Array): Buffer {
  const floats = values instanceof Float32Array ? values : Float32Array.from(values);
  const bytes = Buffer.alloc(floats.length * 4);
  for (let i = 0; i < floats.length; i++) bytes.writeFloatLE(floats[i]!, i * 4);
  return bytes;
}

const inferPath = (model: string): string => `/v2/models/${encodeURIComponent(model)}/infer`;

/** An OIP JSON inference request (`data` flat, row-major). */
export function oipJsonRequest(model: string, tensor: FloatTensor): HttpRequestSpec {
  const body = {
    inputs: [{ name: tensor.name, datatype: 'FP32', shape: tensor.shape, data: Array.from(tensor.values) }],
  };
  return {
    path: inferPath(model),
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(body)),
  };
}

/**
 * An OIP binary-extension request: the JSON header, then the tensor's bytes; outputs asked for in
 * binary too (`binary_data_output`), as a performance-minded client would.
 */
export function oipBinaryRequest(model: string, tensor: FloatTensor): HttpRequestSpec {
  const raw = littleEndianFloats(tensor.values);
  const header = Buffer.from(
    JSON.stringify({
      parameters: { binary_data_output: true },
      inputs: [
        {
          name: tensor.name,
          datatype: 'FP32',
          shape: tensor.shape,
          parameters: { binary_data_size: raw.length },
        },
      ],
    }),
  );
  return {
    path: inferPath(model),
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(header.length),
    },
    body: Buffer.concat([header, raw]),
  };
}

/** A gRPC ModelInfer request carrying the tensor in `raw_input_contents`. */
export function grpcInferRequest(model: string, tensor: FloatTensor): GrpcInferRequest {
  return {
    model_name: model,
    inputs: [{ name: tensor.name, datatype: 'FP32', shape: [...tensor.shape] }],
    raw_input_contents: [littleEndianFloats(tensor.values)],
  };
}

/** Stacks rows (or images) into one tensor of `rows.length` × `rowShape`. */
export function stackRows(
  name: string,
  rowShape: readonly number[],
  rows: readonly (readonly number[] | Float32Array)[],
): FloatTensor {
  const width = rowShape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(rows.length * width);
  const plain: number[] = [];
  const keepDecimals = rows.every((r) => Array.isArray(r));
  rows.forEach((row, i) => {
    if (row.length !== width) throw new Error(`row ${i} has ${row.length} values; expected ${width}`);
    values.set(row, i * width);
    if (keepDecimals) plain.push(...row);
  });
  return { name, shape: [rows.length, ...rowShape], values: keepDecimals ? plain : values };
}
