/**
 * Dynamic batching on the real server: concurrent calls are merged along the batch axis and
 * each gets exactly the outputs it would get alone; calls with other dimensions are not merged;
 * a full queue answers 503 with Retry-After instead of growing.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { loadConfig } from '../../src/config/index.js';
import type { GalenConfig } from '../../src/config/index.js';
import { OnnxGraphBuilder } from '../../src/onnx/index.js';
import { identityModel, uploadModel } from '../helpers/tiny-models.js';

const onnx = new Uint8Array(readFileSync(new URL('../fixtures/pytorch/wdbc_mlp.onnx', import.meta.url)));
const expected = JSON.parse(
  readFileSync(new URL('../fixtures/pytorch/wdbc_mlp.expected.json', import.meta.url), 'utf8'),
) as {
  input: { data: number[] };
};
const ROWS = expected.input.data.length / 30;
/** Request i carries 1-3 real WDBC rows (cycling through the fixture's rows). */
const rowsFor = (i: number): number[][] =>
  Array.from({ length: (i % 3) + 1 }, (_, k) =>
    expected.input.data.slice(((i + k) % ROWS) * 30, ((i + k) % ROWS) * 30 + 30),
  );

const infer = (
  server: TestServer,
  model: string,
  rows: number[][],
): Promise<{ status: number; body: any; headers: Headers }> =>
  server.call('POST', `/v2/models/${model}/infer`, {
    body: { inputs: [{ name: 'features', datatype: 'FP32', shape: [rows.length, 30], data: rows }] },
  });

describe('dynamic batching', () => {
  let batched: TestServer;
  let unbatched: TestServer;
  beforeAll(async () => {
    // One slot per model, so calls that arrive while it is busy queue up and merge.
    batched = await createTestServer({
      config: { runtime: { ...defaults(), maxConcurrentPerModel: 1, batching: true } },
    });
    // The unbatched server also runs every call in a worker thread, while the batched one runs
    // this cheap model on the main thread: equal outputs show both paths agree too.
    unbatched = await createTestServer({
      config: { runtime: { ...defaults(), batching: false, inlineMaxMicros: 0 } },
    });
    await uploadModel(batched, 'mlp', onnx);
    await uploadModel(unbatched, 'mlp', onnx);
  });
  afterAll(async () => {
    await batched.close();
    await unbatched.close();
  });

  it('returns identical results batched and unbatched, and really merges', async () => {
    const n = 60;
    const alone = await Promise.all(Array.from({ length: n }, (_, i) => infer(unbatched, 'mlp', rowsFor(i))));
    const merged = await Promise.all(Array.from({ length: n }, (_, i) => infer(batched, 'mlp', rowsFor(i))));
    for (let i = 0; i < n; i++) {
      expect(merged[i]!.status).toBe(200);
      expect(merged[i]!.body.outputs).toEqual(alone[i]!.body.outputs);
    }
    const stats = await batched.call('GET', '/v2/models/mlp/versions/1/stats');
    const s = stats.body.model_stats[0];
    expect(s.inference_count).toBe(merged.reduce((sum, r) => sum + r.body.outputs[0].shape[0], 0));
    // Fewer executions than calls, and some execution larger than any single call (3 rows).
    expect(s.execution_count).toBeLessThan(n);
    expect(Math.max(...s.batch_stats.map((b: any) => b.batch_size))).toBeGreaterThan(3);
    const metrics = (await batched.call('GET', '/metrics')).body as string;
    const count = /galen_inference_batch_size_count\{model="mlp",version="1"\} (\d+)/.exec(metrics);
    expect(Number(count?.[1])).toBe(s.execution_count);
    expect(metrics).toMatch(/galen_inference_batch_size_bucket\{le="2",model="mlp",version="1"\} \d+/);
  });

  it('never merges calls whose other dimensions differ', async () => {
    await uploadModel(batched, 'ident', identityModel('FP32', ['batch', 'width']));
    const calls = Array.from({ length: 24 }, (_, i) => {
      const width = (i % 3) + 2;
      const data = Array.from({ length: width }, (_, k) => i * 10 + k);
      return batched
        .call('POST', '/v2/models/ident/infer', {
          body: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, width], data }] },
        })
        .then((r) => ({ r, data, width }));
    });
    for (const { r, data, width } of await Promise.all(calls)) {
      expect(r.status).toBe(200);
      expect(r.body.outputs[0]).toMatchObject({ shape: [1, width], data });
    }
  });
});

