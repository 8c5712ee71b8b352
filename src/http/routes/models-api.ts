/**
 * The native model API under /api/v1: list and inspect models, upload versions (the ONNX file
 * streamed as the request body), move aliases, archive and restore.
 */
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Static } from 'typebox';
import type { Galen } from '../../app/index.js';
import { GalenError } from '../../core/index.js';
import { renderModelCardMarkdown } from '../../jobs/index.js';
import type { ModelCard } from '../../jobs/index.js';
import { parseVersionRef } from '../../registry/index.js';
import {
  EffectiveServingSchema,
  ErrorSchema,
  ModelDetailSchema,
  ModelSchema,
  ServingSettingsSchema,
  VersionSchema,
} from './schemas.js';

const ModelParam = Type.Object({ model: Type.String() });
const VersionParams = Type.Object({
  model: Type.String(),
  version: Type.String({ description: 'a version number or an alias' }),
});
const AliasParams = Type.Object({ model: Type.String(), alias: Type.String() });

const UploadQuery = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
    modelDescription: Type.Optional(
      Type.String({ maxLength: 10_000, description: 'used when this upload creates the model' }),
    ),
    framework: Type.Optional(Type.String({ maxLength: 200 })),
    source: Type.Optional(Type.String({ maxLength: 2000 })),
    datasetSha256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
    parameters: Type.Optional(Type.String({ description: 'training parameters as a JSON object' })),
    metrics: Type.Optional(Type.String({ description: 'evaluation metrics as a JSON object' })),
  },
  { additionalProperties: false },
);

