/**
 * The one way a gRPC call is handled, whatever the RPC: request id, authentication from the
 * `authorization` metadata before the message is read (`authenticationInterceptor`), the
 * permission check, the message checked and only then decoded, an audit record for audited RPCs
 * (written before the answer leaves, whatever its status), and errors turned into gRPC statuses
 * through core's status table. Each RPC declares what it needs, as the HTTP routes do.
 */
import { hrtime } from 'node:process';
import { Metadata, ServerInterceptingCall, status } from '@grpc/grpc-js';
import type {
  sendUnaryData,
  ServerInterceptingCallInterface,
  ServerInterceptor,
  ServerMethodDefinition,
  ServerUnaryCall,
  StatusObject,
} from '@grpc/grpc-js';
import type { Galen } from '../app/index.js';
import {
  GalenError,
  assertCan,
  grpcStatusOf,
  httpStatusOf,
  isGalenError,
  requestIdFrom,
} from '../core/index.js';
import type { Actor, Permission } from '../core/index.js';
import type { Logger } from '../observability/index.js';
import { bearerActor } from '../security/index.js';
import { requestDecoder } from './proto.js';

export interface RpcSpec<Req> {
  /** Method name in `inference.GRPCInferenceService`, for messages and logs. */
  name: string;
  /** Permission the caller's key must hold; omitted = no key needed (liveness and readiness only). */
  permission?: Permission;
  /** Audit action recorded for every call, allowed or not (the HTTP route's action name). */
  audit?: string;
  /**
   * The model a call is about, read from the raw message, for the audit record even when the call
   * fails before the handler. A call refused before its message is read names none.
   */
  modelOf?: (raw: Buffer) => string;
  /** Checks the raw message before it is decoded (counts against limits); throws to refuse. */
  precheck?: (raw: Buffer) => void;
  /** Turns the raw message into the request; default: the method's protobuf decoder. */
  decode?: (raw: Buffer) => Req;
}

/** What the handler learns about the call, and what it adds to the audit record. */
export interface RpcContext {
  readonly requestId: string;
  /** The authenticated caller; null only for RPCs without a permission. */
  readonly actor: Actor | null;
  /** Microseconds left until the client's deadline; undefined when it set none. */
  readonly deadlineMicros: number | undefined;
  audit: { version?: number; detail?: Record<string, unknown> };
}

function deadlineMicrosOf(deadline: Date | number): number | undefined {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(at)) return undefined;
  return Math.max(1, Math.round((at - Date.now()) * 1000));
}

export type RpcHandler<Req, Res> = (request: Req, context: RpcContext) => Promise<Res>;

function requestIdOf(metadata: Metadata): string {
  return requestIdFrom(metadata.get('x-request-id')[0]);
}

/** Who a call's metadata authenticated, handed from the interceptor to the handler. */
interface Caller {
  readonly requestId: string;
  readonly actor: Actor | null;
}

/**
 * Callers authenticated by `authenticationInterceptor`, keyed by the metadata object grpc-js then
 * hands the handler (`call.metadata`); entries go with their call.
 */
const callers = new WeakMap<Metadata, Caller>();

const METHOD_PREFIX = '/inference.GRPCInferenceService/';

function bearerToken(metadata: Metadata): string {
  const values = metadata.get('authorization');
  if (values.length === 0) {
    throw new GalenError(
      'unauthorized',
      'authentication required: send the metadata "authorization: Bearer <API key>"',
    );
  }
  const match =
    values.length === 1 && typeof values[0] === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(values[0]) : null;
  if (!match) {
    throw new GalenError('unauthorized', 'the authorization metadata must be one value, "Bearer <API key>"');
  }
  return match[1]!;
}

/**
 * Turns anything thrown into a gRPC status. Unknown errors become INTERNAL naming the request
 * id and are logged with their stack; their text never reaches the client.
 */
