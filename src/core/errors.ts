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
  'unavailable',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class GalenError extends Error {
  override readonly name = 'GalenError';
  readonly code: ErrorCode;
  /** Extra, non-sensitive facts for the client (never patient data). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
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
  unavailable: { http: 503, grpc: 14 /* UNAVAILABLE */ },
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
export const unavailable = (message: string): GalenError => new GalenError('unavailable', message);
