/**
 * De-identification over HTTP: `POST /api/v1/deid/fhir?mode=safe-harbor|pseudonymous` takes a FHIR
 * Bundle (or resource) and answers the de-identified one with a report of every change (the
 * `Galen-Deid-Report` header holds it as JSON). Pseudonymous mode needs the server's key
 * (`deid.keyFile`); keys are never taken from requests. Nothing is stored.
 */
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Static } from 'typebox';
import type { Galen } from '../../app/index.js';
import { readDeidKey } from '../../config/index.js';
import { GalenError } from '../../core/index.js';
import { deidentifyFhir } from '../../deid/index.js';
import { FHIR_JSON, acceptFhirJson } from '../fhir-json.js';

const Query = Type.Object(
  { mode: Type.Optional(Type.Union([Type.Literal('safe-harbor'), Type.Literal('pseudonymous')])) },
  { additionalProperties: false },
);

export function deidRoutes(app: FastifyInstance, galen: Galen): void {
  const key = readDeidKey(galen.config);
  void app.register((scope) => {
    acceptFhirJson(scope);
    scope.post(
      '/api/v1/deid/fhir',
      {
        schema: {
          tags: ['deid'],
          summary: 'De-identify a FHIR Bundle (HIPAA Safe Harbor, or keyed pseudonyms); nothing is stored',
          querystring: Query,
        },
        config: { permission: 'data:write', audit: 'deid.fhir' },
      },
      async (request, reply) => {
        const mode = (request.query as Static<typeof Query>).mode ?? 'safe-harbor';
        if (mode === 'pseudonymous' && !key) {
          throw new GalenError(
            'precondition_failed',
            'pseudonymous de-identification needs the server key: set deid.keyFile (GALEN_DEID_KEY_FILE)',
          );
        }
        const { output, report } = deidentifyFhir(request.body, { mode, key });
        request.auditFacts = { detail: { mode, changes: Object.values(report).reduce((a, b) => a + b, 0) } };
        return reply.header('galen-deid-report', JSON.stringify(report)).type(FHIR_JSON).send(output);
      },
    );
  });
}
