/**
 * The Open Inference Protocol's gRPC contract: finds `proto/grpc_predict_v2.proto` in the package,
 * loads it once, and describes the messages in the form the loader hands them to Galen.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { Options } from '@grpc/proto-loader';
import { GalenError } from '../core/index.js';

const PROTO_FILE = join('proto', 'grpc_predict_v2.proto');
/** Triton's ModelConfig, ModelStatistics and RepositoryIndex, on the same service. */
const TRITON_PROTO_FILE = join('proto', 'triton_grpc_extensions.proto');
const SERVICE = 'inference.GRPCInferenceService';

/**
 * How messages are turned into objects. The message interfaces below describe exactly this form:
 * field names as in the .proto, 64-bit integers as decimal strings (exact, unlike numbers), bytes
 * as Buffers that view the received message (no copy), every field present (absent message
 * fields as null, absent repeated fields as []).
 */
export const PROTO_LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: true,
};

/**
 * The package root: the nearest folder above `from` that holds package.json. Works from `src/grpc/`
 * (tests), `dist/grpc/` (the build) and an installed package alike.
 */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) {
      throw new GalenError('internal', `no package.json above ${from}; cannot find ${PROTO_FILE}`);
    }
  }
}

/** Where the official OIP v2 gRPC definition is stored in this package. */
export function protoPath(): string {
  return join(packageRoot(), PROTO_FILE);
}

/** Where Triton's additions to the service are stored in this package. */
export function tritonProtoPath(): string {
  return join(packageRoot(), TRITON_PROTO_FILE);
}

function loadService(path: string): ServiceDefinition {
  const definition = loadSync(path, PROTO_LOADER_OPTIONS)[SERVICE];
  // A message or enum definition carries `format`; a service definition is a map of methods.
  if (definition === undefined || 'format' in definition) {
    throw new GalenError('internal', `${path} does not define the service ${SERVICE}`);
  }
  return definition;
}

let cached: ServiceDefinition | undefined;

/**
 * `inference.GRPCInferenceService` as clients see it: KServe's methods and Triton's additions,
 * parsed from the .proto files on first use and kept.
 */
export function inferenceServiceDefinition(): ServiceDefinition {
  cached ??= { ...loadService(protoPath()), ...loadService(tritonProtoPath()) };
  return cached;
}

/**
 * The service as Galen registers it: every request arrives as its raw bytes, so a call is
 * authenticated and its message checked against limits before anything is decoded. Decode with
 * `requestDecoder`.
 */
export function rawRequestServiceDefinition(): ServiceDefinition {
  return Object.fromEntries(
    Object.entries(inferenceServiceDefinition()).map(([name, method]) => [
      name,
      { ...method, requestDeserialize: (bytes: Buffer) => bytes },
    ]),
  );
}

/** The decoder of an RPC's request message (protobufjs, in the form PROTO_LOADER_OPTIONS gives). */
export function requestDecoder(rpc: string): (bytes: Buffer) => unknown {
  const method = inferenceServiceDefinition()[rpc];
  if (!method) throw new GalenError('internal', `${SERVICE} has no method ${rpc}`);
  return (bytes): unknown => method.requestDeserialize(bytes) as unknown;
}

/** `InferParameter`: one of a bool, an int64 (as a decimal string) or a string. */
export interface InferParameter {
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param';
  bool_param?: boolean;
  int64_param?: string;
  string_param?: string;
}

export type InferParameters = Record<string, InferParameter>;

/** `InferTensorContents`: the typed element lists, one per family of datatypes. */
export interface InferTensorContents {
  bool_contents: boolean[];
  int_contents: number[];
  int64_contents: string[];
  uint_contents: number[];
  uint64_contents: string[];
  fp32_contents: number[];
  fp64_contents: number[];
  bytes_contents: Buffer[];
}

export interface InferInputTensor {
  name: string;
  datatype: string;
  shape: string[];
  parameters: InferParameters;
  contents: InferTensorContents | null;
}

export interface ModelInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  parameters: InferParameters;
  inputs: InferInputTensor[];
  outputs: { name: string; parameters: InferParameters }[];
  raw_input_contents: Buffer[];
}

export interface ModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  /** Response parameters: `out_of_range` when inputs fall outside the training ranges. */
  parameters?: InferParameters;
  outputs: { name: string; datatype: string; shape: number[] }[];
  raw_output_contents: Buffer[];
}

/** `ModelReadyRequest` and `ModelMetadataRequest`: a model name and an optional version or alias. */
export interface ModelRequest {
  name: string;
  version: string;
}

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

export interface ModelMetadataResponse {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

/** `RepositoryModelLoadRequest` and `RepositoryModelUnloadRequest`. */
export interface RepositoryModelRequest {
  model_name: string;
}
