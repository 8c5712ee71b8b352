/**
 * The size limit of a request's URL and headers, answered in the route's error format. Node's HTTP
 * parser enforces its `maxHeaderSize` itself, before any request or route exists, and then knows
 * only the bytes of the chunk that overflowed (over TLS, a 16 KiB record: rarely the request
 * line), so the protocol of the path cannot be told reliably there. Galen therefore gives the
 * parser room (`PARSER_HEADER_BYTES`) and checks the limit (`HEADER_LIMIT_BYTES`) itself, once the
 * route is known; only a header section past even the parser's room is refused by the parser,
 * answered by `answerParserError` in the native format.
 */
import { STATUS_CODES, maxHeaderSize } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GalenError } from '../core/index.js';

/**
 * The most bytes of URL and header fields a request may carry: Node's `maxHeaderSize` (16 KiB,
 * unless the process runs with `--max-http-header-size`), counted as Node counts it (URL, names
 * and values, no separators). Node's own check refused a total equal to it; this one accepts it,
 * so every request Node accepted still is.
 */
export const HEADER_LIMIT_BYTES = maxHeaderSize;

/** What Node's parser itself reads before refusing: room for the answer above to be given. */
export const PARSER_HEADER_BYTES = 4 * HEADER_LIMIT_BYTES;

/** The bytes Node's parser counts against `maxHeaderSize`: the URL, header names and values. */
function headerBytes(request: FastifyRequest): number {
  // Node decodes these as latin1, one character per byte.
  let bytes = request.raw.url?.length ?? 0;
  for (const part of request.raw.rawHeaders) bytes += part.length;
  return bytes;
}

/**
 * Refuses (431, in the route's error format) a request whose URL and headers exceed
 * `HEADER_LIMIT_BYTES`. Runs as an `onRequest` hook after authentication, so a refused call of an
 * audited route is still audited; the check only adds up lengths.
 */
export function refuseLargeHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const bytes = headerBytes(request);
    if (bytes <= HEADER_LIMIT_BYTES) {
      done();
      return;
    }
    done(
      new GalenError(
        'headers_too_large',
        `the request's URL and headers take ${bytes} bytes; at most ${HEADER_LIMIT_BYTES} are allowed (names and values counted); send fewer or shorter headers`,
      ),
    );
  });
}

/** What Node's parser says when it refuses a connection's bytes (`clientError`). */
type ParserError = Error & { code?: string };

/** The status and native error body for a request the parser refused. */
function parserRefusal(err: ParserError): { status: number; body: { error: string; code: string } } {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return {
      status: 431,
      body: {
        error: `the request's URL and headers are larger than ${PARSER_HEADER_BYTES} bytes, the most this server reads; at most ${HEADER_LIMIT_BYTES} are allowed (names and values counted); send fewer or shorter headers`,
        code: 'headers_too_large',
      },
    };
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      status: 408,
      body: {
        error: "the request did not arrive within the server's request timeout",
        code: 'invalid_input',
      },
    };
  }
  return { status: 400, body: { error: 'the request is not valid HTTP/1.1', code: 'invalid_input' } };
}

/**
 * Fastify's `clientErrorHandler`: answers what Node's parser refused, before any request or
 * route exists, as JSON in the native format (`{"error","code"}`, the limit named) instead of
 * Fastify's `{"error","message","statusCode"}`, and closes the connection. The route's format
 * cannot be chosen here: the parser hands over only the chunk it failed on, which need not hold
 * the request line.
 */
export function answerParserError(err: ParserError, socket: Socket): void {
  // A reset connection has no one to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, body } = parserRefusal(err);
  const text = JSON.stringify(body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy(err);
}
