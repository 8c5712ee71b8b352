/**
 * A real Galen server for end-to-end tests: its own temporary data folder, real SQLite, real
 * ONNX Runtime, the real HTTP server on a random loopback port. Cleans up after itself.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGalen } from '../../src/app/index.js';
import type { Galen } from '../../src/app/index.js';
import { loadConfig } from '../../src/config/index.js';
import type { ConfigOverrides } from '../../src/config/index.js';
import type { Clock, Role } from '../../src/core/index.js';
import { installDemoModels } from '../../src/demo/index.js';
import { startGrpcServer } from '../../src/grpc/index.js';
import type { GrpcServer } from '../../src/grpc/index.js';
import { buildHttpServer } from '../../src/http/index.js';
import { createLogger } from '../../src/observability/index.js';
import type { Logger } from '../../src/observability/index.js';
import { callJson } from './http-call.js';
import type { CallOptions, CallResult } from './http-call.js';
import { disposeSharedStore, sharedStoreFor } from './test-store.js';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';

export interface TestServer {
  galen: Galen;
  url: string;
  dataDir: string;
  /** Port of the gRPC listener on 127.0.0.1, when started with `grpc: true`. */
  grpcPort?: number;
  /** Creates an API key with `role` through the real key service. */
  key(role: Role): Promise<string>;
  /** fetch against the server, JSON in and out, with `key` as bearer (admin by default). */
  call(method: string, path: string, options?: CallOptions): Promise<CallResult>;
  close(): Promise<void>;
}

export async function createTestServer(
  options: {
    withDemo?: boolean;
    config?: ConfigOverrides;
    grpc?: boolean;
    /** An existing data folder to serve (e.g. to restart on it); left in place on close. */
    dataDir?: string;
    /** The server's logger (e.g. one writing to a stream a test reads); silent by default. */
    logger?: Logger;
    /** The server's time (ages computed from FHIR data, JWT lifetimes, audit times); the system's by default. */
    clock?: Clock;
  } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'galen-test-')));
  // With GALEN_TEST_STORE=postgres-s3: a database and a bucket prefix of the folder's own.
  const shared = await sharedStoreFor(dataDir);
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir,
      port: 0,
      adminKey: ADMIN_KEY,
      logLevel: 'silent',
      ...shared?.config,
      ...options.config,
    },
  });
  const galen = await createGalen(config, options.logger ?? createLogger('silent'), options.clock);
  if (options.withDemo) await installDemoModels(galen);
  const { app, state, readiness } = await buildHttpServer(galen);
  await galen.models.preloadAliased();
  const url = await app.listen({ host: '127.0.0.1', port: options.config?.port ?? 0 });
  galen.cdsClients.listeningAt(url);
  await galen.jobs.start();
  state.ready = true;
  const grpc: GrpcServer | undefined = options.grpc
    ? await startGrpcServer(galen, { host: '127.0.0.1', port: 0, readiness: () => readiness().ready })
    : undefined;
  return {
    galen,
    url,
    dataDir,
    ...(grpc && { grpcPort: grpc.port }),
    async key(role) {
      return (await galen.keys.create({ name: `test ${role}`, role, createdBy: 'test' })).key;
    },
    call: (method, path, o) => callJson(url, ADMIN_KEY, method, path, o),
    async close() {
      state.ready = false;
      await grpc?.close();
      await app.close();
      await galen.close();
      if (options.dataDir === undefined) {
        await rm(dataDir, { recursive: true, force: true });
        await disposeSharedStore(dataDir);
      }
    },
  };
}

/** A TCP port free on 127.0.0.1 just now, for a server whose own URL must be configured before it starts. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** |a - b| for every element, the largest. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}
