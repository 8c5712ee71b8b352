/**
 * Turns anything thrown into a protocol error reply, through the one status table in core.
 * Unknown errors become 500 with the request id, and are logged; their text never reaches
 * the client.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { GalenError, httpStatusOf, isGalenError } from '../core/index.js';
import type { ErrorFormat } from './context.js';

function isFastifyError(err: unknown): err is FastifyError {
  return err instanceof Error && 'code' in err && typeof (err as FastifyError).code === 'string';
}

/** Maps Fastify's own errors (validation, body parsing, size limits) to Galen's codes. */
function fromFastify(err: FastifyError): GalenError | undefined {
  if (err.validation) {
    const where = err.validationContext ?? 'request';
    const problems = err.validation.map(
      (v) => `${where}${v.instancePath || ''} ${v.message ?? 'is invalid'}`,
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
    default:
      if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
        return new GalenError('invalid_input', err.message);
      }
      return undefined;
  }
}

/** FHIR's issue type for each error code (OperationOutcome.issue.code). */
const FHIR_ISSUE: Readonly<Record<GalenError['code'], string>> = {
  invalid_input: 'invalid',
  unauthorized: 'login',
  forbidden: 'forbidden',
  not_found: 'not-found',
  conflict: 'conflict',
  payload_too_large: 'too-costly',
  precondition_failed: 'incomplete',
  unavailable: 'transient',
  internal: 'exception',
};

export function errorBody(format: ErrorFormat, err: GalenError): Record<string, unknown> {
  if (format === 'fhir') {
    return {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: FHIR_ISSUE[err.code], diagnostics: err.message }],
    };
  }
  return format === 'oip' ? { error: err.message } : { error: err.message, code: err.code };
}

export function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  let galenError: GalenError;
  if (isGalenError(err)) {
    galenError = err;
  } else if (isFastifyError(err) && fromFastify(err)) {
    galenError = fromFastify(err)!;
  } else if (err instanceof SyntaxError) {
    galenError = new GalenError('invalid_input', `the request body is not valid JSON: ${err.message}`);
  } else {
    request.log.error({ err }, 'unhandled error');
    galenError = new GalenError(
      'internal',
      `internal error; quote request id ${request.id} when reporting it`,
    );
  }
  const status = httpStatusOf(galenError.code);
  if (status >= 500) request.log.warn({ code: galenError.code, msg: galenError.message }, 'request failed');
  if (galenError.code === 'unauthorized') void reply.header('www-authenticate', 'Bearer realm="galen"');
  if (galenError.code === 'unavailable') void reply.header('retry-after', '1');
  const format = request.routeOptions.config.errorFormat ?? 'native';
  if (format === 'fhir') void reply.type('application/fhir+json');
  return reply.code(status).send(errorBody(format, galenError));
}
