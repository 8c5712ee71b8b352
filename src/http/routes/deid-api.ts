/**
 * De-identification over HTTP: `POST /api/v1/deid/fhir?mode=safe-harbor|pseudonymous` takes a FHIR
 * Bundle (or resource) and answers the de-identified one with a report of every change (the
 * `Galen-Deid-Report` header holds it as JSON); `POST /api/v1/deid/csv` takes a table and its
 * rules and answers the de-identified table with its report (k and l achieved, rows suppressed). Pseudonymous mode needs the server's key
 * (`deid.keyFile`); keys are never taken from requests. Nothing is stored.
 */
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Static } from 'typebox';
import type { Galen } from '../../app/index.js';
import { readDeidKey } from '../../config/index.js';
import { GalenError } from '../../core/index.js';
import { formatCsv, parseCsv } from '../../datasets/index.js';
import { deidentifyFhir, deidentifyTable, parseTableDeidConfig } from '../../deid/index.js';
import { FHIR_JSON, acceptFhirJson } from '../fhir-json.js';

const Query = Type.Object(
  { mode: Type.Optional(Type.Union([Type.Literal('safe-harbor'), Type.Literal('pseudonymous')])) },
  { additionalProperties: false },
);

const CsvBody = Type.Object(
  {
    csv: Type.String({ description: 'The table, as CSV text with a header row.' }),
    rules: Type.Record(Type.String(), Type.Unknown(), {
      description:
        '{"columns": {"<column>": "keep|remove|pseudonymize|year|zip3|age|mask"}, "otherColumns"?, "quasiIdentifiers"?, "k"?, "lDiversity"?, "maxSuppression"?}',
    }),
  },
  { additionalProperties: false },
);

export function deidRoutes(app: FastifyInstance, galen: Galen): void {
  const key = readDeidKey(galen.config);
  app.post(
    '/api/v1/deid/csv',
    {
      schema: {
        tags: ['deid'],
        summary:
          'De-identify a table: per-column rules, then k-anonymity (and l-diversity) over quasi-identifiers; nothing is stored',
        body: CsvBody,
      },
      config: { permission: 'data:write', audit: 'deid.csv' },
    },
    (request, reply) => {
      const body = request.body as Static<typeof CsvBody>;
      const rules = parseTableDeidConfig(body.rules);
      if (Object.values(rules.columns).includes('pseudonymize') && !key) {
        throw new GalenError(
          'precondition_failed',
          'a "pseudonymize" rule needs the server key: set deid.keyFile (GALEN_DEID_KEY_FILE)',
        );
      }
      const table = parseCsv(Buffer.from(body.csv, 'utf8'));
      const { header, rows, report } = deidentifyTable(table.columns, table.rows, rules, key);
      request.auditFacts = {
        detail: { rows: report.rows, suppressed: report.suppressedRows, k: report.k ?? null },
      };
      return reply.send({ csv: formatCsv(header, rows), report });
    },
  );
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
