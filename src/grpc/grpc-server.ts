/**
 * The gRPC edge: Open Inference Protocol v2 (`inference.GRPCInferenceService`, KServe's proto) over
 * the same domain services as the HTTP edge. Each RPC parses its message, calls the domain and
 * formats the answer; authentication, audit and errors are `unary`'s job.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { ChannelOptions, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Galen } from '../app/index.js';
import { readTls } from '../config/index.js';
import type { GalenConfig } from '../config/index.js';
import { GALEN_VERSION, GalenError, OIP_EXTENSIONS } from '../core/index.js';
import type { TensorSpec } from '../core/index.js';
import { parseTimeoutMicros, servedInputs } from '../serving/index.js';
import { encodeInferResponse, encodedInferInputs, requestedOutputs } from './infer-tensors.js';
import { rawRequestServiceDefinition } from './proto.js';
import type {
  ModelInferRequest,
  ModelInferResponse,
  ModelMetadataResponse,
  ModelRequest,
  RepositoryModelRequest,
  TensorMetadata,
} from './proto.js';
import { tritonImplementation } from './triton-rpcs.js';
import { rpcRegistry } from './unary-call.js';
import type { DefineRpc } from './unary-call.js';
import { checkInferRequest, inferRequestLimits, peekString } from './wire-scan.js';

export interface GrpcServerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  /** How long `close` waits for calls under way before cutting them off (default 10 s). */
  shutdownTimeoutMs?: number;
  /**
   * The server's readiness, which `ServerReady` answers until `close` (then false): the HTTP
   * server's, so that both protocols say not ready while starting, draining or without a store.
   * Ready until `close` when absent.
   */
  readiness?: () => boolean;
}

export interface GrpcServer {
  /** The port actually bound. */
  readonly port: number;
  /** `host:port` as bound, for logs. */
  readonly address: string;
  /** Stops taking calls, lets those under way finish (up to the timeout), then closes. */
  close(): Promise<void>;
}

/** Proto3 has no "absent" for strings: an empty one means "not given". */
const optional = (value: string): string | undefined => (value === '' ? undefined : value);

function required(field: string, value: string, rpc: string): string {
  if (value === '') throw new GalenError('invalid_input', `${rpc} needs "${field}": the name of a model`);
  return value;
}

/**
 * How long the call may wait in the model's queue: the `timeout` parameter (µs, Triton's
 * schedule-policy extension) or the client's deadline, whichever is sooner.
 */
function timeoutOf(request: ModelInferRequest, deadlineMicros: number | undefined): number | undefined {
  const param = request.parameters['timeout'];
  let asked: number | undefined;
  if (param !== undefined) {
    if (param.parameter_choice !== 'int64_param' || param.int64_param === undefined) {
      throw new GalenError('invalid_input', 'parameter "timeout" must be an int64_param (microseconds)');
    }
    asked = parseTimeoutMicros(Number(param.int64_param));
  }
  if (asked === undefined) return deadlineMicros;
  return deadlineMicros === undefined ? asked : Math.min(asked, deadlineMicros);
}

/**
 * The model a repository load or unload names. Triton's proto puts it in field 2 (field 1 is
 * `repository_name`), KServe's in field 1: field 2 wins when set, so both clients work.
 */
function repositoryModelName(raw: Buffer): string {
  return peekString(raw, 2, 'RepositoryModelLoad') || peekString(raw, 1, 'RepositoryModelLoad');
}

const tensorMetadata = (t: TensorSpec): TensorMetadata => ({
  name: t.name,
  datatype: t.datatype,
  shape: [...t.shape],
});

