/**
 * Authentication, role checks and audit records as Fastify hooks. Every route is authenticated
 * unless it declares itself public; a route that declares `audit` gets one record per call,
 * written before the response leaves, whatever its status.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Galen } from '../app/index.js';
import { GalenError, assertCan } from '../core/index.js';
import type { Actor } from '../core/index.js';
import { bearerActor, looksLikeJwt } from '../security/index.js';

/** What a route takes as its bearer credential, as its refusals name it. */
const CREDENTIAL: Readonly<Record<'api-key' | 'required' | 'or-api-key', string>> = {
  'api-key': '<API key>',
  required: '<JWT> signed by a trusted CDS client (CDS Hooks 2.0)',
  'or-api-key': '<JWT> signed by a trusted CDS client, or "Bearer <API key>"',
};

function bearerToken(request: FastifyRequest): string {
  const credential = CREDENTIAL[request.routeOptions.config.cdsClient ?? 'api-key'];
  const header = request.headers.authorization;
  if (header === undefined) {
    throw new GalenError(
      'unauthorized',
      `authentication required: send "Authorization: Bearer ${credential}"`,
    );
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new GalenError('unauthorized', `the Authorization header must be "Bearer ${credential}"`);
  return match[1]!;
}

/** The path the client called (no query string); a CDS client JWT's `aud` is `cds.publicUrl` plus it. */
const calledPath = (request: FastifyRequest): string => request.url.split('?')[0]!;

async function authenticate(request: FastifyRequest, galen: Galen): Promise<Actor> {
  const token = bearerToken(request);
  const cds = request.routeOptions.config.cdsClient;
  if (cds === undefined) return bearerActor(token, galen.keys, galen.oidc);
  if (looksLikeJwt(token)) return galen.cdsClients.authenticate(token, calledPath(request));
  if (cds === 'or-api-key') return galen.keys.authenticate(token);
  throw new GalenError(
    'unauthorized',
    'CDS service calls need "Authorization: Bearer <JWT>" signed by a trusted CDS client (CDS Hooks 2.0); API keys are not accepted here',
  );
}

export function registerSecurityHooks(app: FastifyInstance, galen: Galen): void {
  app.decorateRequest('actor', null);
  app.decorateRequest('auditFacts', null as never);

  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    // A CDS call names its service even when refused here, before the handler could.
    const service = config.cdsClient && (request.params as { id?: string } | undefined)?.id;
    request.auditFacts = service ? { detail: { service } } : {};
    if (config.public) return;
    request.actor = await authenticate(request, galen);
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
