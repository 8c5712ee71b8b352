/**
 * One depth rule for every JSON body, whichever parser read it (Fastify's JSON parser, the OIP
 * binary-extension parser, FHIR's `application/fhir+json`, bodies read as JSON on OIP and TF
 * Serving routes): nesting deeper than `MAX_JSON_DEPTH` is refused with a 400 in the route's error
 * format before validation, handlers, error messages or the audit record walk the body.
 */
import type { FastifyInstance } from 'fastify';
import { GalenError, MAX_JSON_DEPTH, jsonDeeperThan } from '../core/index.js';

/** A body JSON parsing produced (uploads arrive as streams or Buffers, which are not walked). */
function isParsedJson(body: unknown): body is object {
  if (typeof body !== 'object' || body === null) return false;
  if (Array.isArray(body)) return true;
  const prototype: unknown = Object.getPrototypeOf(body);
  return prototype === Object.prototype || prototype === null;
}

/**
 * Refuses request bodies nested deeper than `MAX_JSON_DEPTH` levels (`preValidation`: after
 * authentication and parsing, before the schema and the handler). JSON parsing itself does not
 * recurse, but much of what reads a parsed value does (`JSON.stringify` in an error message,
 * recursive decoders), and past a few thousand levels that overflows the stack. The walk is
 * iterative and linear in the body's size. The message names the limit, never the content.
 */
export function refuseDeepBodies(app: FastifyInstance): void {
  app.addHook('preValidation', (request, _reply, done) => {
    // An unknown path answers 404 whatever its body; nothing reads it.
    if (!request.is404 && isParsedJson(request.body) && jsonDeeperThan(request.body, MAX_JSON_DEPTH)) {
      done(
        new GalenError(
          'invalid_input',
          `the request body nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep; at most ${MAX_JSON_DEPTH} are allowed`,
        ),
      );
      return;
    }
    done();
  });
}
