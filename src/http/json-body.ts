/**
 * JSON request bodies, whichever parser reads them: parsed by Fastify's own parser (its
 * prototype-poisoning checks included), and a body that is not JSON is answered with where and why
 * it stops parsing (line and column), never with its text. V8's `JSON.parse` messages quote the
 * text around the fault, and a body holds patient data.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GalenError, jsonSyntaxText } from '../core/index.js';

type Done = (err: Error | null, body?: unknown) => void;

/** Why `text` (a request's JSON, named `what`) could not be used: where it is not JSON, or its refused keys. */
export function invalidJson(text: string, what = 'the request body'): GalenError {
  const why = jsonSyntaxText(text);
  return new GalenError(
    'invalid_input',
    why === undefined
      ? // Valid JSON that Fastify's parser refused: it holds a prototype-poisoning key.
        `${what} has a "__proto__" key, or a "constructor" key holding "prototype", which are refused`
      : `${what} is not valid JSON: ${why}`,
  );
}

/**
 * Fastify's JSON parser for `scope` (`proto` and `constructor` poisoning refused), with errors from
 * `invalidJson`. An empty text keeps Fastify's own error, which the error table words.
 */
export function jsonTextParser(
  scope: FastifyInstance,
): (request: FastifyRequest, text: string, done: Done) => void {
  const fastifyJson = scope.getDefaultJsonParser('error', 'error');
  return (request, text, done) => {
    void fastifyJson(request, text, (err, body) => {
      if (err) done(text.length === 0 ? err : invalidJson(text));
      else done(null, body);
    });
  };
}

/** Parses `application/json` bodies on `app` (and the scopes it registers) with `jsonTextParser`. */
export function parseJsonBodies(app: FastifyInstance): void {
  const parse = jsonTextParser(app);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, text, done) =>
    parse(request, text as string, done),
  );
}
