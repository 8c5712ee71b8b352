import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxGraphBuilder } from '../onnx/index.js';
import { SessionPool, SessionRunError } from './session-pool.js';

const negModel = (): Uint8Array =>
  new OnnxGraphBuilder({ graphName: 'neg' })
    .addInput('x', 'FP32', ['batch', 2])
    .addNode({ opType: 'Neg', inputs: ['x'], outputs: ['y'] })
    .addOutput('y', 'FP32', ['batch', 2])
    .toBytes();

const feed = (values: number[]) => [
  { name: 'x', type: 'float32', dims: [values.length / 2, 2], data: Float32Array.from(values) },
];

describe('SessionPool (ONNX Runtime in worker threads)', () => {
  let dir: string;
  let path: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'galen-pool-'));
    path = join(dir, 'neg.onnx');
    await writeFile(path, negModel());
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('opens a session in every worker, reports its metadata and runs it', async () => {
    const pool = new SessionPool(2, { intraOpNumThreads: 1 });
    try {
      const { sid, metadata } = await pool.open(path);
      expect(metadata.inputs).toEqual([{ name: 'x', isTensor: true, type: 'float32', shape: ['batch', 2] }]);
      const results = await Promise.all([
        pool.run(sid, feed([1, 2]), ['y']),
        pool.run(sid, feed([3, -4]), ['y']),
      ]);
      expect(Array.from(results[0].outputs[0]!.data as Float32Array)).toEqual([-1, -2]);
      expect(Array.from(results[1].outputs[0]!.data as Float32Array)).toEqual([-3, 4]);
      expect(results[0].computeNs).toBeGreaterThan(0);
    } finally {
      await pool.close();
    }
  });

  it("passes ONNX Runtime's own refusal back as a SessionRunError", async () => {
    const pool = new SessionPool(1, {});
    try {
      const { sid } = await pool.open(path);
      await expect(
        pool.run(sid, [{ name: 'x', type: 'float32', dims: [1, 3], data: new Float32Array(3) }], ['y']),
      ).rejects.toBeInstanceOf(SessionRunError);
      await expect(pool.open(join(dir, 'missing.onnx'))).rejects.toBeInstanceOf(SessionRunError);
    } finally {
      await pool.close();
    }
  });

  it('replaces a worker that dies and opens its sessions again', async () => {
    const pool = new SessionPool(1, {});
    try {
      const { sid } = await pool.open(path);
      await pool['workers'][0]!.worker.terminate(); // as if ONNX Runtime had crashed the thread
      await new Promise((resolve) => setTimeout(resolve, 50));
      const again = await pool.run(sid, feed([5, 6]), ['y']);
      expect(Array.from(again.outputs[0]!.data as Float32Array)).toEqual([-5, -6]);
    } finally {
      await pool.close();
    }
  });
});
