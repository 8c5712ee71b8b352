/**
 * The HTTP edge: a Fastify server with strict JSON validation (no type coercion), request ids,
 * authentication and audit hooks, one error path, Prometheus timing, and an OpenAPI document.
 */
import swagger from '@fastify/swagger';
import { Ajv } from 'ajv';
import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Galen } from '../app/index.js';
import { readTls } from '../config/index.js';
import { GALEN_VERSION, GalenError, NAME_MAX_LENGTH, requestIdFrom } from '../core/index.js';
import { readProtocolBodiesAsJson, refuseDeclaredOversize, sendPlainJsonType } from './body-rules.js';
import { refuseDeepBodies } from './body-depth.js';
import { PARSER_HEADER_BYTES, answerParserError, refuseLargeHeaders } from './header-limit.js';
import './context.js';
import { errorFormatOf, sendError } from './errors.js';
import { parseJsonBodies } from './json-body.js';
import { adminApiRoutes } from './routes/admin-api.js';
import { apiDocsRoutes } from './routes/api-docs.js';
import { datasetsApiRoutes } from './routes/datasets-api.js';
import { fhirApiRoutes } from './routes/fhir-api.js';
import { deidRoutes } from './routes/deid-api.js';
import { explainRoutes } from './routes/explain-api.js';
import { monitoringRoutes } from './routes/monitoring-api.js';
import { optimizeRoutes } from './routes/optimize-api.js';
import { recommendRoutes } from './routes/recommend-api.js';
import { jobsApiRoutes } from './routes/jobs-api.js';
import { modelsApiRoutes } from './routes/models-api.js';
import { oipInferenceRoutes } from './routes/oip-inference.js';
import { oipRepositoryRoutes } from './routes/oip-repository.js';
import { oipModelConfigRoutes } from './routes/oip-model-config.js';
import { tfServingRoutes } from './routes/tf-serving.js';
import { registerSecurityHooks } from './security-hooks.js';
import { createReadiness } from './readiness.js';
import type { ServerReadiness } from './readiness.js';
import type { ServerState } from './server-state.js';

export interface HttpServer {
  app: FastifyInstance;
  state: ServerState;
  /** What `/v2/health/ready` answers; give it to the gRPC server so both protocols agree. */
  readiness: ServerReadiness;
}

/**
 * An unknown path as an error may repeat it: without its query, and for the FHIR and CDS Hooks
 * prefixes (whose paths can hold a patient's id) only the prefix, since 4xx messages are also
 * logged. The prefix is the one that picks the error format.
 */
function unmatchedPath(request: FastifyRequest): string {
  switch (errorFormatOf(request)) {
    case 'fhir':
      return '/fhir/…';
    case 'cds':
      return '/cds-services/…';
    case 'oip':
    case 'native':
      return request.url.split('?')[0] ?? '';
  }
}

/** Builds the HTTP server over `galen`'s services. It is not listening until `app.listen`. */
export async function buildHttpServer(galen: Galen): Promise<HttpServer> {
  const state: ServerState = { ready: false };
  const logger: FastifyBaseLogger = galen.logger;
  const tls = readTls(galen.config);
  const options = {
    loggerInstance: logger,
    bodyLimit: galen.config.http.bodyLimitBytes,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) =>
      requestIdFrom(req.headers['x-request-id']),
    return503OnClosing: true,
    // A path segment may hold any name the registry accepts; the router answers longer ones, and
    // malformed %-encodings, through the one error path (Fastify's own text is a bare "Bad Request").
    routerOptions: { maxParamLength: NAME_MAX_LENGTH },
    frameworkErrors: (err: Error, request: FastifyRequest, reply: FastifyReply) =>
      sendError(request, reply, err),
    // What Node's parser refuses (headers past its room, malformed HTTP) is answered as JSON too.
    clientErrorHandler: answerParserError,
  };
  // Fastify types an HTTPS server apart from an HTTP one; the routes are the same either way.
  // Node's parser gets room above the header limit, which `refuseLargeHeaders` checks per route.
  const app = (tls
    ? Fastify({ ...options, https: { cert: tls.cert, key: tls.key, maxHeaderSize: PARSER_HEADER_BYTES } })
    : Fastify({ ...options, http: { maxHeaderSize: PARSER_HEADER_BYTES } })) as unknown as FastifyInstance;

  // Bodies are validated strictly: a clinical value sent as "7" is an error, never silently a 7.
  // Path and query parts are text by nature, so only they are coerced to their declared types.
  // `discriminator` (OpenAPI's): a oneOf tagged by a property is checked against its tag's branch only.
  const strict = new Ajv({
    coerceTypes: false,
    removeAdditional: false,
    useDefaults: true,
    strict: false,
    discriminator: true,
  });
  const coercing = new Ajv({ coerceTypes: true, removeAdditional: false, useDefaults: true, strict: false });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? strict : coercing).compile(schema),
  );

  await app.register(swagger, {
    openapi: {
      // 3.1: its Schema Objects are JSON Schema 2020-12, as the routes' TypeBox schemas are.
      openapi: '3.1.0',
      info: {
        title: 'Galen native API',
        version: GALEN_VERSION,
        description:
          'Model registry, keys and audit. Inference is served over the Open Inference Protocol v2 (/v2/...). ' +
          'Every call needs `Authorization: Bearer <API key>` except /v2/health/*.',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
    hideUntagged: true,
  });

  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  registerSecurityHooks(app, galen);
  refuseLargeHeaders(app);
  refuseDeclaredOversize(app);
  readProtocolBodiesAsJson(app);
  parseJsonBodies(app);
  refuseDeepBodies(app);
  sendPlainJsonType(app);
  // Server-Timing (W3C): total time in the server, and for inference its queue and compute
  // parts, so clients and benchmarks can tell server overhead from model time.
  app.decorateRequest('inferenceTiming', null);
  app.addHook('onSend', async (request, reply, payload) => {
    const timing = request.inferenceTiming;
    const total = `total;dur=${reply.elapsedTime.toFixed(3)}`;
    void reply.header(
      'server-timing',
      timing
        ? `${total}, queue;dur=${(timing.queueNs / 1e6).toFixed(3)}, compute;dur=${(timing.computeNs / 1e6).toFixed(3)}`
        : total,
    );
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    galen.metrics.observeHttp(
      request.method,
      request.routeOptions.url ?? 'unmatched',
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
  });

  app.setErrorHandler((err, request, reply) => sendError(request, reply, err));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      new GalenError('not_found', `no endpoint ${request.method} ${unmatchedPath(request)}`),
    ),
  );

  const readiness = createReadiness(
    [
      { reason: 'the metadata store cannot be read', probe: () => galen.store.probe() },
      { reason: 'the artifact store cannot be used', probe: () => galen.artifacts.probe() },
    ],
    state,
    logger,
  );
  oipInferenceRoutes(app, galen, readiness);
  oipRepositoryRoutes(app, galen);
  oipModelConfigRoutes(app, galen);
  tfServingRoutes(app, galen);
  modelsApiRoutes(app, galen);
  datasetsApiRoutes(app, galen);
  jobsApiRoutes(app, galen);
  fhirApiRoutes(app, galen);
  explainRoutes(app, galen);
  monitoringRoutes(app, galen);
  deidRoutes(app, galen);
  optimizeRoutes(app, galen);
  recommendRoutes(app, galen);
  adminApiRoutes(app, galen);
  app.get('/api/v1/openapi.json', { config: { permission: 'model:read' } }, () =>
    Promise.resolve(app.swagger()),
  );
  apiDocsRoutes(app);

  return { app, state, readiness };
}
