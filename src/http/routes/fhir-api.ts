/**
 * FHIR R4 at the edge: a version's feature map (`PUT|GET /api/v1/models/{m}/versions/{v}/feature-map`)
 * and the operation `POST /fhir/Patient/$predict?model=…[&version=…]`, which takes the patient's
 * data as a Bundle and answers a RiskAssessment; and the CDS Hooks 2.0 routes under `/cds-services`.
 * FHIR and CDS Hooks routes answer errors as OperationOutcome (`errorFormat` `fhir`, `cds`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { Static } from 'typebox';
import type { Galen } from '../../app/index.js';
import {
  callCdsService,
  cdsFeedbackCounts,
  listCdsServices,
  predictFromFhir,
  predictOperationInput,
  recordCdsFeedback,
} from '../../clinical/index.js';
import type { CdsRequest } from '../../clinical/index.js';
import { assertVersionNumber } from '../../serving/index.js';
import { FHIR_JSON, acceptFhirJson } from '../fhir-json.js';
import { FeatureMapSchema, FeatureMapViewSchema } from './feature-map-schema.js';
import { ErrorSchema } from './schemas.js';

const VersionParams = Type.Object({ model: Type.String(), version: Type.String() });
const PredictQuery = Type.Object(
  {
    model: Type.Optional(
      Type.String({ minLength: 1, description: 'the model to run (or a "model" parameter in the body)' }),
    ),
    version: Type.Optional(
      Type.String({ description: 'a version number or alias (default: production, else the latest)' }),
    ),
  },
  { additionalProperties: false },
);
const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema };

export function fhirApiRoutes(app: FastifyInstance, galen: Galen): void {
  app.put(
    '/api/v1/models/:model/versions/:version/feature-map',
    {
      schema: {
        tags: ['fhir'],
        summary: "Set how each of a version's inputs is built from FHIR data (checked against its signature)",
        params: VersionParams,
        body: FeatureMapSchema,
        response: { 200: FeatureMapViewSchema, ...errors },
      },
      config: { permission: 'model:write', audit: 'feature_map.set' },
    },
    async (request) => {
      const { model, version } = request.params as Static<typeof VersionParams>;
      const number = assertVersionNumber(version);
      request.auditFacts = { version: number };
      return galen.registry.setFeatureMap(model, number, request.body, request.actor!);
    },
  );

  app.get(
    '/api/v1/models/:model/versions/:version/feature-map',
    {
      schema: {
        tags: ['fhir'],
        summary: "A version's feature map",
        params: VersionParams,
        response: { 200: FeatureMapViewSchema, ...errors },
      },
      config: { permission: 'model:read' },
    },
    async (request) => {
      const { model, version } = request.params as Static<typeof VersionParams>;
      return galen.registry.getFeatureMap(model, assertVersionNumber(version));
    },
  );

  app.get(
    '/cds-services',
    {
      schema: {
        tags: ['cds-hooks'],
        summary: 'CDS Hooks discovery: the services backed by models with a feature map',
      },
      config: { permission: 'model:read', cdsClient: 'or-api-key', errorFormat: 'cds' },
    },
    async () => ({ services: await listCdsServices(galen.registry) }),
  );

  app.post(
    '/cds-services/:id',
    {
      schema: {
        tags: ['cds-hooks'],
        summary: 'Call a CDS service (patient-view, order-select): answers cards',
        params: Type.Object({ id: Type.String() }),
        body: Type.Object({}, { additionalProperties: true }),
      },
      config: { permission: 'infer', audit: 'infer', cdsClient: 'required', errorFormat: 'cds' },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      request.auditFacts = { detail: { service: id } };
      const caller = {
        client: request.actor!.keyId,
        fhirServers: galen.cdsClients.fhirServersOf(request.actor!),
      };
      const { model, version, answer } = await callCdsService(galen, id, request.body as CdsRequest, caller);
      request.auditFacts = { model, version, detail: { service: id } };
      return answer;
    },
  );

  app.post(
    '/cds-services/:id/feedback',
    {
      schema: {
        tags: ['cds-hooks'],
        summary: "CDS Hooks feedback: what was done with a service's cards",
        params: Type.Object({ id: Type.String() }),
        body: Type.Object({}, { additionalProperties: true }),
      },
      config: { permission: 'infer', audit: 'cds.feedback', cdsClient: 'required', errorFormat: 'cds' },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      request.auditFacts = { detail: { service: id } };
      const { model, ...recorded } = await recordCdsFeedback(galen, id, request.body, request.actor!);
      request.auditFacts = { model, detail: { service: id } };
      return recorded;
    },
  );

  app.get(
    '/api/v1/cds-services/:id/feedback',
    {
      schema: {
        tags: ['cds-hooks'],
        summary: "Counts of a CDS service's cards accepted and overridden",
        params: Type.Object({ id: Type.String() }),
      },
      config: { permission: 'model:read' },
    },
    async (request) => cdsFeedbackCounts(galen, (request.params as { id: string }).id),
  );

  void app.register((fhir) => {
    // FHIR's own media type, and plain JSON; a body that is not JSON is an OperationOutcome too.
    acceptFhirJson(fhir);
    const predict = async (request: FastifyRequest, reply: FastifyReply, patientId?: string) => {
      const input = predictOperationInput(request.body, request.query as Static<typeof PredictQuery>);
      request.auditFacts = { model: input.model };
      const assessment = await predictFromFhir(galen, { ...input, patientId, protocol: 'fhir' });
      return reply.type(FHIR_JSON).send(assessment);
    };
    const operation = {
      tags: ['fhir'],
      querystring: PredictQuery,
      description:
        'The body is the Bundle (model and version in the query), or a Parameters resource with "bundle" (resource), "model" and "version" (valueString).',
    };
    const config = { permission: 'infer', audit: 'infer', errorFormat: 'fhir' } as const;
    fhir.post(
      '/fhir/Patient/$predict',
      {
        schema: {
          ...operation,
          summary: 'Predict for one patient from their FHIR data (a Bundle); answers a RiskAssessment',
        },
        config,
      },
      async (request, reply) => predict(request, reply),
    );
    fhir.post(
      '/fhir/Patient/:id/$predict',
      {
        schema: {
          ...operation,
          summary:
            'Predict for Patient/{id} from their FHIR data (a Bundle with that patient); answers a RiskAssessment',
          params: Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9\\-.]{1,64}$' }) }),
        },
        config,
      },
      async (request, reply) => predict(request, reply, (request.params as { id: string }).id),
    );
  });
}
