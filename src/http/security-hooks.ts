/**
 * Authentication, role checks and audit records as Fastify hooks. Every route is authenticated
 * unless it declares itself public; a route that declares `audit` gets one record per call,
 * written before the response leaves, whatever its status.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Galen } from '../app/index.js';
import { GalenError, assertCan } from '../core/index.js';

function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  if (header === undefined) {
    throw new GalenError('unauthorized', 'authentication required: send "Authorization: Bearer <API key>"');
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new GalenError('unauthorized', 'the Authorization header must be "Bearer <API key>"');
  return match[1]!;
}

export function registerSecurityHooks(app: FastifyInstance, galen: Galen): void {
  app.decorateRequest('actor', null);
  app.decorateRequest('auditFacts', null as never);

  app.addHook('onRequest', async (request) => {
    request.auditFacts = {};
    const config = request.routeOptions.config;
    if (config.public) return;
    request.actor = await galen.keys.authenticate(bearerToken(request));
    if (config.permission)
      assertCan(
        request.actor,
        config.permission,
        `call ${request.method} ${request.routeOptions.url ?? request.url}`,
      );
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const action = request.routeOptions.config.audit;
    if (action === undefined) return payload;
    try {
      await galen.audit.record({
        keyId: request.actor?.keyId ?? null,
        role: request.actor?.role ?? null,
        action,
        model: request.auditFacts.model ?? (request.params as { model?: string } | undefined)?.model ?? null,
        version: request.auditFacts.version ?? null,
        status: reply.statusCode,
        requestId: request.id,
        durationMs: reply.elapsedTime,
        detail: request.auditFacts.detail,
      });
    } catch (err) {
      // The call has already happened; failing the response now would only hide that from the caller.
      request.log.error({ err, action, requestId: request.id }, 'could not write the audit record');
    }
    return payload;
  });
}
