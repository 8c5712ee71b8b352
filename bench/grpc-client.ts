/**
 * The OIP v2 gRPC contract as the benchmark's client and echo server use it: the service from
 * `proto/grpc_predict_v2.proto` (loaded as Galen's server loads it) and a promise-returning
 * ModelInfer client that sends `authorization: Bearer <key>`.
 */
import { Client, Metadata, credentials } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { MethodDefinition, ServiceDefinition } from '@grpc/proto-loader';
import type { GrpcInferRequest } from './payloads.js';
import { repoPath } from './paths.js';

/** A `ModelInferResponse` as decoded with the options below. */
export interface GrpcInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: { name: string; datatype: string; shape: string[] }[];
  raw_output_contents: Buffer[];
}

let service: ServiceDefinition | undefined;

/** `inference.GRPCInferenceService`, with Galen's loader options (keepCase, 64-bit integers as strings). */
export function inferenceService(): ServiceDefinition {
  if (service) return service;
  const definition = loadSync(repoPath('proto', 'grpc_predict_v2.proto'), {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    arrays: true,
    oneofs: true,
  })['inference.GRPCInferenceService'];
  if (definition === undefined || 'format' in definition) {
    throw new Error('proto/grpc_predict_v2.proto does not define inference.GRPCInferenceService');
  }
  service = definition;
  return service;
}

export function modelInferMethod(): MethodDefinition<object, object> {
  const method = inferenceService()['ModelInfer'];
  if (!method) throw new Error('inference.GRPCInferenceService has no ModelInfer');
  return method;
}

export interface InferClient {
  infer(request: GrpcInferRequest): Promise<GrpcInferResponse>;
  close(): void;
}

/** A client on one channel (HTTP/2 connection) to `address` (`host:port`), calls multiplexed on it. */
export function createInferClient(address: string, apiKey: string): InferClient {
  const client = new Client(address, credentials.createInsecure());
  const method = modelInferMethod();
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${apiKey}`);
  return {
    infer: (request) =>
      new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          request,
          metadata,
          (err, response) =>
            err || !response
              ? reject(err ?? new Error('empty response'))
              : resolve(response as GrpcInferResponse),
        );
      }),
    close: () => client.close(),
  };
}
