/**
 * Native API for datasets: upload a CSV or JSON-lines file as a new version of a named dataset,
 * list them, read one version's schema, and preview the schema with another target or column
 * overrides. Rows never leave the server through this API.
 */
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Static } from 'typebox';
import type { Galen } from '../../app/index.js';
import { GalenError } from '../../core/index.js';
import type { DatasetFormat } from '../../registry/index.js';
import { ColumnOverrideSchema, ErrorSchema } from './schemas.js';

const NameParam = Type.Object({ name: Type.String() });
const VersionParams = Type.Object({ name: Type.String(), version: Type.Integer({ minimum: 1 }) });

const UploadQuery = Type.Object(
  {
    format: Type.Optional(
      Type.Union([
        Type.Literal('csv'),
        Type.Literal('jsonl'),
        Type.Literal('npz'),
        Type.Literal('images'),
        Type.Literal('sequences'),
      ]),
    ),
    target: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
  },
  { additionalProperties: false },
);

const PreviewBody = Type.Object(
  {
    target: Type.Optional(Type.String({ minLength: 1 })),
    overrides: Type.Optional(Type.Record(Type.String(), ColumnOverrideSchema)),
  },
  { additionalProperties: false },
);

const DatasetVersionSchema = Type.Object({
  name: Type.String(),
  version: Type.Integer(),
  sha256: Type.String(),
  sizeBytes: Type.Integer(),
  format: Type.String(),
  rows: Type.Integer(),
  schema: Type.Unknown({
    description:
      'a table: inferred columns (kind, role, missing, distinct, categories, numeric summary); images: kind "images", rows, shape, channels, labels and splits with counts',
  }),
  description: Type.String(),
  createdAt: Type.String(),
  createdBy: Type.String(),
});

const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema };

/** Content types a dataset upload may have, and the format each implies (undefined: detect). */
const UPLOAD_TYPES: Readonly<Record<string, DatasetFormat | undefined>> = {
  'text/csv': 'csv',
  // JSON lines hold a table or sequences: detected from the first line (never CSV).
  'application/x-ndjson': undefined,
  'application/jsonl': undefined,
  'application/zip': undefined,
  'application/octet-stream': undefined,
};
const JSON_LINES_TYPES = new Set(['application/x-ndjson', 'application/jsonl']);

export function datasetsApiRoutes(app: FastifyInstance, galen: Galen): void {
  void app.register((upload) => {
    upload.addContentTypeParser(Object.keys(UPLOAD_TYPES), (_request, payload, done) => done(null, payload));
    upload.post(
      '/api/v1/datasets/:name',
      {
        bodyLimit: galen.config.http.uploadLimitBytes,
        schema: {
          tags: ['datasets'],
          summary:
            'Upload a new version of a dataset: the body is the file — a table (text/csv, application/x-ndjson) or an image archive (a NumPy .npz, or a zip of PNG/JPEG files with labels.csv; application/zip or application/octet-stream)',
          params: NameParam,
          querystring: UploadQuery,
          response: { 200: DatasetVersionSchema, 201: DatasetVersionSchema, ...errors, 413: ErrorSchema },
        },
        config: { permission: 'data:write', audit: 'dataset.upload' },
      },
      async (request, reply) => {
        const { name } = request.params as Static<typeof NameParam>;
        const query = request.query as Static<typeof UploadQuery>;
        const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase() ?? '';
        if (!(type in UPLOAD_TYPES)) {
          throw new GalenError(
            'invalid_input',
            `send the dataset file as the body with Content-Type ${Object.keys(UPLOAD_TYPES).join(', ')}`,
          );
        }
        const { dataset, created } = await galen.datasets.upload(
          {
            name,
            file: request.body as AsyncIterable<Uint8Array>,
            format: query.format ?? UPLOAD_TYPES[type],
            jsonLines: JSON_LINES_TYPES.has(type),
            target: query.target,
            description: query.description,
            maxBytes: galen.config.http.uploadLimitBytes,
          },
          request.actor!,
        );
        request.auditFacts = {
          detail: { dataset: name, version: dataset.version, sha256: dataset.sha256, created },
        };
        return reply.code(created ? 201 : 200).send(dataset);
      },
    );
    return Promise.resolve();
  });

  app.get(
    '/api/v1/datasets',
    {
      schema: { tags: ['datasets'], summary: 'List datasets with their latest version', response: errors },
      config: { permission: 'data:read' },
    },
    async (request) => galen.datasets.list(request.actor!),
  );

  app.get(
    '/api/v1/datasets/:name',
    {
      schema: {
        tags: ['datasets'],
        summary: 'Every version of a dataset',
        params: NameParam,
        response: { 200: Type.Array(DatasetVersionSchema), ...errors },
      },
      config: { permission: 'data:read' },
    },
    async (request) =>
      galen.datasets.versions((request.params as Static<typeof NameParam>).name, request.actor!),
  );

  app.get(
    '/api/v1/datasets/:name/versions/:version',
    {
      schema: {
        tags: ['datasets'],
        summary: 'One version of a dataset, with its schema',
        params: VersionParams,
        response: { 200: DatasetVersionSchema, ...errors },
      },
      config: { permission: 'data:read' },
    },
    async (request) => {
      const { name, version } = request.params as Static<typeof VersionParams>;
      return galen.datasets.get(name, version, request.actor!);
    },
  );

  app.post(
    '/api/v1/datasets/:name/versions/:version/schema',
    {
      schema: {
        tags: ['datasets'],
        summary: 'Infer the schema again with another target or column overrides (nothing is stored)',
        params: VersionParams,
        body: PreviewBody,
        response: errors,
      },
      config: { permission: 'data:read' },
    },
    async (request) => {
      const { name, version } = request.params as Static<typeof VersionParams>;
      const body = request.body as Static<typeof PreviewBody>;
      return galen.datasets.previewSchema(
        name,
        version,
        {
          ...(body.target !== undefined && { target: body.target }),
          ...(body.overrides !== undefined && { overrides: body.overrides }),
        },
        request.actor!,
      );
    },
  );
}
