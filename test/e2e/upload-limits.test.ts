/**
 * Uploads at the HTTP edge with a small upload limit: a declared Content-Length over the limit is
 * refused before the body is read (models, datasets), a streamed body over it is refused naming
 * what was uploaded, and JSON lines declared as such are read as JSON lines, never as CSV.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { ADMIN_KEY, createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';

const LIMIT = 64 * 1024;

/**
 * Sends headers declaring `declaredLength` bytes, then only `sent` bytes, and waits for the answer:
 * a server that reads before refusing would wait for the rest forever.
 */
function declareAndStall(
  server: TestServer,
  path: string,
  contentType: string,
  declaredLength: number,
  sent: number,
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, server.url), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ADMIN_KEY}`,
        'content-type': contentType,
        'content-length': String(declaredLength),
      },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => (text += s));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
        req.destroy();
      });
    });
    req.on('error', reject);
    req.write(Buffer.alloc(sent, 0x61));
  });
}

/** A body streamed in chunks without a Content-Length (chunked transfer encoding). */
async function streamed(server: TestServer, path: string, contentType: string, bytes: number): Promise<any> {
  const chunk = new TextEncoder().encode('a,b\n1,2\n'.repeat(1024));
  let left = bytes;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (left <= 0) return controller.close();
      controller.enqueue(chunk.subarray(0, Math.min(left, chunk.length)));
      left -= chunk.length;
    },
  });
  const response = await fetch(server.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': contentType },
    body,
    duplex: 'half',
  });
  return { status: response.status, body: await response.json() };
}

describe('upload limits and types at the HTTP edge', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await createTestServer({
      config: { http: { ...loadConfig({ env: {} }).http, uploadLimitBytes: LIMIT } },
    });
  });
  afterAll(async () => server.close());

  it.each([
    ['a model', '/api/v1/models/huge/versions', 'application/octet-stream'],
    ['a dataset', '/api/v1/datasets/huge', 'text/csv'],
  ])('refuses %s declaring 3,000,000,000 bytes before reading it', async (_what, path, type) => {
    const res = await declareAndStall(server, path, type, 3_000_000_000, 1024);
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('payload_too_large');
    expect(res.body.error).toContain('3000000000 bytes');
    expect(res.body.error).toContain(`at most ${LIMIT} bytes`);
  });

  it('names a streamed dataset as a dataset file when it is over the limit', async () => {
    const res = await streamed(server, '/api/v1/datasets/big', 'text/csv', LIMIT * 2);
    expect(res.status).toBe(413);
    expect(res.body.error).toMatch(/^the dataset file is larger than/);
    const list = await server.call('GET', '/api/v1/datasets');
    expect(JSON.stringify(list.body)).not.toContain('"big"');
  });

  it('names a streamed model as a model file when it is over the limit', async () => {
    const res = await streamed(server, '/api/v1/models/big/versions', 'application/octet-stream', LIMIT * 2);
    expect(res.status).toBe(413);
    expect(res.body.error).toMatch(/^the model file is larger than/);
  });

  it.each(['application/x-ndjson', 'application/jsonl'])(
    'reads a %s body as JSON lines: arrays are refused, never stored as a CSV',
    async (type) => {
      const res = await server.call('POST', '/api/v1/datasets/arrays', {
        body: '[1,2]\n[3,4]\n',
        contentType: type,
      });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/line 1/);
      const list = await server.call('GET', '/api/v1/datasets');
      expect(JSON.stringify(list.body)).not.toContain('"arrays"');

      const rows = await server.call('POST', '/api/v1/datasets/rows', {
        body: '{"a":1,"b":2}\n{"a":3,"b":4}\n',
        contentType: type,
      });
      expect(rows.status, JSON.stringify(rows.body)).toBeLessThan(300);
      expect(rows.body.format).toBe('jsonl');
    },
  );
});