function jsonObjectParam(name: string, text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new GalenError('invalid_input', `query parameter "${name}" must be a JSON object`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GalenError('invalid_input', `query parameter "${name}" must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

const CardQuery = Type.Object(
  { format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('markdown')])) },
  { additionalProperties: false },
);

/** A version segment (a number or an alias) as the version number it names. */
async function versionNumberOf(galen: Galen, model: string, segment: string): Promise<number> {
  const ref = parseVersionRef(segment);
  if ('version' in ref) return ref.version;
  const target = (await galen.registry.getModel(model)).aliases[ref.alias];
  if (target === undefined) throw new GalenError('not_found', `model "${model}" has no alias "${ref.alias}"`);
  return target;
}

const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema };

export function modelsApiRoutes(app: FastifyInstance, galen: Galen): void {
  app.get(
    '/api/v1/models',
    {
      schema: {
        tags: ['models'],
        summary: 'List models',
        querystring: Type.Object({ archived: Type.Optional(Type.Boolean()) }),
        response: { 200: Type.Object({ models: Type.Array(ModelSchema) }), ...errors },
      },
      config: { permission: 'model:read' },
    },
    async (request) => {
      const { archived } = request.query as { archived?: boolean };
      return { models: await galen.registry.listModels({ includeArchived: archived === true }) };
    },
  );

  app.get(
    '/api/v1/models/:model',
    {
      schema: {
        tags: ['models'],
        summary: 'A model with its versions and aliases',
        params: ModelParam,
        response: { 200: ModelDetailSchema, ...errors },
      },
      config: { permission: 'model:read' },
    },
    async (request) => galen.registry.getModel((request.params as Static<typeof ModelParam>).model),
  );

  app.patch(
    '/api/v1/models/:model',
    {
      schema: {
        tags: ['models'],
        summary: "Edit a model's description and tags",
        params: ModelParam,
        body: Type.Object(
          {
            description: Type.Optional(Type.String()),
            tags: Type.Optional(Type.Record(Type.String(), Type.String())),
          },
          { additionalProperties: false },
        ),
        response: { 200: ModelDetailSchema, ...errors },
      },
      config: { permission: 'model:write', audit: 'model.update' },
    },
    async (request) => {
      const { model } = request.params as Static<typeof ModelParam>;
      await galen.registry.updateModel(
        model,
        request.body as { description?: string; tags?: Record<string, string> },
        request.actor!,
      );
      return galen.registry.getModel(model);
    },
  );

  // The ONNX file arrives as the raw body and is streamed straight into the artifact store.
  void app.register((upload) => {
    upload.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
    upload.post(
      '/api/v1/models/:model/versions',
      {
        bodyLimit: galen.config.http.uploadLimitBytes,
        schema: {
          tags: ['models'],
          summary:
            'Register a new version: the body is the ONNX file (application/octet-stream). 201 with the new version; 200 with `alreadyRegistered: true` and the existing version when the model already has a version (not archived) with the same bytes, so a retried upload makes no second version',
          params: ModelParam,
          querystring: UploadQuery,
          response: {
            201: VersionSchema,
            200: Type.Object({ ...VersionSchema.properties, alreadyRegistered: Type.Literal(true) }),
            ...errors,
            413: ErrorSchema,
          },
        },
        config: { permission: 'model:write', audit: 'model.register' },
      },
      async (request, reply) => {
        const { model } = request.params as Static<typeof ModelParam>;
        const query = request.query as Static<typeof UploadQuery>;
        if (request.headers['content-type']?.split(';')[0]?.trim() !== 'application/octet-stream') {
          throw new GalenError(
            'invalid_input',
            'send the ONNX file as the body with Content-Type: application/octet-stream',
          );
        }
        const { version, created } = await galen.registry.uploadVersion(
          {
            model,
            file: request.body as AsyncIterable<Uint8Array>,
            description: query.description,
            modelDescription: query.modelDescription,
            framework: query.framework,
            source: query.source,
            datasetSha256: query.datasetSha256,
            parameters: jsonObjectParam('parameters', query.parameters),
            metrics: jsonObjectParam('metrics', query.metrics),
            maxBytes: galen.config.http.uploadLimitBytes,
          },
          request.actor!,
        );
        request.auditFacts = {
          model,
          version: version.version,
          detail: { sha256: version.sha256, ...(!created && { alreadyRegistered: true }) },
        };
        return created
          ? reply.code(201).send(version)
          : reply.code(200).send({ ...version, alreadyRegistered: true });
      },
    );
    return Promise.resolve();
  });

  app.get(
    '/api/v1/models/:model/versions/:version',
    {
      schema: {
        tags: ['models'],
        summary: 'One version (by number or alias)',
        params: VersionParams,
        response: { 200: VersionSchema, ...errors },
      },
      config: { permission: 'model:read' },
    },
    async (request) => {
      const { model, version } = request.params as Static<typeof VersionParams>;
      return galen.registry.getVersion(model, await versionNumberOf(galen, model, version));
    },
  );

  app.get(
    '/api/v1/models/:model/versions/:version/card',
    {
      schema: {
        tags: ['models'],
        summary:
          'The model card of a trained version (JSON; Markdown with Accept: text/markdown or ?format=markdown)',
        params: VersionParams,
        querystring: CardQuery,
        response: errors,
      },
      config: { permission: 'model:read' },
    },
    async (request, reply) => {
      const { model, version } = request.params as Static<typeof VersionParams>;
      const number = await versionNumberOf(galen, model, version);
      const card = await galen.registry.getModelCard(model, number);
      const { format } = request.query as Static<typeof CardQuery>;
      const accept = request.headers.accept ?? '';
      const markdown =
        format === 'markdown' ||
        (format === undefined && accept.includes('text/markdown') && !accept.includes('application/json'));
      if (!markdown) return card;
      return reply
        .type('text/markdown; charset=utf-8')
        .send(renderModelCardMarkdown(card as unknown as ModelCard, model, number));
    },
  );

  for (const action of ['archive', 'restore'] as const) {
    app.post(
      `/api/v1/models/:model/${action}`,
      {
        schema: {
          tags: ['models'],
          summary: `${action === 'archive' ? 'Archive' : 'Restore'} a model`,
          params: ModelParam,
          response: { 200: ModelSchema, ...errors },
        },
        config: { permission: 'model:write', audit: `model.${action}` },
      },
      async (request) => {
        const { model } = request.params as Static<typeof ModelParam>;
        const result = await galen.registry.archiveModel(model, request.actor!, {
          restore: action === 'restore',
        });
        // Sessions freed, not an explicit unload: once restored, the model serves again on demand.
        if (action === 'archive') await galen.models.closeSessions(model);
        return result;
      },
    );
    app.post(
      `/api/v1/models/:model/versions/:version/${action}`,
      {
        schema: {
          tags: ['models'],
          summary: `${action === 'archive' ? 'Archive' : 'Restore'} a version`,
          params: VersionParams,
          response: { 200: VersionSchema, ...errors },
        },
        config: { permission: 'model:write', audit: `version.${action}` },
      },
      async (request) => {
        const { model, version } = request.params as Static<typeof VersionParams>;
        const ref = parseVersionRef(version);
        if (!('version' in ref))
          throw new GalenError(
            'invalid_input',
            `archive and restore take a version number, not an alias ("${version}")`,
          );
        request.auditFacts = { model, version: ref.version };
        const result = await galen.registry.archiveVersion(model, ref.version, request.actor!, {
          restore: action === 'restore',
        });
        if (action === 'archive') await galen.models.unloadVersion(model, ref.version);
        return result;
      },
    );
  }

  app.put(
    '/api/v1/models/:model/aliases/:alias',
    {
      schema: {
        tags: ['models'],
        summary: 'Point an alias at a version (moving `production` needs the approver role)',
        params: AliasParams,
        body: Type.Object({ version: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            model: Type.String(),
            alias: Type.String(),
            version: Type.Integer(),
            previous: Type.Union([Type.Integer(), Type.Null()]),
          }),
          ...errors,
        },
      },
      config: { permission: 'model:read', audit: 'alias.set' },
    },
    async (request) => {
      const { model, alias } = request.params as Static<typeof AliasParams>;
      const { version } = request.body as { version: number };
      request.auditFacts = { model, version, detail: { alias } };
      const { previous } = await galen.inference.moveAlias(model, alias, version, request.actor!);
      request.auditFacts.detail = { alias, previous };
      return { model, alias, version, previous };
    },
  );

  app.delete(
    '/api/v1/models/:model/aliases/:alias',
    {
      schema: {
        tags: ['models'],
        summary: 'Remove an alias',
        params: AliasParams,
        response: {
          200: Type.Object({ model: Type.String(), alias: Type.String(), previous: Type.Integer() }),
          ...errors,
        },
      },
      config: { permission: 'model:read', audit: 'alias.remove' },
    },
    async (request) => {
      const { model, alias } = request.params as Static<typeof AliasParams>;
      request.auditFacts = { model, detail: { alias } };
      const { previous } = await galen.inference.removeAlias(model, alias, request.actor!);
      return { model, alias, previous };
    },
  );

  const ServingView = Type.Object({
    model: Type.String(),
    settings: ServingSettingsSchema,
    effective: EffectiveServingSchema,
  });

  app.get(
    '/api/v1/models/:model/serving',
    {
      schema: {
        tags: ['models'],
        summary: "A model's batching and queueing settings, and the values in force",
        params: ModelParam,
        response: { 200: ServingView, ...errors },
      },
      config: { permission: 'model:read' },
    },
    async (request) => galen.inference.serving((request.params as Static<typeof ModelParam>).model),
  );

  app.put(
    '/api/v1/models/:model/serving',
    {
      schema: {
        tags: ['models'],
        summary:
          "Replace a model's batching and queueing settings ({} = server defaults); applies at once to its loaded versions",
        params: ModelParam,
        // Checked by the domain, whose messages name each setting and its allowed range.
        body: Type.Record(Type.String(), Type.Unknown(), {
          description:
            'batching, maxBatchSize, preferredBatchSizes, maxQueueDelayMicros, maxQueueLength, queueTimeoutMicros',
        }),
        response: { 200: ServingView, ...errors },
      },
      config: { permission: 'model:write', audit: 'model.serving' },
    },
    async (request) => {
      const { model } = request.params as Static<typeof ModelParam>;
      request.auditFacts = { model, detail: { settings: request.body } };
      return galen.inference.configureServing(model, request.body, request.actor!);
    },
  );
}
