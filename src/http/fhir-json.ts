/** FHIR's JSON at the edge: its media type, parsing FHIR bodies, and errors as OperationOutcome. */
import type { FastifyInstance } from 'fastify';
import { GalenError } from '../core/index.js';
import type { ErrorCode } from '../core/index.js';

export const FHIR_JSON = 'application/fhir+json';

/** Parses `application/fhir+json` bodies in `scope`; a body that is not JSON is invalid input. */
export function acceptFhirJson(scope: FastifyInstance): void {
  scope.addContentTypeParser(FHIR_JSON, { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (err) {
      done(
        new GalenError('invalid_input', `the request body is not valid JSON: ${(err as Error).message}`),
        undefined,
      );
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
  // Data the operation needs could not be obtained (CDS Hooks answers this with 412).
  precondition_failed: 'incomplete',
  unavailable: 'transient',
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
