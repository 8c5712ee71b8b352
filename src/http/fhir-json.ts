/** FHIR's JSON at the edge: its media type, parsing FHIR bodies, and errors as OperationOutcome. */
import type { FastifyInstance } from 'fastify';
import type { ErrorCode, GalenError } from '../core/index.js';
import { invalidJson } from './json-body.js';

export const FHIR_JSON = 'application/fhir+json';

/** Parses `application/fhir+json` bodies in `scope`; a body that is not JSON is invalid input. */
export function acceptFhirJson(scope: FastifyInstance): void {
  scope.addContentTypeParser(FHIR_JSON, { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      // Not V8's message: it quotes the body around the fault.
      done(invalidJson(body as string), undefined);
    }
  });
}

/**
 * FHIR's issue type (`OperationOutcome.issue.code`, value set `issue-type`) for each error code:
 * the most specific type that says what kind of failure it was.
 */
const ISSUE_TYPE: Readonly<Record<ErrorCode, string>> = {
  invalid_input: 'invalid',
  // No credential, or one that is not valid: the caller must (re-)authenticate.
  unauthorized: 'login',
  forbidden: 'forbidden',
  not_found: 'not-found',
  conflict: 'conflict',
  payload_too_large: 'too-costly',
  // "Provided content is too long (typically, this is a denial of service protection type of error)."
  headers_too_large: 'too-long',
  // Data the operation needs could not be obtained (CDS Hooks answers this with 412).
  precondition_failed: 'incomplete',
  // "The system is not prepared to handle this request due to load management."
  too_many_requests: 'throttled',
  unavailable: 'transient',
  // "The interaction, operation, resource or profile is not supported."
  not_implemented: 'not-supported',
  internal: 'exception',
};

/**
 * `err` as an OperationOutcome: one issue of severity `error`, its type, and the message as
 * `diagnostics` (the message names what was wrong and what is allowed, never patient data).
 */
export function operationOutcome(err: GalenError): Record<string, unknown> {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: ISSUE_TYPE[err.code], diagnostics: err.message }],
  };
}
