/**
 * Graceful shutdown of the real `galen serve` process, and readiness: on SIGTERM readiness answers
 * 503 while requests are still taken (http.shutdownDelaySeconds), then new connections are refused,
 * a request already under way (an upload whose body is still arriving) completes, and the process
 * exits 0. Readiness is 503 too when the metadata database cannot be read.
 */
import { rename, mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials, loadPackageDefinition } from '@grpc/grpc-js';
import type { ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHILD_ADMIN_KEY, GalenProcesses, assertCliBuilt, matMulModel } from '../helpers/galen-process.js';
import { createTestServer } from '../helpers/test-server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET on a new connection: the status, or the error code when no connection could be made. */
async function probe(url: string): Promise<{ status: number; body: any } | { refused: string }> {
  try {
    const res = await fetch(url, { headers: { connection: 'close' } });
    return { status: res.status, body: await res.json() };
  } catch (err) {
    return { refused: String((err as { cause?: { code?: string } }).cause?.code ?? err) };
  }
}

/** Polls `check` (every 50 ms, for at most 30 s) until it returns a value. */
async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await sleep(50);
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('graceful shutdown', () => {
  const processes = new GalenProcesses();
  let dir: string;
  beforeAll(async () => {
    assertCliBuilt();
    dir = await mkdtemp(join(tmpdir(), 'galen-shutdown-'));
  });
  afterEach(() => processes.killAll());
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('on SIGTERM: readiness 503, then no new connections, the upload under way completes, exit 0', async () => {
    const server = await processes.start(dir, {
      GALEN_GRPC_ENABLED: 'false',
      GALEN_HTTP_SHUTDOWN_DELAY_SECONDS: '5',
    });
    const ready = `${server.url}/v2/health/ready`;
    expect(await probe(ready)).toEqual({ status: 200, body: { ready: true } });

    // An upload under way: headers and half the body sent, the rest held back.
    const model = matMulModel(8, 2);
    const half = Math.floor(model.bytes.length / 2);
    const address = new URL(server.url);
    const upload = request({
      host: address.hostname,
      port: address.port,
      method: 'POST',
      path: '/api/v1/models/drained/versions',
      headers: {
        authorization: `Bearer ${CHILD_ADMIN_KEY}`,
        'content-type': 'application/octet-stream',
        'content-length': String(model.bytes.length),
      },
    });
    const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
      upload.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (s: string) => (body += s));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      upload.on('error', reject);
    });
    upload.write(model.bytes.subarray(0, half));
    await until('the upload to reach the server', () =>
      Promise.resolve(
        // Request log lines name the route, never the URL.
        server.logLines.some((l) => l.includes('"route":"/api/v1/models/:model/versions"'))
          ? true
          : undefined,
      ),
    );

    process.kill(server.pid, 'SIGTERM');
    // Draining: still answering, but not ready.
    const draining = await until('readiness to say 503', async () => {
      const p = await probe(ready);
      return 'status' in p && p.status === 503 ? p : undefined;
    });
    expect(draining.body).toEqual({ ready: false, reason: 'shutting down' });
    // Then the listener closes: a new connection is refused.
    // A probe that connects in the instant the listener closes is reset rather than refused: keep
    // probing until connections are refused outright.
    const refused = await until('new connections to be refused', async () => {
      const p = await probe(ready);
      return 'refused' in p && p.refused !== 'ECONNRESET' ? p.refused : undefined;
    });
    expect(refused).toBe('ECONNREFUSED');

    upload.end(model.bytes.subarray(half));
    const done = await answered;
    expect(done.status, done.body).toBe(201);
    expect(JSON.parse(done.body)).toMatchObject({ model: 'drained', version: 1, sha256: model.sha256 });
    expect(await server.stop()).toBe(0);

    // What it accepted while draining is kept.
    const again = await processes.start(dir, { GALEN_GRPC_ENABLED: 'false' });
    expect((await again.call('GET', '/api/v1/models/drained/versions/1')).status).toBe(200);
    expect(await again.stop()).toBe(0);
  });
});

describe('readiness of galen serve over gRPC', () => {
  const processes = new GalenProcesses();
  let dir: string;
  beforeAll(async () => {
    assertCliBuilt();
    dir = await mkdtemp(join(tmpdir(), 'galen-shutdown-grpc-'));
  });
  afterEach(() => processes.killAll());
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('on SIGTERM, ServerReady says false while HTTP readiness says 503, before any listener closes', async () => {
    const server = await processes.start(dir, { GALEN_HTTP_SHUTDOWN_DELAY_SECONDS: '5' });
    const logged = await until('the gRPC address in the log', () =>
      Promise.resolve(
        server.logLines
          .map((l) => JSON.parse(l) as { msg?: string; address?: string })
          .find((e) => e.msg?.startsWith('OIP v2 over gRPC on'))?.address,
      ),
    );
    const proto = fileURLToPath(new URL('../../proto/grpc_predict_v2.proto', import.meta.url));
    const Client = (loadPackageDefinition(loadSync(proto, { keepCase: true })) as any).inference
      .GRPCInferenceService as ServiceClientConstructor;
    const client = new Client(logged, credentials.createInsecure()) as any;
    const serverReady = (): Promise<boolean> =>
      new Promise((resolve, reject) =>
        client.ServerReady({}, (err: Error | null, r: { ready: boolean }) =>
          err ? reject(err) : resolve(r.ready),
        ),
      );
    try {
      expect(await serverReady()).toBe(true);
      process.kill(server.pid, 'SIGTERM');
      await until('readiness to say 503', async () => {
        const p = await probe(`${server.url}/v2/health/ready`);
        return 'status' in p && p.status === 503 ? p : undefined;
      });
      // The drain delay (5 s) has begun and gRPC still answers: it must not say ready.
      expect(await serverReady()).toBe(false);
    } finally {
      client.close();
    }
    expect(await server.stop()).toBe(0);
  });
});

describe('readiness', () => {
  it('answers 503 while the metadata database cannot be read, and 200 again once it can', async () => {
    const server = await createTestServer();
    try {
      const ready = `${server.url}/v2/health/ready`;
      expect(await probe(ready)).toEqual({ status: 200, body: { ready: true } });
      const db = join(server.dataDir, 'galen.db');
      await rename(db, `${db}.away`);
      const down = await until('readiness to say 503', async () => {
        const p = await probe(ready);
        return 'status' in p && p.status === 503 ? p : undefined;
      });
      expect(down.body).toEqual({ ready: false, reason: 'the metadata store cannot be read' });
      // Liveness is not readiness: the process is alive and says so.
      expect((await probe(`${server.url}/v2/health/live`)) as unknown).toMatchObject({ status: 200 });
      await rename(`${db}.away`, db);
      const up = await until('readiness to say 200', async () => {
        const p = await probe(ready);
        return 'status' in p && p.status === 200 ? p : undefined;
      });
      expect(up.body).toEqual({ ready: true });
    } finally {
      await server.close();
    }
  });
});