function implementation(galen: Galen, rpc: DefineRpc, isReady: () => boolean): UntypedServiceImplementation {
  const inferLimits = inferRequestLimits(galen.config);
  return {
    ServerLive: rpc({ name: 'ServerLive' }, () => Promise.resolve({ live: true })),

    ServerReady: rpc({ name: 'ServerReady' }, () => Promise.resolve({ ready: isReady() })),

    ServerMetadata: rpc({ name: 'ServerMetadata', permission: 'model:read' }, () =>
      Promise.resolve({ name: 'galen', version: GALEN_VERSION, extensions: [...OIP_EXTENSIONS] }),
    ),

    ModelReady: rpc({ name: 'ModelReady', permission: 'model:read' }, async (request: ModelRequest) => ({
      ready: await galen.inference.ready(
        required('name', request.name, 'ModelReady'),
        optional(request.version),
      ),
    })),

    ModelMetadata: rpc(
      { name: 'ModelMetadata', permission: 'model:read' },
      async (request: ModelRequest): Promise<ModelMetadataResponse> => {
        const meta = await galen.inference.metadata(
          required('name', request.name, 'ModelMetadata'),
          optional(request.version),
        );
        return {
          name: meta.name,
          versions: meta.versions.map(String),
          platform: meta.platform,
          inputs: servedInputs(meta.signature).map(tensorMetadata),
          outputs: meta.signature.outputs.map(tensorMetadata),
        };
      },
    ),

    ModelInfer: rpc(
      {
        name: 'ModelInfer',
        permission: 'infer',
        audit: 'infer',
        modelOf: (raw) => peekString(raw, 1, 'ModelInfer'),
        precheck: (raw) => void checkInferRequest(raw, inferLimits),
      },
      async (request: ModelInferRequest, context): Promise<ModelInferResponse> => {
        // Inputs go still encoded: the service checks them against the version and the tensors.*
        // limits before decoding them, as it does for HTTP.
        const result = await galen.inference.infer({
          model: required('model_name', request.model_name, 'ModelInfer'),
          version: optional(request.model_version),
          id: optional(request.id),
          inputs: encodedInferInputs(request),
          outputs: requestedOutputs(request),
          timeoutMicros: timeoutOf(request, context.deadlineMicros),
          protocol: 'oip-grpc',
        });
        context.audit.version = result.version;
        return encodeInferResponse(result);
      },
    ),

    RepositoryModelLoad: rpc(
      {
        name: 'RepositoryModelLoad',
        permission: 'repository:manage',
        audit: 'model.load',
        modelOf: repositoryModelName,
        decode: (raw) => ({ model_name: repositoryModelName(raw) }),
      },
      async (request: RepositoryModelRequest) => {
        const model = required('model_name', request.model_name, 'RepositoryModelLoad');
        await galen.models.load(model);
        return { model_name: model, isLoaded: true };
      },
    ),

    RepositoryModelUnload: rpc(
      {
        name: 'RepositoryModelUnload',
        permission: 'repository:manage',
        audit: 'model.unload',
        modelOf: repositoryModelName,
        decode: (raw) => ({ model_name: repositoryModelName(raw) }),
      },
      async (request: RepositoryModelRequest) => {
        const model = required('model_name', request.model_name, 'RepositoryModelUnload');
        await galen.models.unload(model);
        return { model_name: model, isUnloaded: true };
      },
    ),
  };
}

/** How long an idle connection stays open, and how often a quiet one is pinged to see it is alive. */
const MAX_CONNECTION_IDLE_MS = 5 * 60_000;
const KEEPALIVE_TIME_MS = 2 * 60_000;
const KEEPALIVE_TIMEOUT_MS = 20_000;

/**
 * grpc-js server options from the settings: the largest message (RESOURCE_EXHAUSTED beyond it,
 * found from the message's length prefix before its bytes are kept), concurrent calls per
 * connection, and connections that are idle or dead closed so they hold nothing.
 */
export function serverOptions(config: GalenConfig): ChannelOptions {
  return {
    'grpc.max_receive_message_length': config.grpc.maxMessageBytes ?? config.http.bodyLimitBytes,
    'grpc.max_concurrent_streams': config.grpc.maxConcurrentStreams,
    'grpc.max_connection_idle_ms': MAX_CONNECTION_IDLE_MS,
    'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
    'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
  };
}

/** `host:port` as gRPC wants it, with brackets around an IPv6 address. */
const address = (host: string, port: number): string =>
  host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;

/**
 * Starts serving OIP v2 over gRPC on `host:port`: over TLS when `tls` is configured, else plaintext
 * HTTP/2. Calls are authenticated before their message is read; messages larger than
 * `grpc.maxMessageBytes` (default `http.bodyLimitBytes`) are refused with RESOURCE_EXHAUSTED.
 *
 * @example
 * const grpc = await startGrpcServer(galen, { host: '127.0.0.1', port: 8081 });
 * // ... on shutdown:
 * await grpc.close();
 */
export async function startGrpcServer(galen: Galen, options: GrpcServerOptions): Promise<GrpcServer> {
  const rpcs = rpcRegistry(galen);
  const server = new Server({ ...serverOptions(galen.config), interceptors: [rpcs.interceptor] });
  let ready = true;
  server.addService(rawRequestServiceDefinition(), {
    ...implementation(galen, rpcs.define, () => ready && (options.readiness?.() ?? true)),
    ...tritonImplementation(galen, rpcs.define),
  });
  const where = address(options.host, options.port);
  const port = await new Promise<number>((resolve, reject) => {
    const tls = readTls(galen.config);
    const credentials = tls
      ? ServerCredentials.createSsl(null, [{ cert_chain: tls.cert, private_key: tls.key }], false)
      : ServerCredentials.createInsecure();
    server.bindAsync(where, credentials, (err, bound) => {
      if (!err) return resolve(bound);
      server.forceShutdown();
      reject(
        new GalenError('unavailable', `cannot listen for gRPC on ${where}: ${err.message}`, { cause: err }),
      );
    });
  });

  let closing: Promise<void> | undefined;
  const timeoutMs = options.shutdownTimeoutMs ?? 10_000;
  return {
    port,
    address: address(options.host, port),
    close() {
      closing ??= new Promise<void>((resolve) => {
        ready = false;
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, timeoutMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closing;
    },
  };
}
