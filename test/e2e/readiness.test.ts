/**
 * Readiness as a load balancer or orchestrator sees it, over both protocols: `/v2/health/ready`
 * answers 503 with the reason, and gRPC `ServerReady` answers `ready: false`, while the server is
 * starting, while it drains (what SIGTERM does), and while its metadata store cannot be read; and
 * 200 / true while it serves. A model unloaded through the repository API is not ready (OIP's
 * 400, gRPC `ModelReady` false) while the server still is.
 */
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createGalen } from '../../src/app/index.js';
import { loadConfig } from '../../src/config/index.js';
import { startGrpcServer } from '../../src/grpc/index.js';
import { buildHttpServer } from '../../src/http/index.js';
import { createLogger } from '../../src/observability/index.js';
import { inferenceClient, unaryCall } from '../helpers/grpc-client.js';
import { ADMIN_KEY, createTestServer } from '../helpers/test-server.js';
import { identityModel, uploadModel } from '../helpers/tiny-models.js';

async function httpReady(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${url}/v2/health/ready`);
  return { status: res.status, body: await res.json() };
}

/** Polls until `check` holds (the store probe is cached for a second); no time is asserted. */
async function until<T>(check: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('readiness over HTTP and gRPC', () => {
  it('is 503 and false while starting, without its store and while draining; 200 and true while serving', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'galen-readiness-'));
    const config = loadConfig({
      env: {},
      overrides: { dataDir, port: 0, adminKey: ADMIN_KEY, logLevel: 'silent' },
    });
    const galen = await createGalen(config, createLogger('silent'));
    const { app, state, readiness } = await buildHttpServer(galen);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const grpc = await startGrpcServer(galen, {
      host: '127.0.0.1',
      port: 0,
      readiness: () => readiness().ready,
    });
    const client = inferenceClient(`127.0.0.1:${grpc.port}`);
    const grpcReady = async (): Promise<boolean> => (await unaryCall(client, 'ServerReady', {}, null)).ready;
    try {
      // Listening, but not yet serving (models preloading, jobs starting).
      expect(await httpReady(url)).toEqual({ status: 503, body: { ready: false, reason: 'starting' } });
      expect(await grpcReady()).toBe(false);

      state.ready = true;
      expect(await httpReady(url)).toEqual({ status: 200, body: { ready: true } });
      expect(await grpcReady()).toBe(true);

      // The metadata store cannot be read.
      const db = join(dataDir, 'galen.db');
      await rename(db, `${db}.away`);
      const down = await until(async () => {
        const r = await httpReady(url);
        return r.status === 503 ? r : undefined;
      });
      expect(down.body).toEqual({ ready: false, reason: 'the metadata store cannot be read' });
      expect(await grpcReady()).toBe(false);
      await rename(`${db}.away`, db);
      await until(async () => ((await httpReady(url)).status === 200 ? true : undefined));
      expect(await grpcReady()).toBe(true);

      // Draining after SIGTERM: both say so before any listener closes.
      state.ready = false;
      state.draining = true;
      expect(await httpReady(url)).toEqual({ status: 503, body: { ready: false, reason: 'shutting down' } });
      expect(await grpcReady()).toBe(false);
      expect((await fetch(`${url}/v2/health/live`)).status).toBe(200);
      expect(await unaryCall(client, 'ServerLive', {}, null)).toEqual({ live: true });
    } finally {
      client.close();
      await grpc.close();
      await app.close();
      await galen.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('says a model unloaded through the repository API is not ready, while the server is', async () => {
    const server = await createTestServer({ grpc: true });
    const client = inferenceClient(`127.0.0.1:${server.grpcPort}`);
    try {
      await uploadModel(server, 'echo', identityModel('FP32'));
      expect((await server.call('GET', '/v2/models/echo/ready')).status).toBe(200);
      expect(await unaryCall(client, 'ModelReady', { name: 'echo' })).toEqual({ ready: true });

      expect((await server.call('POST', '/v2/repository/models/echo/unload')).status).toBe(200);
      const model = await server.call('GET', '/v2/models/echo/ready');
      expect(model.status).toBe(400); // OIP: a 4xx status is "false"
      expect(model.body.error).toBe('model "echo" is not ready');
      expect(await unaryCall(client, 'ModelReady', { name: 'echo' })).toEqual({ ready: false });
      const tfs = await server.call('GET', '/v1/models/echo');
      expect(tfs.body.model_version_status[0].state).not.toBe('AVAILABLE');

      expect((await server.call('GET', '/v2/health/ready', { key: null })).status).toBe(200);
      expect(await unaryCall(client, 'ServerReady', {}, null)).toEqual({ ready: true });
    } finally {
      client.close();
      await server.close();
    }
  });
});
