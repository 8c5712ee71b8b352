/**
 * Requests whose URL and headers exceed 16 KiB (Node's maxHeaderSize, counted as Node counts it)
 * get a 431 that names the limit, in the route's own error format (native `{"error","code"}`,
 * OIP/TF `{"error"}`, FHIR OperationOutcome) — over plain HTTP and over TLS, where the request
 * line and the overflowing bytes arrive in different 16 KiB records. Before, Node's parser
 * answered them with Fastify's fixed `{"error","message","statusCode"}`, in no route's format.
 */
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADER_LIMIT_BYTES, PARSER_HEADER_BYTES } from '../../src/http/header-limit.js';
import { ADMIN_KEY, createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';

const FIXTURES = new URL('../fixtures/tls/', import.meta.url);

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: any;
}

/**
 * Sends one request without a body exactly as written (no header added by a client library), with
 * an `x-pad` header long enough that the bytes Node counts (URL, header names and values) come to
 * `total`, and reads the answer to the end.
 */
function rawCall(base: string, method: string, path: string, total: number): Promise<RawAnswer> {
  const url = new URL(base);
  const fixed: [string, string][] = [
    ['host', url.host],
    ['authorization', `Bearer ${ADMIN_KEY}`],
    ['connection', 'close'],
  ];
  const counted = path.length + fixed.reduce((n, [k, v]) => n + k.length + v.length, 0) + 'x-pad'.length;
  const headers = [...fixed, ['x-pad', 'p'.repeat(total - counted)]];
  const text = `${method} ${path} HTTP/1.1\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return rawSend(base, text);
}

/** Writes `text` on a new connection to `base` and reads the answer until the server closes it. */
function rawSend(base: string, text: string): Promise<RawAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const port = Number(url.port);
    const socket =
      url.protocol === 'https:'
        ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false })
        : netConnect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    // The server closes at once after refusing: a reset after its answer arrived is not an error.
    socket.on('error', (err: Error) => {
      if (chunks.length === 0) reject(err);
    });
    socket.on('close', () => {
      const answer = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = answer.split('\r\n\r\n', 2);
      const [statusLine = '', ...lines] = head.split('\r\n');
      const parsed: Record<string, string> = {};
      for (const line of lines) {
        const at = line.indexOf(':');
        parsed[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim();
      }
      let json: unknown = body;
      try {
        json = JSON.parse(body);
      } catch {
        // not JSON: kept as text for the assertion message
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers: parsed, body: json });
    });
    socket.write(text);
  });
}

const TOO_LARGE = new RegExp(
  `^the request's URL and headers take ${HEADER_LIMIT_BYTES + 1} bytes; at most ${HEADER_LIMIT_BYTES} are allowed`,
);

function expectRouteFormats(answers: Record<'native' | 'oip' | 'fhir', RawAnswer>): void {
  const { native, oip, fhir } = answers;
  expect(native.status, JSON.stringify(native.body)).toBe(431);
  expect(native.headers['content-type']).toBe('application/json');
  expect(native.body).toEqual({ error: expect.stringMatching(TOO_LARGE), code: 'headers_too_large' });

  expect(oip.status, JSON.stringify(oip.body)).toBe(431);
  expect(oip.headers['content-type']).toBe('application/json');
  expect(oip.body).toEqual({ error: expect.stringMatching(TOO_LARGE) });

  expect(fhir.status, JSON.stringify(fhir.body)).toBe(431);
  expect(fhir.headers['content-type']).toBe('application/fhir+json');
  expect(fhir.body).toEqual({
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'too-long', diagnostics: expect.stringMatching(TOO_LARGE) }],
  });
}

const CALLS = {
  native: ['GET', '/api/v1/models'],
  oip: ['GET', '/v2/models/breast-cancer'],
  fhir: ['POST', '/fhir/Patient/$predict?model=breast-cancer'],
} as const;

async function sendAll(base: string, total: number): Promise<Record<keyof typeof CALLS, RawAnswer>> {
  return {
    native: await rawCall(base, ...CALLS.native, total),
    oip: await rawCall(base, ...CALLS.oip, total),
    fhir: await rawCall(base, ...CALLS.fhir, total),
  };
}

describe('the size limit of URL and headers', () => {
  let server: TestServer;
  let tls: TestServer;

  beforeAll(async () => {
    server = await createTestServer({ withDemo: true });
    tls = await createTestServer({
      withDemo: true,
      config: {
        tls: {
          certFile: fileURLToPath(new URL('cert.pem', FIXTURES)),
          keyFile: fileURLToPath(new URL('key.pem', FIXTURES)),
        },
      },
    });
  });
  afterAll(async () => {
    await server?.close();
    await tls?.close();
  });

  it('accepts exactly the limit, as Node did', async () => {
    const { native, oip } = await sendAll(server.url, HEADER_LIMIT_BYTES);
    expect(native.status, JSON.stringify(native.body)).toBe(200);
    expect(oip.status, JSON.stringify(oip.body)).toBe(200);
  });

  it("refuses one byte more with a 431 naming the limit, in each route family's format", async () => {
    expectRouteFormats(await sendAll(server.url, HEADER_LIMIT_BYTES + 1));
  });

  it('does the same over TLS, where the overflowing bytes arrive without the request line', async () => {
    expectRouteFormats(await sendAll(tls.url, HEADER_LIMIT_BYTES + 1));
  });

  it('answers bytes that are not HTTP with a JSON 400 in the native format', async () => {
    const answer = await rawSend(server.url, 'NOT HTTP AT ALL\r\n\r\n');
    expect(answer.status).toBe(400);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.body).toEqual({ error: 'the request is not valid HTTP/1.1', code: 'invalid_input' });
  });

  it("past the parser's room, Node's parser refuses with a JSON 431 naming its limit", async () => {
    const answer = await rawCall(server.url, ...CALLS.native, PARSER_HEADER_BYTES + 1);
    expect(answer.status).toBe(431);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.body).toEqual({
      error: expect.stringContaining(String(PARSER_HEADER_BYTES)),
      code: 'headers_too_large',
    });
  });
});
