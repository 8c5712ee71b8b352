/**
 * Explanations over HTTP: `POST /v2/models/{m}[/versions/{v}]/explain` (KServe's explainer verb on
 * the OIP path: the body is an inference request, `parameters` tune the explanation), and a
 * version's explainer: `GET` its settings and global importance, `PUT` a background sample for a
 * model Galen did not train.
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

const ModelParam = Type.Object({ model: Type.String() });
const VersionParams = Type.Object({ model: Type.String(), version: Type.String() });
type ModelParams = Static<typeof ModelParam> & { version?: string };
const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 412: ErrorSchema };

const ExplainParameters = Type.Object(
  {
    method: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('exact'), Type.Literal('kernel')])),
    class: Type.Optional(Type.String()),
    max_coalitions: Type.Optional(Type.Integer()),
    background_rows: Type.Optional(Type.Integer()),
    timeout_ms: Type.Optional(Type.Integer()),
    seed: Type.Optional(Type.Integer()),
    patch: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);

const BackgroundBody = Type.Object(
  {
    inputs: InferRequestBody.properties.inputs,
    output: Type.Optional(Type.String({ minLength: 1 })),
    classes: Type.Optional(Type.Array(Type.String())),
    names: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  },
  { additionalProperties: false },
);

export function explainRoutes(app: FastifyInstance, galen: Galen): void {
  // Each URL declares exactly the path parameters it has (OpenAPI requires that).
  for (const [url, params] of [
    ['/v2/models/:model/explain', ModelParam],
    ['/v2/models/:model/versions/:version/explain', VersionParams],
  ] as const) {
    app.post(
      url,
      {
        schema: {
          tags: ['explain'],
          summary:
            "Shapley values of each row's output (exact for Galen's linear and tree models, KernelSHAP otherwise)",
          params,
          body: InferRequestBody,
        },
        config: { permission: 'infer', audit: 'explain', errorFormat: 'oip' },
      },
      async (request) => {
        const { model, version } = request.params as ModelParams;
        const body = request.body as InferRequestBody;
        const raw = body.parameters ?? {};
        const unknown = Object.keys(raw).filter((k) => !(k in ExplainParameters.properties));
        if (unknown.length > 0) {
          throw new GalenError(
            'invalid_input',
            `unknown explain parameter(s) ${unknown.join(', ')}; known: ${Object.keys(ExplainParameters.properties).join(', ')}`,
          );
        }
        const p = raw as Static<typeof ExplainParameters>;
        const result = await galen.explain.explain({
          model,
          version,
          inputs: decodeInferInputs(body, undefined),
          method: p.method,
          class: p.class,
          maxCoalitions: p.max_coalitions,
          backgroundRows: p.background_rows,
          timeoutMs: p.timeout_ms,
          seed: p.seed,
          patch: p.patch,
        });
        request.auditFacts = { model, version: Number(result.model_version) };
        return { ...(body.id !== undefined && { id: body.id }), ...result };
      },
    );
  }

  app.get(
    '/api/v1/models/:model/versions/:version/explainer',
    {
      schema: {
        tags: ['explain'],
        summary: "A version's explainer: players, explained output, background size, global importance",
        params: VersionParams,
        response: errors,
      },
      config: { permission: 'model:read' },
    },
    async (request) => {
      const { model, version } = request.params as Static<typeof VersionParams>;
      return galen.explain.view(model, assertVersionNumber(version));
    },
  );

  app.put(
    '/api/v1/models/:model/versions/:version/explainer',
    {
      schema: {
        tags: ['explain'],
        summary:
          'Give a version Galen did not train a background sample (10–1,000 training rows) to explain against',
        params: VersionParams,
        body: BackgroundBody,
        response: errors,
      },
      config: { permission: 'model:write', audit: 'explainer.set' },
    },
    async (request) => {
      const { model, version } = request.params as Static<typeof VersionParams>;
      const body = request.body as Static<typeof BackgroundBody>;
      const number = assertVersionNumber(version);
      request.auditFacts = { version: number };
      return galen.explain.setBackground(
        {
          model,
          version: number,
          inputs: decodeInferInputs({ inputs: body.inputs }, undefined),
          output: body.output,
          classes: body.classes,
          names: body.names,
        },
        request.actor!,
      );
    },
  );
}