export function toGrpcError(
  logger: Logger,
  rpc: string,
  requestId: string,
  err: unknown,
): { error: GalenError; status: Partial<StatusObject> } {
  let error: GalenError;
  if (isGalenError(err)) {
    error = err;
  } else {
    logger.error({ err, rpc, requestId }, 'unhandled error');
    error = new GalenError('internal', `internal error; quote request id ${requestId} when reporting it`, {
      cause: err,
    });
  }
  const code = grpcStatusOf(error.code);
  if (httpStatusOf(error.code) >= 500) {
    logger.warn({ rpc, requestId, code: error.code, msg: error.message }, 'gRPC call failed');
  }
  if (error.retryAfterSeconds === undefined) return { error, status: { code, details: error.message } };
  // gRPC's Retry-After (gRFC A6): a client retrying this status waits this long before trying again.
  const metadata = new Metadata();
  metadata.set('grpc-retry-pushback-ms', String(error.retryAfterSeconds * 1000));
  return { error, status: { code, details: error.message, metadata } };
}

/** The model a raw message names, for the audit record; null when it names none or is malformed. */
function modelNamed<Req>(spec: RpcSpec<Req>, raw: Buffer): string | null {
  try {
    return spec.modelOf?.(raw) || null;
  } catch {
    return null; // the precheck or the decoder will say what is wrong with the message
  }
}

/** The caller a call's metadata names, or an `unauthorized` error. */
async function authenticate(galen: Galen, metadata: Metadata): Promise<Actor> {
  return bearerActor(bearerToken(metadata), galen.keys, galen.oidc);
}

interface AuditFacts {
  spec: RpcSpec<unknown>;
  requestId: string;
  started: bigint;
  actor: Actor | null;
  model: string | null;
  facts: RpcContext['audit'];
}

/** Writes the audit record of an audited RPC, whatever its outcome; never throws. */
async function writeAudit(galen: Galen, a: AuditFacts, failure: GalenError | undefined): Promise<void> {
  if (a.spec.audit === undefined) return;
  const grpcStatus = failure ? grpcStatusOf(failure.code) : status.OK;
  try {
    await galen.audit.record({
      keyId: a.actor?.keyId ?? null,
      role: a.actor?.role ?? null,
      action: a.spec.audit,
      model: a.model || null,
      version: a.facts.version ?? null,
      // The HTTP status of the same outcome, so the log reads alike whichever edge was used.
      status: failure ? httpStatusOf(failure.code) : 200,
      requestId: a.requestId,
      durationMs: Number(hrtime.bigint() - a.started) / 1e6,
      detail: { ...a.facts.detail, protocol: 'grpc', grpcStatus },
    });
  } catch (err) {
    // The call has already happened; failing it now would only hide that from the caller.
    galen.logger.error(
      { err, action: a.spec.audit, requestId: a.requestId },
      'could not write the audit record',
    );
  }
}

/**
 * A grpc-js server interceptor that authenticates every call to an RPC needing a permission from
 * its metadata alone, before the message is read: a refused call never has its message read off
 * the connection, let alone decoded (grpc-js reads it only once the handler asks, after this).
 * The caller found is handed to `unary` for the permission check.
 *
 * @example
 * new Server({ interceptors: [authenticationInterceptor(galen, (rpc) => specs[rpc])] });
 */
export function authenticationInterceptor(
  galen: Galen,
  specOf: (rpc: string) => RpcSpec<unknown> | undefined,
): ServerInterceptor {
  return (method: ServerMethodDefinition<unknown, unknown>, call: ServerInterceptingCallInterface) => {
    const rpc = method.path.startsWith(METHOD_PREFIX) ? method.path.slice(METHOD_PREFIX.length) : method.path;
    const spec = specOf(rpc);
    return new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, proceed) {
            const started = hrtime.bigint();
            const requestId = requestIdOf(metadata);
            if (spec?.permission === undefined) {
              callers.set(metadata, { requestId, actor: null });
              proceed(metadata);
              return;
            }
            authenticate(galen, metadata).then(
              (actor) => {
                callers.set(metadata, { requestId, actor });
                proceed(metadata);
              },
              async (err: unknown) => {
                const { error, status: refusal } = toGrpcError(galen.logger, rpc, requestId, err);
                const facts = { spec, requestId, started, actor: null, model: null, facts: {} };
                await writeAudit(galen, facts, error);
                const trailers = refusal.metadata ?? new Metadata();
                trailers.set('x-request-id', requestId);
                call.sendStatus({
                  code: refusal.code ?? status.UNAUTHENTICATED,
                  details: refusal.details ?? '',
                  metadata: trailers,
                });
              },
            );
          },
        });
      },
    });
  };
}

