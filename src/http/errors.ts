/**
 * Turns anything thrown into a protocol error reply, through the one status table in core.
 * Unknown errors become 500 with the request id, and are logged; their text never reaches
 * the client.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { GalenError, NAME_MAX_LENGTH, NAME_RULE, httpStatusOf, isGalenError } from '../core/index.js';
import type { ErrorFormat } from './context.js';
import { FHIR_JSON, operationOutcome } from './fhir-json.js';

function isFastifyError(err: unknown): err is FastifyError {
  return err instanceof Error && 'code' in err && typeof (err as FastifyError).code === 'string';
}

/**
 * What a schema allows, for the end of a validation message: the choices of an `enum` or `const`,
 * or the name of a property it does not know. Only the schema's own words and property names are
 * quoted back, never a value the client sent (it may be a patient's).
 */
function allowedOf(params: Record<string, unknown>): string {
  if (Array.isArray(params['allowedValues'])) return `: ${params['allowedValues'].map(String).join(', ')}`;
  if ('allowedValue' in params) return `: ${String(params['allowedValue'])}`;
  if (typeof params['additionalProperty'] === 'string') return ` ("${params['additionalProperty']}")`;
  return '';
}

/** Maps Fastify's own errors (validation, body parsing, size limits, URLs) to Galen's codes. */
function fromFastify(err: FastifyError, request: FastifyRequest): GalenError | undefined {
  // The path is not echoed in these messages: under /fhir/ it may hold a patient's id.
  if (err.validation) {
    // A body left out (or sent empty, which the edge reads as left out) fails its schema at the root.
    if (err.validationContext === 'body' && request.body === undefined) {
      return new GalenError(
        'invalid_input',
        'the request body is empty; this endpoint expects a JSON object',
      );
    }
    const where = err.validationContext ?? 'request';
    const problems = err.validation.map(
      (v) => `${where}${v.instancePath || ''} ${v.message ?? 'is invalid'}${allowedOf(v.params)}`,
    );
    return new GalenError('invalid_input', `invalid request: ${problems.join('; ')}`);
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GalenError(
        'payload_too_large',
        `the request body is larger than this endpoint allows: ${err.message}`,
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new GalenError(
        'invalid_input',
        `${err.message}; send application/json (or application/octet-stream for model uploads)`,
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new GalenError(
        'invalid_input',
        'the request body is empty; this endpoint expects a JSON object',
      );
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new GalenError('invalid_input', `the request body is not valid JSON: ${err.message}`);
    // The router refuses these before any route is known; the messages name the rule broken.
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new GalenError(
        'invalid_input',
        `a segment of the URL path is longer than ${NAME_MAX_LENGTH} characters; ${NAME_RULE}`,
      );
    case 'FST_ERR_BAD_URL':
      return new GalenError(
        'invalid_input',
        `the URL path has an invalid %-encoding; each "%" must be followed by two hex digits, and the bytes must spell UTF-8 text`,
      );
    default:
      if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
        return new GalenError('invalid_input', err.message);
      }
      return undefined;
  }
}

/**
 * What each protocol's errors look like on the wire: the one place this is decided. The format
 * comes from the route (`config.errorFormat`), so a route's errors look alike whichever part of
 * the server refused the request (security hooks, schema, body parser, size check, handler).
 */
const ERROR_FORMATS: Readonly<
  Record<ErrorFormat, { type: string; body: (err: GalenError) => Record<string, unknown> }>
> = {
  // Exactly `application/json`: KServe's REST client reads the error text only then.
  oip: { type: 'application/json', body: (err) => ({ error: err.message }) },
  native: { type: 'application/json', body: (err) => ({ error: err.message, code: err.code }) },
  fhir: { type: FHIR_JSON, body: operationOutcome },
  // CDS Hooks 2.0 is JSON over HTTPS ("all data ... MUST be sent and received as JSON") and
  // defines no error body; its other answers (discovery, cards) are `application/json`, so an EHR's
  // client reads its errors as the same type. The body is still FHIR's OperationOutcome.
  cds: { type: 'application/json', body: operationOutcome },
};

/**
 * The error format of a request: its route's, or for a path no route matched (an unknown path, a
 * malformed URL) the protocol its prefix belongs to, so a FHIR or CDS client still gets an
 * OperationOutcome.
 */
export function errorFormatOf(request: FastifyRequest): ErrorFormat {
  const declared = request.routeOptions.config.errorFormat;
  if (declared !== undefined) return declared;
  const path = request.url;
  if (/^\/fhir(\/|\?|$)/.test(path)) return 'fhir';
  if (/^\/cds-services(\/|\?|$)/.test(path)) return 'cds';
  if (/^\/v[12](\/|\?|$)/.test(path)) return 'oip';
  return 'native';
}

/** Answers `err` (anything thrown) in the request's error format, with its status from core's table. */
export function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  let galenError: GalenError;
  if (isGalenError(err)) {
    galenError = err;
  } else if (isFastifyError(err) && fromFastify(err, request)) {
    galenError = fromFastify(err, request)!;
  } else if (err instanceof SyntaxError) {
    // V8's message quotes the text around the fault (patient data): only its position is kept.
    const at = /at position (\d+)/.exec(err.message)?.[1];
    galenError = new GalenError(
      'invalid_input',
      `the request body is not valid JSON${at === undefined ? '' : ` (at character ${Number(at) + 1})`}`,
    );
  } else {
    request.log.error({ err }, 'unhandled error');
    galenError = new GalenError(
      'internal',
      `internal error; quote request id ${request.id} when reporting it`,
    );
  }
  const status = httpStatusOf(galenError.code);
  if (status >= 500)
    request.log.warn({ code: galenError.code, reason: galenError.message }, 'request failed');
  if (galenError.code === 'unauthorized') void reply.header('www-authenticate', 'Bearer realm="galen"');
  // Only a condition that passes by itself says when to try again: a permanent one has no Retry-After.
  if (galenError.retryAfterSeconds !== undefined)
    void reply.header('retry-after', String(galenError.retryAfterSeconds));
  const format = ERROR_FORMATS[errorFormatOf(request)];
  // The type exactly as the table says: Fastify adds `; charset=utf-8` to a JSON type unless the
  // reply has its own serializer (RFC 8259 defines no charset; JSON is UTF-8 anyway).
  return reply.code(status).type(format.type).serializer(JSON.stringify).send(format.body(galenError));
}
