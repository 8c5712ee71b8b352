/**
 * Dynamic batching with a non-zero `maxQueueDelayMicros`: a call waits up to that delay for
 * company, so calls sent within it share one execution; with no delay they do not; a lone call is
 * still answered, after having waited for the delay. Real server, real ONNX Runtime; executions are
 * counted by the model's statistics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { identityModel, uploadModel } from '../helpers/tiny-models.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DELAY_MICROS = 1_000_000;

describe('maxQueueDelayMicros', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await createTestServer();
    await uploadModel(server, 'waits', identityModel('FP32'));
  });
  afterAll(async () => server.close());

  const infer = (value: number) =>
    server.call('POST', '/v2/models/waits/infer', {
      body: { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [value, value, value] }] },
    });
  const stats = async (): Promise<{ inference_count: number; execution_count: number }> =>
    (await server.call('GET', '/v2/models/waits/versions/1/stats')).body.model_stats[0];
  const setDelay = async (micros: number) => {
    const put = await server.call('PUT', '/api/v1/models/waits/serving', {
      body: { maxQueueDelayMicros: micros, maxBatchSize: 8 },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
  };
  /** Two calls 10 ms apart: how many executions served them. */
  const twoCalls = async (): Promise<number> => {
    const before = await stats();
    const first = infer(1);
    await sleep(10);
    const [a, b] = await Promise.all([first, infer(2)]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(a.body.outputs[0].data).toEqual([1, 1, 1]);
    expect(b.body.outputs[0].data).toEqual([2, 2, 2]);
    const after = await stats();
    expect(after.inference_count - before.inference_count).toBe(2);
    return after.execution_count - before.execution_count;
  };

  it('merges calls that arrive within the delay into one execution', async () => {
    await infer(0); // loads the version
    await setDelay(DELAY_MICROS);
    expect(await twoCalls()).toBe(1);
  });

  it('runs each call at once, alone, when the delay is zero', async () => {
    await setDelay(0);
    expect(await twoCalls()).toBe(2);
  });

  it('answers a lone call after it has waited for company', async () => {
    await setDelay(DELAY_MICROS);
    const before = await stats();
    const alone = await infer(3);
    expect(alone.status).toBe(200);
    expect(alone.body.outputs[0].data).toEqual([3, 3, 3]);
    // The queue time the server reports (Server-Timing) is the delay it waited, not more work.
    const queueMs = Number(/queue;dur=([\d.]+)/.exec(alone.headers.get('server-timing') ?? '')?.[1]);
    expect(queueMs).toBeGreaterThanOrEqual((DELAY_MICROS / 1000) * 0.99);
    expect((await stats()).execution_count - before.execution_count).toBe(1);
  });
});
