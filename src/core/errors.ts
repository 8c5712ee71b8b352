/**
 * Galen's one domain error type and the one table that maps its codes to protocol statuses.
 * Domain modules throw `GalenError`; only the edges (HTTP, gRPC, CLI) translate it.
 */

export const ERROR_CODES = [
  'invalid_input',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'payload_too_large',
  'headers_too_large',
  'precondition_failed',
  'too_many_requests',
  'unavailable',
  'not_implemented',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class GalenError extends Error {
  override readonly name = 'GalenError';
  readonly code: ErrorCode;
  /** Extra, non-sensitive facts for the client (never patient data). */
  readonly details: Readonly<Record<string, unknown>> | undefined;
  /**
   * Whole seconds after which the same call may succeed, for a condition that passes by itself
   * (a full queue, a quota, a shutdown): sent as HTTP `Retry-After` and gRPC's retry pushback.
   * Absent for a condition a retry cannot change (a feature this server does not run).
   */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown>; retryAfterSeconds?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
    const retry = options?.retryAfterSeconds;
    // Retry-After is a whole number of seconds (RFC 9110 §10.2.3); at least 1, so it is never "now".
    this.retryAfterSeconds = retry === undefined ? undefined : Math.max(1, Math.ceil(retry));
  }
}

/** Protocol statuses for every code: the only place this mapping lives. */
const STATUS_TABLE: Readonly<Record<ErrorCode, { http: number; grpc: number }>> = {
  invalid_input: { http: 400, grpc: 3 /* INVALID_ARGUMENT */ },
  unauthorized: { http: 401, grpc: 16 /* UNAUTHENTICATED */ },
  forbidden: { http: 403, grpc: 7 /* PERMISSION_DENIED */ },
  not_found: { http: 404, grpc: 5 /* NOT_FOUND */ },
  conflict: { http: 409, grpc: 6 /* ALREADY_EXISTS */ },
  payload_too_large: { http: 413, grpc: 8 /* RESOURCE_EXHAUSTED */ },
  headers_too_large: { http: 431, grpc: 8 /* RESOURCE_EXHAUSTED */ },
  precondition_failed: { http: 412, grpc: 9 /* FAILED_PRECONDITION */ },
  // A per-caller quota (RFC 6585 §4); gRPC's "perhaps a per-user quota". Sent with a retry delay.
  too_many_requests: { http: 429, grpc: 8 /* RESOURCE_EXHAUSTED */ },
  // Passes by itself (a full queue, a shutdown): 503 says "temporary", and the error carries its
  // retry delay. What lasts until an operator acts is `not_implemented` or `internal`, never this.
  unavailable: { http: 503, grpc: 14 /* UNAVAILABLE */ },
  // A feature this server does not run (no PyTorch, no optimisation jobs in this process): Triton
  // answers its UNSUPPORTED so (HTTP 501, gRPC UNIMPLEMENTED), and neither is retried by clients.
  not_implemented: { http: 501, grpc: 12 /* UNIMPLEMENTED */ },
  internal: { http: 500, grpc: 13 /* INTERNAL */ },
};

export function httpStatusOf(code: ErrorCode): number {
  return STATUS_TABLE[code].http;
}

export function grpcStatusOf(code: ErrorCode): number {
  return STATUS_TABLE[code].grpc;
}

/** The code an HTTP status stands for (a client reading a Galen server's answer); `internal` when none. */
export function errorCodeOfHttpStatus(status: number): ErrorCode {
  const entry = Object.entries(STATUS_TABLE).find(([, s]) => s.http === status);
  return entry ? (entry[0] as ErrorCode) : 'internal';
}

export function isGalenError(value: unknown): value is GalenError {
  return value instanceof GalenError;
}

/** Shorthands that keep throw sites readable. */
export const invalidInput = (message: string, details?: Record<string, unknown>): GalenError =>
  new GalenError('invalid_input', message, details ? { details } : undefined);
export const notFound = (message: string): GalenError => new GalenError('not_found', message);
export const conflict = (message: string): GalenError => new GalenError('conflict', message);
/** A condition that passes by itself; `retryAfterSeconds` is when the same call may succeed. */
export const unavailable = (message: string, retryAfterSeconds: number): GalenError =>
  new GalenError('unavailable', message, { retryAfterSeconds });
