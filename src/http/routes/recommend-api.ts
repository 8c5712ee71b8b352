/**
 * Recommendations over HTTP: `POST /v2/models/{m}[/versions/{v}]/recommend` (a verb on the OIP path,
 * like `explain`) with patients' feature names answers each one's top k items with scores, after
 * the exclusion rules (already given, ruled out by the request, the version's contraindications),
 * listing what was excluded and why. The plain scores stay available through `/infer`.
 */
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Static } from 'typebox';
import type { Galen } from '../../app/index.js';
import { RECOMMEND_LIMITS } from '../../recommend/index.js';

const ModelParam = Type.Object({ model: Type.String() });
const VersionParams = Type.Object({ model: Type.String(), version: Type.String() });
type ModelParams = Static<typeof ModelParam> & { version?: string };

const RecommendBody = Type.Object(
  {
    patients: Type.Array(
      Type.Object(
        {
          id: Type.Optional(Type.String({ maxLength: 200, description: 'Echoed back; never stored.' })),
          features: Type.Array(Type.String({ maxLength: 200 }), {
            description: 'Feature names as the model knows them, e.g. "dx:4280", "gender:F".',
          }),
          exclude: Type.Optional(
            Type.Array(Type.String(), { description: 'Items the patient already has.' }),
          ),
          contraindicated: Type.Optional(
            Type.Array(
              Type.Object(
                { items: Type.Array(Type.String()), reason: Type.String({ minLength: 1, maxLength: 500 }) },
                { additionalProperties: false },
              ),
            ),
          ),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: RECOMMEND_LIMITS.patients },
    ),
    k: Type.Optional(Type.Integer({ minimum: 1, maximum: RECOMMEND_LIMITS.k })),
  },
  { additionalProperties: false },
);

export function recommendRoutes(app: FastifyInstance, galen: Galen): void {
  // Each URL declares exactly the path parameters it has (OpenAPI requires that).
  for (const [url, params] of [
    ['/v2/models/:model/recommend', ModelParam],
    ['/v2/models/:model/versions/:version/recommend', VersionParams],
  ] as const) {
    app.post(
      url,
      {
        schema: {
          tags: ['recommend'],
          summary:
            "Each patient's top k items from a ranking model, after exclusion rules (already given, contraindicated), with what was excluded and why",
          params,
          body: RecommendBody,
        },
        config: { permission: 'infer', audit: 'recommend', errorFormat: 'oip' },
      },
      async (request) => {
        const { model, version } = request.params as ModelParams;
        const body = request.body as Static<typeof RecommendBody>;
        const answer = await galen.recommend.recommend({ model, version, ...body }, request.actor!);
        request.auditFacts = {
          model,
          version: Number(answer.model_version),
          detail: { patients: body.patients.length, k: answer.k },
        };
        return answer;
      },
    );
  }
}