/**
 * Wraps `handler` as a grpc-js unary handler with Galen's authentication, permission check,
 * message checks, audit record and error mapping. The service must be registered with raw
 * request messages (`rawRequestServiceDefinition`) and `authenticationInterceptor`.
 *
 * @example
 * unary(galen, { name: 'ModelMetadata', permission: 'model:read' }, (req: ModelRequest) =>
 *   galen.inference.metadata(req.name));
 */
export function unary<Req, Res>(
  galen: Galen,
  spec: RpcSpec<Req>,
  handler: RpcHandler<Req, Res>,
): (call: ServerUnaryCall<Buffer, Res>, callback: sendUnaryData<Res>) => void {
  const decode = spec.decode ?? (requestDecoder(spec.name) as (raw: Buffer) => Req);
  return (call, callback) => {
    const started = hrtime.bigint();
    const known = callers.get(call.metadata);
    const requestId = known?.requestId ?? requestIdOf(call.metadata);
    const reply = new Metadata();
    reply.set('x-request-id', requestId);
    call.sendMetadata(reply);

    const audit: AuditFacts = {
      spec,
      requestId,
      started,
      actor: known?.actor ?? null,
      model: null,
      facts: {},
    };
    const run = async (): Promise<Res> => {
      if (spec.permission !== undefined) {
        // Without the interceptor (it is always installed) the key is still checked, only later.
        audit.actor ??= await authenticate(galen, call.metadata);
        audit.model = modelNamed(spec, call.request);
        assertCan(audit.actor, spec.permission, `call inference.GRPCInferenceService/${spec.name}`);
      }
      spec.precheck?.(call.request);
      let request: Req;
      try {
        request = decode(call.request);
      } catch (err) {
        if (isGalenError(err)) throw err;
        throw new GalenError('invalid_input', `the ${spec.name} request is not a valid protobuf message`, {
          cause: err,
        });
      }
      return handler(request, {
        requestId,
        actor: audit.actor,
        deadlineMicros: deadlineMicrosOf(call.getDeadline()),
        audit: audit.facts,
      });
    };

    void run()
      .then(
        async (response) => {
          await writeAudit(galen, audit, undefined);
          callback(null, response);
        },
        async (err: unknown) => {
          const { error, status: failure } = toGrpcError(galen.logger, spec.name, requestId, err);
          await writeAudit(galen, audit, error);
          callback(failure);
        },
      )
      .catch((err: unknown) => galen.logger.error({ err, rpc: spec.name, requestId }, 'could not answer'));
  };
}

/** Declares one RPC: its spec (kept for the interceptor) and its handler. */
export type DefineRpc = <Req, Res>(
  spec: RpcSpec<Req>,
  handler: RpcHandler<Req, Res>,
) => (call: ServerUnaryCall<Buffer, Res>, callback: sendUnaryData<Res>) => void;

/**
 * Where a server's RPCs are declared, so that the interceptor and the handlers read the same
 * specs.
 *
 * @example
 * const rpcs = rpcRegistry(galen);
 * const impl = { ServerLive: rpcs.define({ name: 'ServerLive' }, async () => ({ live: true })) };
 * new Server({ interceptors: [rpcs.interceptor] });
 */
export function rpcRegistry(galen: Galen): { define: DefineRpc; interceptor: ServerInterceptor } {
  const specs = new Map<string, RpcSpec<unknown>>();
  return {
    define: (spec, handler) => {
      specs.set(spec.name, spec);
      return unary(galen, spec, handler);
    },
    interceptor: authenticationInterceptor(galen, (rpc) => specs.get(rpc)),
  };
}