describe('per-model serving settings', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await createTestServer({
      config: { runtime: { ...defaults(), maxConcurrentPerModel: 1, batching: true } },
    });
    await uploadModel(server, 'mlp', onnx);
  });
  afterAll(async () => server.close());

  const stats = async (): Promise<any> =>
    (await server.call('GET', '/v2/models/mlp/versions/1/stats')).body.model_stats[0];
  /** Executions by batch size since `since` (the statistics' batch_stats). */
  const executionsSince = (since: any, now: any): Record<number, number> => {
    const count = (s: any, size: number): number =>
      s.batch_stats.find((b: any) => b.batch_size === size)?.compute_infer.count ?? 0;
    const out: Record<number, number> = {};
    for (const b of now.batch_stats) {
      const n = count(now, b.batch_size) - count(since, b.batch_size);
      if (n > 0) out[b.batch_size] = n;
    }
    return out;
  };
  const burst = async (n: number): Promise<void> => {
    const results = await Promise.all(Array.from({ length: n }, (_, i) => infer(server, 'mlp', rowsFor(i))));
    for (const r of results) expect(r.status).toBe(200);
  };

  it('shows the defaults, stores settings, and applies them at once to the loaded version', async () => {
    const initial = await server.call('GET', '/api/v1/models/mlp/serving');
    expect(initial.body).toEqual({
      model: 'mlp',
      settings: {},
      effective: {
        batching: true,
        maxBatchSize: 32,
        preferredBatchSizes: [],
        maxQueueDelayMicros: 0,
        maxQueueLength: 1024,
        queueTimeoutMicros: 30_000_000,
      },
    });
    await burst(4); // loads the version

    const put = await server.call('PUT', '/api/v1/models/mlp/serving', {
      body: { maxBatchSize: 4, preferredBatchSizes: [2, 4] },
    });
    expect(put.status).toBe(200);
    expect(put.body.effective).toMatchObject({ maxBatchSize: 4, preferredBatchSizes: [2, 4] });
    expect((await server.call('GET', '/api/v1/models/mlp')).body.serving).toEqual({
      maxBatchSize: 4,
      preferredBatchSizes: [2, 4],
    });
    const before = await stats();
    await burst(40); // 1, 2 or 3 rows each: 79 rows
    const after = await stats();
    const sizes = Object.keys(executionsSince(before, after)).map(Number);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4);
    expect(after.inference_count - before.inference_count).toBe(79);
    expect(after.execution_count - before.execution_count).toBeLessThan(40);

    // Batching off: every call is its own execution.
    await server.call('PUT', '/api/v1/models/mlp/serving', { body: { batching: false } });
    const off = await stats();
    await burst(12);
    expect((await stats()).execution_count - off.execution_count).toBe(12);
  });

  it('forms batches of a preferred size below the maximum when enough rows wait', async () => {
    // A call waits (up to 1 s) until the rows waiting fill a full batch: the largest preferred
    // size, or without preferred sizes the maximum. Eight one-row calls then show which it is.
    const eight = async (): Promise<Record<number, number>> => {
      const before = await stats();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => infer(server, 'mlp', [rowsFor(0)[0]!.map((v) => v + i)])),
      );
      for (const r of results) expect(r.status).toBe(200);
      return executionsSince(before, await stats());
    };
    const settings = { batching: true, maxBatchSize: 8, maxQueueDelayMicros: 1_000_000 };
    await server.call('PUT', '/api/v1/models/mlp/serving', {
      body: { ...settings, preferredBatchSizes: [4] },
    });
    expect(await eight()).toEqual({ 4: 2 });
    await server.call('PUT', '/api/v1/models/mlp/serving', {
      body: { ...settings, preferredBatchSizes: [] },
    });
    expect(await eight()).toEqual({ 8: 1 });
  });

  it('refuses settings that are unknown, out of range or inconsistent, naming what is allowed', async () => {
    const cases: [unknown, RegExp][] = [
      [{ maxBatchSize: 0 }, /"maxBatchSize" is 0; it must be an integer from 1 to 4096/],
      [{ maxBatchSize: '8' }, /"maxBatchSize" is "8"; it must be an integer/],
      [{ batchSize: 8 }, /unknown serving setting\(s\) "batchSize"; allowed: batching, maxBatchSize/],
      [{ preferredBatchSizes: [8, 4] }, /ascending order/],
      [{ maxBatchSize: 8, preferredBatchSizes: [4, 16] }, /has a size above maxBatchSize 8/],
      [{ queueTimeoutMicros: -1 }, /"queueTimeoutMicros" is -1/],
    ];
    for (const [body, message] of cases) {
      const res = await server.call('PUT', '/api/v1/models/mlp/serving', { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toMatch(message);
    }
    const service = await server.key('service');
    const denied = await server.call('PUT', '/api/v1/models/mlp/serving', { body: {}, key: service });
    expect(denied.status).toBe(403);
    expect((await server.call('PUT', '/api/v1/models/nope/serving', { body: {} })).status).toBe(404);
  });
});

