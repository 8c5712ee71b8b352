/**
 * Triton's model repository extension (index, load — including a model uploaded inside the load
 * request as `parameters["file:<version>/model.onnx"]` — and unload) and statistics extension.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { Static } from 'typebox';
import type { Galen } from '../../app/index.js';
import { GalenError } from '../../core/index.js';
import { repositoryIndex, tritonStatistics } from '../../serving/index.js';

const ModelParam = Type.Object({ model: Type.String() });
const StatsParams = Type.Object({
  model: Type.Optional(Type.String()),
  version: Type.Optional(Type.String()),
});
const LoadBody = Type.Object({ parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())) });
const IndexBody = Type.Object({ ready: Type.Optional(Type.Boolean()) });
const UnloadBody = Type.Object({ parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())) });

/**
 * Triton's clients send these calls with no body, or an empty one, meaning `{}` (the edge reads an
 * empty body as none: see `../body-rules.ts`).
 */
const noBodyIsEmptyObject = {
  preValidation: (request: FastifyRequest, _reply: unknown, done: () => void): void => {
    request.body ??= {};
    done();
  },
};

/** Extracts the one ONNX file a load request may carry, decoded from base64. */
function uploadedFile(parameters: Record<string, unknown> | undefined): Buffer | undefined {
  const files = Object.entries(parameters ?? {}).filter(([k]) => k.startsWith('file:'));
  if (files.length === 0) return undefined;
  if (files.length > 1 || !files[0]![0].endsWith('.onnx')) {
    throw new GalenError(
      'invalid_input',
      `a load request may carry exactly one file, an ONNX model such as "file:1/model.onnx"; got ${files.map(([k]) => `"${k}"`).join(', ')}`,
    );
  }
  const [key, value] = files[0]!;
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value.replace(/\s+/g, ''))) {
    throw new GalenError('invalid_input', `parameter "${key}" must hold the file's bytes as a base64 string`);
  }
  return Buffer.from(value, 'base64');
}

export function oipRepositoryRoutes(app: FastifyInstance, galen: Galen): void {
  const config = { errorFormat: 'oip' as const };
  const uploadBodyLimit = Math.min(
    Math.ceil((galen.config.http.uploadLimitBytes * 4) / 3) + 1024 * 1024,
    1024 ** 3 - 1,
  );

  app.post(
    '/v2/repository/index',
    { schema: { body: IndexBody }, config: { ...config, permission: 'model:read' }, ...noBodyIsEmptyObject },
    async (request) => {
      const onlyReady = (request.body as Static<typeof IndexBody>).ready === true;
      return repositoryIndex(galen.registry, galen.models, onlyReady);
    },
  );

  app.post(
    '/v2/repository/models/:model/load',
    {
      bodyLimit: uploadBodyLimit,
      schema: { params: ModelParam, body: LoadBody },
      config: { ...config, permission: 'repository:manage', audit: 'model.load' },
      // No body means "load what is registered".
      ...noBodyIsEmptyObject,
    },
    async (request) => {
      const { model } = request.params as Static<typeof ModelParam>;
      const body = request.body as Static<typeof LoadBody> | undefined;
      const file = uploadedFile(body?.parameters);
      let registered: number | undefined;
      let already = false;
      if (file) {
        // The same bytes as a version the model has: that version is loaded, no duplicate made.
        const { version, created } = await galen.registry.uploadVersion(
          { model, file, source: 'repository load request', maxBytes: galen.config.http.uploadLimitBytes },
          request.actor!,
        );
        registered = version.version;
        already = !created;
        request.auditFacts = {
          model,
          version: registered,
          detail: { registered: created, sha256: version.sha256 },
        };
        await galen.models.ensureLoaded(version);
      }
      const loaded = await galen.models.load(model);
      if (registered !== undefined && !loaded.includes(registered)) loaded.push(registered);
      return {
        name: model,
        loaded_versions: loaded.sort((a, b) => a - b).map(String),
        ...(registered !== undefined && { registered_version: String(registered) }),
        ...(already && { already_registered: true }),
      };
    },
  );

  app.post(
    '/v2/repository/models/:model/unload',
    {
      schema: { params: ModelParam, body: UnloadBody },
      config: { ...config, permission: 'repository:manage', audit: 'model.unload' },
      ...noBodyIsEmptyObject,
    },
    async (request) => {
      const { model } = request.params as Static<typeof ModelParam>;
      const unloaded = await galen.models.unload(model);
      return { name: model, unloaded_versions: unloaded.map(String) };
    },
  );

  for (const url of [
    '/v2/models/stats',
    '/v2/models/:model/stats',
    '/v2/models/:model/versions/:version/stats',
  ]) {
    app.get(
      url,
      { schema: { params: StatsParams }, config: { ...config, permission: 'model:read' } },
      async (request) => {
        const { model, version } = request.params as Static<typeof StatsParams>;
        return { model_stats: (await galen.inference.statistics(model, version)).map(tritonStatistics) };
      },
    );
  }
}
