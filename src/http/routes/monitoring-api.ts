/**
 * Monitoring over HTTP: a model's report (drift, live performance, subgroups, alert states per
 * window), its settings (sample rate, alert rules), labels for recorded predictions by request
 * id, a version's reference, alert history, and judging the rules now.
 */
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Static } from 'typebox';
import type { Galen } from '../../app/index.js';
import { GalenError } from '../../core/index.js';
import { assertVersionNumber } from '../../serving/index.js';
import { decodeInferInputs } from '../oip-binary.js';
import { InferRequestBody } from './oip-inference.js';
import { ErrorSchema } from './schemas.js';

const ModelParams = Type.Object({ model: Type.String() });
const VersionParams = Type.Object({ model: Type.String(), version: Type.String() });
const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema };

const ReportQuery = Type.Object(
  {
    version: Type.Optional(
      Type.String({ description: 'Version number or alias (default: production, else latest).' }),
    ),
    window: Type.Optional(
      Type.String({ description: 'Window length, an ISO 8601 duration such as PT1H or P1D.' }),
    ),
    windows: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 90, description: 'How many windows, ending at `end`.' }),
    ),
    end: Type.Optional(
      Type.String({ description: 'End of the last window, an ISO 8601 date-time (default: now).' }),
    ),
  },
  { additionalProperties: false },
);

const LabelsBody = Type.Object(
  {
    labels: Type.Array(
      Type.Object(
        {
          id: Type.String({
            minLength: 1,
            maxLength: 256,
            description: 'The `id` the inference request carried.',
          }),
          label: Type.Union([Type.String(), Type.Number(), Type.Boolean()]),
          row: Type.Optional(Type.Integer({ minimum: 0 })),
          groups: Type.Optional(Type.Record(Type.String(), Type.String())),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 10_000 },
    ),
  },
  { additionalProperties: false },
);

const ReferenceBody = Type.Object(
  {
    inputs: InferRequestBody.properties.inputs,
    labels: Type.Optional(Type.Array(Type.Union([Type.String(), Type.Number(), Type.Boolean()]))),
    output: Type.Optional(Type.String({ minLength: 1 })),
    classes: Type.Optional(Type.Array(Type.String())),
    names: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    subgroup_features: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);

export function monitoringRoutes(app: FastifyInstance, galen: Galen): void {
  app.get(
    '/api/v1/models/:model/monitoring',
    {
      schema: {
        tags: ['monitoring'],
        summary:
          'Drift of inputs and prediction, live performance from labels, subgroup gaps and alert states, per window',
        params: ModelParams,
        querystring: ReportQuery,
        response: errors,
      },
      config: { permission: 'model:read' },
    },
    async (request) => {
      const { model } = request.params as Static<typeof ModelParams>;
      const q = request.query as Static<typeof ReportQuery>;
      const end = q.end === undefined ? undefined : new Date(q.end);
      if (end && !(Math.abs(end.getTime() - Date.now()) < 100 * 366 * 86_400_000))
        throw new GalenError(
          'invalid_input',
          `end "${q.end}" is not an ISO 8601 date-time within a century of now, e.g. "2026-11-24T00:00:00Z"`,
        );
      return galen.monitoring.report(model, q.version, { window: q.window, windows: q.windows, end });
    },
  );

  app.get(
    '/api/v1/models/:model/monitoring/settings',
    {
      schema: {
        tags: ['monitoring'],
        summary: "A model's sample rate and alert rules",
        params: ModelParams,
        response: errors,
      },
      config: { permission: 'model:read' },
    },
    async (request) => galen.monitoring.settings((request.params as Static<typeof ModelParams>).model),
  );

  app.put(
    '/api/v1/models/:model/monitoring/settings',
    {
      schema: {
        tags: ['monitoring'],
        summary: "Replace a model's sample rate and alert rules",
        params: ModelParams,
        body: Type.Object({}, { additionalProperties: true }),
        response: errors,
      },
      config: { permission: 'model:write', audit: 'monitoring.configure' },
    },
    async (request) =>
      galen.monitoring.configure(
        (request.params as Static<typeof ModelParams>).model,
        request.body,
        request.actor!,
      ),
  );

  app.post(
    '/api/v1/models/:model/monitoring/labels',
    {
      schema: {
        tags: ['monitoring'],
        summary: 'Labels (observed outcomes) for recorded predictions, by the request id they carried',
        params: ModelParams,
        body: LabelsBody,
        response: errors,
      },
      config: { permission: 'data:write', audit: 'monitoring.labels' },
    },
    async (request) => {
      const { model } = request.params as Static<typeof ModelParams>;
      const body = request.body as Static<typeof LabelsBody>;
      const result = await galen.monitoring.addLabels(model, body.labels, request.actor!);
      request.auditFacts = {
        detail: {
          accepted: result.accepted,
          unmatched: result.unmatched.length,
          rejected: result.rejected.length,
        },
      };
      return result;
    },
  );

  app.put(
    '/api/v1/models/:model/versions/:version/monitoring/reference',
    {
      schema: {
        tags: ['monitoring'],
        summary:
          'Give a version reference rows (20–50,000, with optional labels): the distributions production is compared with',
        params: VersionParams,
        body: ReferenceBody,
        response: errors,
      },
      config: { permission: 'model:write', audit: 'monitoring.reference' },
    },
    async (request) => {
      const { model, version } = request.params as Static<typeof VersionParams>;
      const body = request.body as Static<typeof ReferenceBody>;
      const number = assertVersionNumber(version);
      request.auditFacts = { version: number };
      return galen.monitoring.setReference(
        {
          model,
          version: number,
          inputs: decodeInferInputs({ inputs: body.inputs }, undefined),
          labels: body.labels,
          output: body.output,
          classes: body.classes,
          names: body.names,
          subgroupFeatures: body.subgroup_features,
          description: body.description,
        },
        request.actor!,
      );
    },
  );

  app.get(
    '/api/v1/models/:model/monitoring/alerts',
    {
      schema: {
        tags: ['monitoring'],
        summary: "A model's alert events (rules firing and resolving), newest first",
        params: ModelParams,
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }),
        response: errors,
      },
      config: { permission: 'model:read' },
    },
    async (request) => {
      const { model } = request.params as Static<typeof ModelParams>;
      const { limit } = request.query as { limit?: number };
      return { events: await galen.monitoring.alertEvents(model, limit) };
    },
  );

  app.post(
    '/api/v1/models/:model/monitoring/evaluate',
    {
      schema: {
        tags: ['monitoring'],
        summary:
          "Judge the model's alert rules now (they are also judged on a timer); returns the state changes",
        params: ModelParams,
        response: errors,
      },
      config: { permission: 'model:write', audit: 'monitoring.evaluate' },
    },
    async (request) => {
      const { model } = request.params as Static<typeof ModelParams>;
      await galen.registry.getModel(model);
      return { changes: await galen.monitoring.evaluateAll(model) };
    },
  );
}