/**
 * A model slow enough (about ten milliseconds a call of 16 rows) that a flood of calls outruns
 * it, with small inputs and outputs so JSON handling is not what takes the time.
 */
function slowModel(width = 512, layers = 48): Uint8Array {
  const g = new OnnxGraphBuilder({ producerName: 'galen-test' });
  const weights = (rows: number, cols: number): Float32Array =>
    Float32Array.from({ length: rows * cols }, (_, i) => ((i % 7) - 3) / (cols * 4));
  g.addInput('x', 'FP32', ['batch', 8]);
  g.addFloatInitializer('w_in', [8, width], weights(8, width));
  g.addFloatInitializer('w', [width, width], weights(width, width));
  g.addFloatInitializer('w_out', [width, 4], weights(width, 4));
  g.addNode({ opType: 'MatMul', inputs: ['x', 'w_in'], outputs: ['h_in'] });
  let prev = 'h_in';
  for (let i = 0; i < layers; i++) {
    g.addNode({ opType: 'MatMul', inputs: [prev, 'w'], outputs: [`h${i}`] });
    prev = `h${i}`;
  }
  g.addNode({ opType: 'MatMul', inputs: [prev, 'w_out'], outputs: ['y'] });
  g.addOutput('y', 'FP32', ['batch', 4]);
  return g.toBytes();
}

