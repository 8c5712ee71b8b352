/**
 * TLS on both listeners: with a certificate and key configured, the HTTP server answers HTTPS
 * (and nothing in plaintext) and gRPC takes TLS clients that trust the certificate.
 */
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Metadata, credentials, loadPackageDefinition } from '@grpc/grpc-js';
import type { ServiceClientConstructor, ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';

const FIXTURES = new URL('../fixtures/tls/', import.meta.url);
const PROTO = fileURLToPath(new URL('../../proto/grpc_predict_v2.proto', import.meta.url));

function get(url: string, ca?: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const options = { headers: { authorization: `Bearer ${ADMIN_KEY}` }, ...(ca && { ca }) };
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('TLS', () => {
  let server: TestServer;
  let cert: Buffer;
  beforeAll(async () => {
    cert = await readFile(new URL('cert.pem', FIXTURES));
    server = await createTestServer({
      withDemo: true,
      grpc: true,
      config: {
        tls: {
          certFile: fileURLToPath(new URL('cert.pem', FIXTURES)),
          keyFile: fileURLToPath(new URL('key.pem', FIXTURES)),
        },
      },
    });
  });
  afterAll(async () => server.close());

  it('serves HTTPS with the configured certificate, and nothing in plaintext', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ok = await get(`${server.url}/v2/models/breast-cancer`, cert);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).name).toBe('breast-cancer');
    // A client that does not trust the certificate refuses it; a plaintext request gets no answer.
    await expect(get(`${server.url}/v2/health/live`)).rejects.toThrow(/self[- ]signed/i);
    await expect(get(server.url.replace('https:', 'http:') + '/v2/health/live')).rejects.toThrow();
  });

  it('serves gRPC over TLS to clients that trust the certificate', async () => {
    const definition = loadSync(PROTO, { keepCase: true, longs: String, defaults: true, arrays: true });
    const Client = (loadPackageDefinition(definition) as any).inference
      .GRPCInferenceService as ServiceClientConstructor;
    const call = (client: any) =>
      new Promise<any>((resolve, reject) => {
        const metadata = new Metadata();
        metadata.set('authorization', `Bearer ${ADMIN_KEY}`);
        client.ServerLive({}, metadata, (err: ServiceError | null, response: any) =>
          err ? reject(err) : resolve(response),
        );
      });
    const trusting = new Client(`localhost:${server.grpcPort}`, credentials.createSsl(cert));
    expect(await call(trusting)).toEqual({ live: true });
    trusting.close();
    const plaintext = new Client(`localhost:${server.grpcPort}`, credentials.createInsecure());
    await expect(call(plaintext)).rejects.toMatchObject({ code: 14 });
    plaintext.close();
  });
});
