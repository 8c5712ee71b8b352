/**
 * The health listener of `galen worker --health-port <port>`: a bare `node:http` server answering
 * only `GET /healthz`, for a Kubernetes liveness probe. A worker serves no API, so this is not the
 * Fastify server: no routes, no authentication (like `/v2/health/live`, a documented exception)
 * and nothing about any job or patient in the answer.
 *
 * 200 `{"status":"ok"}` while the job loop turns (its heartbeat and queue poll finish rounds) and
 * the metadata store answers `probe()` (probed in the background at most once a second, as
 * readiness does); else 503 `{"status":"unavailable","reason":…}`; 404 for any other request.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import type { JobLoopHealth } from '../jobs/index.js';
import { createReadiness } from './readiness.js';

export interface WorkerHealthOptions {
  readonly host: string;
  /** 1–65535 (the CLI starts no listener for 0). */
  readonly port: number;
  /** The job loop's state now (`JobService.loopHealth`). */
  readonly loop: () => JobLoopHealth;
  /** The metadata store's probe (`MetadataStore.probe`). */
  readonly probeStore: () => Promise<void>;
  readonly logger: FastifyBaseLogger;
}

export interface WorkerHealthServer {
  /** `http://host:port`, as bound. */
  readonly address: string;
  close(): Promise<void>;
}

/** Starts the listener; resolves once it listens, rejects if the port cannot be bound. */
export async function startWorkerHealthServer(options: WorkerHealthOptions): Promise<WorkerHealthServer> {
  const store = createReadiness(
    [{ reason: 'the metadata store cannot be read', probe: options.probeStore }],
    { ready: true },
    options.logger,
  );
  const server = createServer((request, response) => {
    const send = (status: number, body: object): void => {
      response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify(body));
    };
    const path = (request.url ?? '').split('?')[0];
    if (request.method !== 'GET' || path !== '/healthz') {
      send(404, { error: `no endpoint ${request.method ?? ''} ${path ?? ''}: only GET /healthz` });
      return;
    }
    void store.settled().then(
      (stored) => {
        const loop = options.loop();
        if (!loop.alive) send(503, { status: 'unavailable', reason: loop.reason });
        else if (!stored.ready) send(503, { status: 'unavailable', reason: stored.reason });
        else send(200, { status: 'ok' });
      },
      () => send(503, { status: 'unavailable', reason: 'the health check failed' }),
    );
  });
  // A probe connection must not hold the worker's stop up.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    address: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
