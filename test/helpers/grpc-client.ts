/**
 * gRPC clients of the OIP v2 service for end-to-end tests, built from the protos in `proto/`
 * (KServe's by default) with @grpc/grpc-js, as an outside client would, and one unary call that
 * sends the API key in the `authorization` metadata.
 */
import { fileURLToPath } from 'node:url';
import { Metadata, credentials, loadPackageDefinition } from '@grpc/grpc-js';
import type { Client, ServiceClientConstructor, ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { Options } from '@grpc/proto-loader';
import { ADMIN_KEY } from './test-server.js';

/** KServe's `grpc_predict_v2.proto`, as shipped. */
export const KSERVE_PROTO = fileURLToPath(new URL('../../proto/grpc_predict_v2.proto', import.meta.url));

const DEFAULT_OPTIONS: Options = { keepCase: true, longs: String, defaults: true, arrays: true };

/** The `inference.GRPCInferenceService` client class of `proto`. */
export function inferenceServiceClass(
  proto = KSERVE_PROTO,
  options: Options = DEFAULT_OPTIONS,
): ServiceClientConstructor {
  return (loadPackageDefinition(loadSync(proto, options)) as any).inference
    .GRPCInferenceService as ServiceClientConstructor;
}

/** A plaintext client of KServe's service at `address` (host:port). */
export function inferenceClient(address: string): Client {
  return new (inferenceServiceClass())(address, credentials.createInsecure());
}

/** One unary call with the admin key (or `key`; null for none); resolves with the reply. */
export function unaryCall(
  client: Client,
  method: string,
  request: unknown,
  key: string | null = ADMIN_KEY,
): Promise<any> {
  const metadata = new Metadata();
  if (key !== null) metadata.set('authorization', `Bearer ${key}`);
  return new Promise((resolve, reject) => {
    (client as any)[method](request, metadata, (err: ServiceError | null, response: unknown) =>
      err ? reject(err) : resolve(response),
    );
  });
}