describe('admission control', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await createTestServer({
      config: {
        runtime: {
          ...defaults(),
          maxConcurrentPerModel: 1,
          batching: true,
          maxBatchSize: 16,
          maxQueueLength: 4,
        },
      },
    });
    await uploadModel(server, 'slow', slowModel());
  });
  afterAll(async () => server.close());

  it('refuses calls beyond the queue bound at once with 503 + Retry-After, and serves the rest', async () => {
    const data = Array.from({ length: 128 }, (_, i) => (i % 11) / 10);
    const body = { inputs: [{ name: 'x', datatype: 'FP32', shape: [16, 8], data }] };
    const reference = await server.call('POST', '/v2/models/slow/infer', { body });
    expect(reference.status).toBe(200);
    // Sessions run in worker threads, so the HTTP server keeps accepting while the model computes.
    const results = await Promise.all(
      Array.from({ length: 60 }, () => server.call('POST', '/v2/models/slow/infer', { body })),
    );
    const refused = results.filter((r) => r.status === 503);
    const served = results.filter((r) => r.status === 200);
    expect(refused.length).toBeGreaterThan(0);
    expect(served.length).toBeGreaterThanOrEqual(4);
    expect(refused.length + served.length).toBe(60);
    for (const r of refused) {
      expect(r.headers.get('retry-after')).toBe('1');
      expect(r.body.error).toMatch(/queue is full \(4 calls waiting\)/);
    }
    for (const r of served) expect(r.body.outputs).toEqual(reference.body.outputs);

    // The queue is empty again and HTTP serves; an unloaded model answers 404, with no Retry-After
    // (it stays unloaded until loaded again, so retrying cannot help).
    expect((await server.call('POST', '/v2/models/slow/infer', { body })).status).toBe(200);
    expect((await server.call('POST', '/v2/repository/models/slow/unload')).status).toBe(200);
    const unavailable = await server.call('POST', '/v2/models/slow/infer', { body });
    expect(unavailable.status).toBe(404);
    expect(unavailable.headers.get('retry-after')).toBeNull();
  });

  it("honours a request's own timeout parameter (µs, as Triton's schedule policy) and checks it", async () => {
    expect((await server.call('POST', '/v2/repository/models/slow/load')).status).toBe(200);
    await server.call('PUT', '/api/v1/models/slow/serving', { body: { maxQueueLength: 100 } });
    const data = Array.from({ length: 128 }, (_, i) => (i % 3) / 10);
    const body = (timeout: unknown) => ({
      parameters: { timeout },
      inputs: [{ name: 'x', datatype: 'FP32', shape: [16, 8], data }],
    });
    const results = await Promise.all(
      Array.from({ length: 30 }, () => server.call('POST', '/v2/models/slow/infer', { body: body(1500) })),
    );
    const late = results.filter((r) => r.status === 503);
    expect(late.length).toBeGreaterThan(0);
    expect(late[0]!.body.error).toMatch(/longer than its timeout of 1.5 ms/);
    const ok = results.find((r) => r.status === 200)!;
    // Server-Timing splits the server's time into queue and compute (ms).
    expect(ok.headers.get('server-timing')).toMatch(
      /^total;dur=[\d.]+, queue;dur=[\d.]+, compute;dur=[\d.]+$/,
    );
    for (const bad of [-1, 1.5, '100', 3_600_000_001]) {
      const res = await server.call('POST', '/v2/models/slow/infer', { body: body(bad) });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/parameter "timeout" is .*an integer from 0 \(model default\)/);
    }
  });

  it('refuses calls that wait longer than the queue timeout, batched or not', async () => {
    const data = Array.from({ length: 128 }, (_, i) => (i % 5) / 10);
    const body = { inputs: [{ name: 'x', datatype: 'FP32', shape: [16, 8], data }] };
    const loaded = await server.call('POST', '/v2/repository/models/slow/load');
    expect(loaded.status, JSON.stringify(loaded.body)).toBe(200);
    for (const batching of [true, false]) {
      const put = await server.call('PUT', '/api/v1/models/slow/serving', {
        body: { batching, maxQueueLength: 100, queueTimeoutMicros: 2000 },
      });
      expect(put.status).toBe(200);
      const results = await Promise.all(
        Array.from({ length: 30 }, () => server.call('POST', '/v2/models/slow/infer', { body })),
      );
      const late = results.filter((r) => r.status === 503);
      expect(late.length, `batching ${batching}`).toBeGreaterThan(0);
      expect(results.filter((r) => r.status === 200).length).toBeGreaterThan(0);
      for (const r of late) {
        expect(r.headers.get('retry-after')).toBe('1');
        expect(r.body.error).toMatch(
          /waited [\d.]+ ms in the model's queue, longer than its timeout of 2 ms/,
        );
      }
    }
  });
});

/** The default runtime settings, with one ONNX Runtime thread per session to keep runs short. */
function defaults(): GalenConfig['runtime'] {
  return { ...loadConfig({ env: {} }).runtime, intraOpThreads: 1 };
}
