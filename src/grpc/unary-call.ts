/**
 * The one way a gRPC call is handled, whatever the RPC: request id, authentication from the
 * `authorization` metadata, the permission check, an audit record for audited RPCs (written
 * before the answer leaves, whatever its status), and errors turned into gRPC statuses through
 * core's status table. Each RPC declares what it needs, as the HTTP routes do.
 */
import { hrtime } from 'node:process';
import { Metadata, status } from '@grpc/grpc-js';
import type { sendUnaryData, ServerUnaryCall, StatusObject } from '@grpc/grpc-js';
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

/** The same rule the HTTP edge applies to `x-request-id`. */

export interface RpcSpec<Req> {
  /** Method name in `inference.GRPCInferenceService`, for messages and logs. */
  name: string;
  /** Permission the caller's key must hold; omitted = no key needed (liveness and readiness only). */
  permission?: Permission;
  /** Audit action recorded for every call, allowed or not (the HTTP route's action name). */
  audit?: string;
  /** The model a call is about, for the audit record even when the call fails before the handler. */
  modelOf?: (request: Req) => string;
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
  return { error, status: { code, details: error.message } };
}

/**
 * Wraps `handler` as a grpc-js unary handler with Galen's authentication, permission check,
 * audit record and error mapping.
 *
 * @example
 * unary(galen, { name: 'ModelMetadata', permission: 'model:read' }, (req: ModelRequest) =>
 *   galen.inference.metadata(req.name));
 */
export function unary<Req, Res>(
  galen: Galen,
  spec: RpcSpec<Req>,
  handler: RpcHandler<Req, Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    const started = hrtime.bigint();
    const requestId = requestIdOf(call.metadata);
    const reply = new Metadata();
    reply.set('x-request-id', requestId);
    call.sendMetadata(reply);

    let actor: Actor | null = null;
    const facts: RpcContext['audit'] = {};
    const run = async (): Promise<Res> => {
      if (spec.permission !== undefined) {
        actor = await bearerActor(bearerToken(call.metadata), galen.keys, galen.oidc);
        assertCan(actor, spec.permission, `call inference.GRPCInferenceService/${spec.name}`);
      }
      return handler(call.request, {
        requestId,
        actor,
        deadlineMicros: deadlineMicrosOf(call.getDeadline()),
        audit: facts,
      });
    };
    const audit = async (failure: GalenError | undefined): Promise<void> => {
      if (spec.audit === undefined) return;
      const grpcStatus = failure ? grpcStatusOf(failure.code) : status.OK;
      try {
        await galen.audit.record({
          keyId: actor?.keyId ?? null,
          role: actor?.role ?? null,
          action: spec.audit,
          model: spec.modelOf?.(call.request) || null,
          version: facts.version ?? null,
          // The HTTP status of the same outcome, so the log reads alike whichever edge was used.
          status: failure ? httpStatusOf(failure.code) : 200,
          requestId,
          durationMs: Number(hrtime.bigint() - started) / 1e6,
          detail: { ...facts.detail, protocol: 'grpc', grpcStatus },
        });
      } catch (err) {
        // The call has already happened; failing it now would only hide that from the caller.
        galen.logger.error({ err, action: spec.audit, requestId }, 'could not write the audit record');
      }
    };

    void run()
      .then(
        async (response) => {
          await audit(undefined);
          callback(null, response);
        },
        async (err: unknown) => {
          const { error, status: failure } = toGrpcError(galen.logger, spec.name, requestId, err);
          await audit(error);
          callback(failure);
        },
      )
      .catch((err: unknown) => galen.logger.error({ err, rpc: spec.name, requestId }, 'could not answer'));
  };
}
