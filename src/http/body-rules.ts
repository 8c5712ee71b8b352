/**
 * The edge's rules for request and response bodies, the same on every route: a declared length
 * over the route's limit is refused before a byte is read; OIP and TF Serving routes read JSON
 * whatever type the client declared (Triton's client declares none, TF Serving's documented
 * `curl -d` requests declare a form), and an empty body there means "no body"; JSON leaves as
 * exactly `application/json`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GalenError } from '../core/index.js';

/**
 * Declared types an OIP or TF Serving route reads as JSON. Triton never checks the type, TF
 * Serving neither; `curl -d` declares a form, `requests.post(data=…)` declares nothing.
 */
const READ_AS_JSON = new Set(['', 'application/x-www-form-urlencoded', 'text/plain']);

const JSON_TYPES = new Set(['application/json', ...READ_AS_JSON]);

function mediaTypeOf(header: string | undefined): string {
  return header?.split(';')[0]?.trim().toLowerCase() ?? '';
}

/** A request whose headers say it carries no body (no chunked transfer, no or zero length). */
function declaresNoBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return (
    request.headers['transfer-encoding'] === undefined && (length === undefined || length.trim() === '0')
  );
}

/**
 * Refuses, before reading it, a body whose `Content-Length` exceeds the route's body limit: a
 * streamed upload would otherwise be read up to the limit first. Runs after authentication.
 */
export function refuseDeclaredOversize(app: FastifyInstance): void {
  app.addHook('preParsing', async (request, reply, payload) => {
    const declared = request.headers['content-length'];
    if (declared === undefined) return payload;
    const length = Number(declared);
    const limit = request.routeOptions.bodyLimit;
    if (limit !== undefined && Number.isFinite(length) && length > limit) {
      // The client may still be sending: close the connection rather than drain gigabytes.
      void reply.header('connection', 'close');
      throw new GalenError(
        'payload_too_large',
        `the request body is ${length} bytes (Content-Length); this endpoint accepts at most ${limit} bytes`,
      );
    }
    return payload;
  });
}

/**
 * On OIP and TF Serving routes (those answering errors as `{"error"}`), a body with no type, a
 * form type or `text/plain` is parsed as JSON, and a JSON body of zero bytes counts as no body
 * (routes whose protocol allows that, such as Triton's repository index, read it as `{}`; the
 * others say the body is empty).
 */
export function readProtocolBodiesAsJson(app: FastifyInstance): void {
  app.addHook('preParsing', async (request, _reply, payload) => {
    if (request.routeOptions.config.errorFormat !== 'oip') return payload;
    const declared = request.headers['content-type'];
    const type = mediaTypeOf(declared);
    if (declaresNoBody(request)) {
      // Fastify skips parsing a request that declares no type and no length.
      if (declared !== undefined && JSON_TYPES.has(type)) request.headers = { 'content-type': undefined };
    } else if (READ_AS_JSON.has(type)) {
      request.headers = { 'content-type': 'application/json' };
    }
    return payload;
  });
}

/**
 * Sends JSON as exactly `application/json`: RFC 8259 defines no charset parameter (JSON is UTF-8),
 * and KServe's REST client reads an error's text only under exactly this type.
 */
export function sendPlainJsonType(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.getHeader('content-type') === 'application/json; charset=utf-8') {
      void reply.header('content-type', 'application/json');
    }
    return payload;
  });
}
