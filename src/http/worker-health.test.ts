import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGalen } from '../app/index.js';
import type { Galen } from '../app/index.js';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../observability/index.js';
import { startWorkerHealthServer } from './worker-health.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A Galen on a fresh data folder whose job heartbeat runs every 100 ms (not started). */
async function galenWithFastHeartbeat(): Promise<Galen> {
  const dataDir = mkdtempSync(join(tmpdir(), 'galen-worker-health-'));
  const config = loadConfig({
    env: { GALEN_JOBS_HEARTBEAT_SECONDS: '0.1' },
    overrides: { dataDir },
  });
  const galen = await createGalen(config, createLogger('silent'));
  cleanups.push(async () => {
    await galen.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return galen;
}

describe('JobService.loopHealth', () => {
  it('is alive only while started and its rounds keep finishing', async () => {
    const galen = await galenWithFastHeartbeat();
    expect(galen.jobs.loopHealth()).toEqual({ alive: false, reason: 'the job loop has not started' });
    await galen.jobs.start();
    expect(galen.jobs.loopHealth()).toEqual({ alive: true });
    // Nothing finishes a round while the thread is held: past 3 heartbeats (300 ms) it is late.
    const until = performance.now() + 500;
    while (performance.now() < until);
    expect(galen.jobs.loopHealth()).toMatchObject({
      alive: false,
      reason: expect.stringMatching(/^the job heartbeat has not finished a round for \d+ s$/),
    });
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(galen.jobs.loopHealth()).toEqual({ alive: true });
    await galen.jobs.close();
    expect(galen.jobs.loopHealth()).toEqual({ alive: false, reason: 'the job loop is stopping' });
  });
});

describe('startWorkerHealthServer', () => {
  it('answers GET /healthz from the loop and the store probe, and 404 to anything else', async () => {
    const galen = await galenWithFastHeartbeat();
    let storeDown = false;
    const server = await startWorkerHealthServer({
      host: '127.0.0.1',
      port: 0,
      loop: () => galen.jobs.loopHealth(),
      probeStore: () => (storeDown ? Promise.reject(new Error('gone')) : galen.store.probe()),
      logger: createLogger('silent'),
    });
    cleanups.push(() => server.close());
    const get = async (path: string, method = 'GET'): Promise<[number, unknown]> => {
      const res = await fetch(`${server.address}${path}`, { method });
      return [res.status, await res.json()];
    };

    expect(await get('/healthz')).toEqual([
      503,
      { status: 'unavailable', reason: 'the job loop has not started' },
    ]);
    await galen.jobs.start();
    expect(await get('/healthz')).toEqual([200, { status: 'ok' }]);
    expect(await get('/healthz?verbose=1')).toEqual([200, { status: 'ok' }]);
    expect((await get('/healthz', 'POST'))[0]).toBe(404);
    expect((await get('/v2/health/ready'))[0]).toBe(404);

    storeDown = true;
    // The store is probed at most once a second: the failure shows within about one.
    const deadline = Date.now() + 3000;
    let answer = await get('/healthz');
    while (answer[0] === 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      answer = await get('/healthz');
    }
    expect(answer).toEqual([503, { status: 'unavailable', reason: 'the metadata store cannot be read' }]);
  });

  it('refuses a port already in use', async () => {
    const galen = await galenWithFastHeartbeat();
    const options = {
      host: '127.0.0.1',
      port: 0,
      loop: () => galen.jobs.loopHealth(),
      probeStore: () => galen.store.probe(),
      logger: createLogger('silent'),
    };
    const first = await startWorkerHealthServer(options);
    cleanups.push(() => first.close());
    const port = Number(new URL(first.address).port);
    await expect(startWorkerHealthServer({ ...options, port })).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
  });
});
