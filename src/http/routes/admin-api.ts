/** API keys (admin), the audit log (auditor) and Prometheus metrics. */
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Static } from 'typebox';
import type { Galen } from '../../app/index.js';
import { ROLES } from '../../core/index.js';
import type { Role } from '../../core/index.js';
import { ApiKeySchema, AuditRecordSchema, ErrorSchema } from './schemas.js';

const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema };
const KeyParam = Type.Object({ id: Type.String() });

export function adminApiRoutes(app: FastifyInstance, galen: Galen): void {
  app.get(
    '/api/v1/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'List API keys (never their secrets)',
        response: { 200: Type.Object({ keys: Type.Array(ApiKeySchema) }), ...errors },
      },
      config: { permission: 'keys:manage' },
    },
    async () => ({ keys: await galen.keys.list() }),
  );

  app.post(
    '/api/v1/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'Create an API key; the key is returned once and never again',
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200 }),
            role: Type.Union(ROLES.map((r) => Type.Literal(r))),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ key: Type.String(), info: ApiKeySchema }), ...errors },
      },
      config: { permission: 'keys:manage', audit: 'key.create' },
    },
    async (request, reply) => {
      const { name, role } = request.body as { name: string; role: Role };
      const created = await galen.keys.create({ name, role, createdBy: request.actor!.keyId });
      request.auditFacts = { detail: { keyId: created.info.id, role } };
      return reply.code(201).send(created);
    },
  );

  app.delete(
    '/api/v1/keys/:id',
    {
      schema: {
        tags: ['keys'],
        summary: 'Revoke an API key',
        params: KeyParam,
        response: { 200: ApiKeySchema, ...errors },
      },
      config: { permission: 'keys:manage', audit: 'key.revoke' },
    },
    async (request) => {
      const { id } = request.params as Static<typeof KeyParam>;
      request.auditFacts = { detail: { keyId: id } };
      return galen.keys.revoke(id);
    },
  );

  app.get(
    '/api/v1/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'Audit records in order, a page at a time',
        querystring: Type.Object({
          after: Type.Optional(
            Type.Integer({ minimum: 0, description: 'return records after this sequence number' }),
          ),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
        }),
        response: { 200: Type.Object({ records: Type.Array(AuditRecordSchema) }), ...errors },
      },
      config: { permission: 'audit:read' },
    },
    async (request) => {
      const { after, limit } = request.query as { after?: number; limit?: number };
      return {
        records: await galen.audit.list({
          ...(after !== undefined && { afterSeq: after }),
          ...(limit !== undefined && { limit }),
        }),
      };
    },
  );

  app.get(
    '/api/v1/audit/verify',
    {
      schema: {
        tags: ['audit'],
        summary:
          "Check the audit log's hash chain (and, given an earlier head as anchor, that nothing was cut off)",
        querystring: Type.Object({
          anchor: Type.Optional(
            Type.String({
              pattern: '^[1-9][0-9]*:[0-9a-f]{64}$',
              description: '<seq>:<hash> of an earlier head',
            }),
          ),
        }),
        response: {
          200: Type.Object({
            ok: Type.Boolean(),
            records: Type.Integer(),
            head: Type.Union([Type.Object({ seq: Type.Integer(), hash: Type.String() }), Type.Null()]),
            brokenAt: Type.Optional(Type.Integer()),
            reason: Type.Optional(Type.String()),
          }),
          ...errors,
        },
      },
      config: { permission: 'audit:read' },
    },
    async (request) => {
      const { anchor } = request.query as { anchor?: string };
      if (anchor === undefined) return galen.audit.verify();
      const [seq, hash] = anchor.split(':') as [string, string];
      return galen.audit.verify({ anchor: { seq: Number(seq), hash } });
    },
  );

  app.get('/metrics', { config: { permission: 'model:read' } }, async (_request, reply) => {
    return reply.header('content-type', galen.metrics.contentType).send(await galen.metrics.render());
  });
}
