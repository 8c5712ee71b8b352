/**
 * Triton's model configuration extension over HTTP: `GET /v2/models/{m}[/versions/{v}]/config`
 * answers the version's configuration as Triton's JSON (what Triton's HTTP client and
 * perf_analyzer read), derived from its signature and the serving settings in force.
 */
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Static } from 'typebox';
import type { Galen } from '../../app/index.js';
import { modelConfigOf } from '../../serving/index.js';

const ConfigParams = Type.Object({ model: Type.String(), version: Type.Optional(Type.String()) });

export function oipModelConfigRoutes(app: FastifyInstance, galen: Galen): void {
  for (const url of ['/v2/models/:model/config', '/v2/models/:model/versions/:version/config']) {
    app.get(
      url,
      { schema: { params: ConfigParams }, config: { errorFormat: 'oip', permission: 'model:read' } },
      async (request) => {
        const { model, version } = request.params as Static<typeof ConfigParams>;
        return modelConfigOf(galen.inference, model, version, galen.config.runtime.maxConcurrentPerModel);
      },
    );
  }
}
