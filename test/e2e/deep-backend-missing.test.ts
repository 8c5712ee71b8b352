/**
 * Without the PyTorch backend, Galen still starts and trains tabular models; a deep job is refused
 * at submit with 501 (a feature this server does not run: no Retry-After, a retry cannot succeed)
 * and the command that installs the backend, and nothing is queued.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';

describe('deep jobs without the PyTorch backend', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await createTestServer({
      config: { jobs: { concurrency: 1, maxAttempts: 3, python: '/nonexistent/python3' } },
    });
    const res = await server.call('POST', '/api/v1/datasets/ecg', {
      body: Buffer.from('{"label":"N","steps":[[1],[2]]}\n{"label":"S","steps":[[3]]}\n'),
      contentType: 'application/x-ndjson',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });
  afterAll(async () => server.close());

  it('refuses a deep job at once, saying how to install the backend', async () => {
    const res = await server.call('POST', '/api/v1/jobs', {
      body: { model: 'm', dataset: 'ecg', modelKind: 'gru' },
    });
    expect(res.status).toBe(501);
    expect(res.body.code).toBe('not_implemented');
    expect(res.headers.get('retry-after')).toBeNull();
    expect(res.body.error).toMatch(
      /deep models train on PyTorch, which this server cannot find \(\/nonexistent\/python3: /,
    );
    expect(res.body.error).toContain('apt-get install -y python3-torch python3-onnx');
    expect((await server.call('GET', '/api/v1/jobs')).body).toEqual([]);
  });

  it('refuses a job whose data does not fit the architecture, naming what fits', async () => {
    const res = await server.call('POST', '/api/v1/jobs', {
      body: { model: 'm', dataset: 'ecg', modelKind: 'cnn' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/cnn trains on images, and ecg:1 is sequences/);
  });
});
