/** FHIR's JSON media type, for routes that take FHIR resources. */
import type { FastifyInstance } from 'fastify';
import { GalenError } from '../core/index.js';

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
