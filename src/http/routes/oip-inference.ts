/**
 * Open Inference Protocol v2 over HTTP: health, server and model metadata, model readiness and
 * inference (JSON, or the binary tensor data extension framed by `../oip-binary.ts`), each model
 * route with and without `/versions/{v}` (where a version segment may also name an alias).
 */
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Static } from 'typebox';
import type { Galen } from '../../app/index.js';
import { GALEN_VERSION, OIP_EXTENSIONS, OUT_OF_RANGE_PARAMETER } from '../../core/index.js';
import type { Signature } from '../../core/index.js';
import { alternativeInputs, parseTimeoutMicros, servedInputs } from '../../serving/index.js';
import {
  binaryPartOf,
  encodedInferInputs,
  encodeInferResponse,
  planOutputs,
  registerInferBodyParsers,
} from '../oip-binary.js';
import type { ServerReadiness } from '../readiness.js';

const ModelParams = Type.Object({ model: Type.String(), version: Type.Optional(Type.String()) });
type ModelParams = Static<typeof ModelParams>;

const InferInput = Type.Object({
  name: Type.String({ minLength: 1 }),
  shape: Type.Unknown(),
  datatype: Type.Unknown(),
  parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  data: Type.Optional(Type.Unknown()),
});

export const InferRequestBody = Type.Object({
  id: Type.Optional(Type.String()),
  parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  inputs: Type.Array(InferInput, { minItems: 1 }),
  outputs: Type.Optional(
    Type.Array(
      Type.Object({
        name: Type.String({ minLength: 1 }),
        parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      }),
    ),
  ),
});
export type InferRequestBody = Static<typeof InferRequestBody>;

/** The metadata JSON of one signature, as OIP lists `inputs` and `outputs`. */
export function tensorMetadata(signature: Signature): { inputs: unknown[]; outputs: unknown[] } {
  const spec = (t: { name: string; datatype: string; shape: readonly number[] }): unknown => ({
    name: t.name,
    datatype: t.datatype,
    shape: t.shape,
  });
  // An alternative input (encoded images, SMILES) is listed first: it is the form most clients send.
  const alternatives = new Map(alternativeInputs(signature).map((a) => [a.spec.name, a]));
  const inputs = servedInputs(signature).map((t) => {
    const a = alternatives.get(t.name);
    return a
      ? {
          ...(spec(t) as object),
          parameters: {
            content: a.content,
            alternative_to: a.into,
            ...(a.step && { preprocessing: a.step }),
          },
        }
      : spec(t);
  });
  return { inputs, outputs: signature.outputs.map(spec) };
}

const forVersions = (path: string): string[] => [
  `/v2/models/:model${path}`,
  `/v2/models/:model/versions/:version${path}`,
];

export function oipInferenceRoutes(app: FastifyInstance, galen: Galen, readiness: ServerReadiness): void {
  const config = { errorFormat: 'oip' as const };

  app.get('/v2/health/live', { config: { ...config, public: true } }, async (_req, reply) => {
    return reply.code(200).send({ live: true });
  });

  app.get('/v2/health/ready', { config: { ...config, public: true } }, async (_req, reply) => {
    const answer = await readiness.settled();
    return reply.code(answer.ready ? 200 : 503).send(answer);
  });

  app.get('/v2', { config: { ...config, permission: 'model:read' } }, () =>
    Promise.resolve({ name: 'galen', version: GALEN_VERSION, extensions: OIP_EXTENSIONS }),
  );

  for (const url of forVersions('')) {
    app.get(
      url,
      { schema: { params: ModelParams }, config: { ...config, permission: 'model:read' } },
      async (request) => {
        const { model, version } = request.params as ModelParams;
        const meta = await galen.inference.metadata(model, version);
        return {
          name: meta.name,
          versions: meta.versions.map(String),
          platform: meta.platform,
          ...tensorMetadata(meta.signature),
        };
      },
    );
  }

  for (const url of forVersions('/ready')) {
    app.get(
      url,
      { schema: { params: ModelParams }, config: { ...config, permission: 'model:read' } },
      async (request, reply) => {
        const { model, version } = request.params as ModelParams;
        const ready = await galen.inference.ready(model, version);
        if (ready) return reply.code(200).send({ name: model, ready: true });
        return reply
          .code(400)
          .send({ error: `model "${model}"${version ? ` version ${version}` : ''} is not ready` });
      },
    );
  }

  // Inference reads its body itself (JSON, or the binary tensor extension), so its parsers live
  // in their own scope and leave every other route's body handling alone.
  void app.register((scope) => {
    registerInferBodyParsers(scope);
    for (const url of forVersions('/infer')) {
      scope.post(
        url,
        {
          schema: { params: ModelParams, body: InferRequestBody },
          config: { ...config, permission: 'infer', audit: 'infer' },
        },
        async (request, reply) => {
          const { model, version } = request.params as ModelParams;
          const body = request.body as InferRequestBody;
          const plan = planOutputs(body);
          const result = await galen.inference.infer({
            model,
            version,
            id: body.id,
            inputs: encodedInferInputs(body, binaryPartOf(request)),
            outputs: plan.names,
            timeoutMicros: parseTimeoutMicros(body.parameters?.['timeout']),
            protocol: 'oip-http',
          });
          request.auditFacts = { model, version: result.version };
          request.inferenceTiming = result;
          const head = {
            model_name: result.model,
            model_version: String(result.version),
            ...(result.id !== undefined && { id: result.id }),
            // Response parameters (OIP allows string values): values outside the training ranges.
            ...(result.outOfRange !== undefined && {
              parameters: { [OUT_OF_RANGE_PARAMETER]: result.outOfRange },
            }),
          };
          const { headers, payload } = encodeInferResponse(head, result.outputs, plan);
          return reply.headers(headers).send(payload);
        },
      );
    }
    return Promise.resolve();
  });
}
