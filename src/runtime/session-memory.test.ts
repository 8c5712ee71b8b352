/**
 * Memory a large run leaves behind. ONNX Runtime's CPU arena keeps, per session and worker, the
 * memory of the largest run it has seen; Galen turns it off by default so one large request does
 * not pin hundreds of MB until the version unloads (issue 17: RSS 207 MB → 1.2 GB in a fuzz run).
 * Measured as the process's resident memory around one run: the margins are hundreds of MB, not
 * timings, and vitest runs each test file in its own process.
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../core/index.js';
import { OnnxGraphBuilder } from '../onnx/index.js';
import { ModelRuntime } from './model-runtime.js';
import type { RuntimeOptions } from './model-runtime.js';

const WIDTH = 1024;
const LARGE_ROWS = 16_384; // 4 MiB of input; each [rows, 1024] FP32 intermediate is 64 MiB

/** `y = Relu(x · W1) · W2`: wide intermediates, so a run's memory is far larger than its input. */
function wideModel(): Uint8Array {
  const w1 = Array.from({ length: 64 * WIDTH }, (_, i) => ((i % 7) - 3) / 64);
  const w2 = Array.from({ length: WIDTH }, (_, i) => ((i % 5) - 2) / WIDTH);
  return new OnnxGraphBuilder({ graphName: 'wide' })
    .addInput('x', 'FP32', ['batch', 64])
    .addFloatInitializer('w1', [64, WIDTH], w1)
    .addFloatInitializer('w2', [WIDTH, 1], w2)
    .addNode({ opType: 'MatMul', inputs: ['x', 'w1'], outputs: ['h'] })
    .addNode({ opType: 'Relu', inputs: ['h'], outputs: ['r'] })
    .addNode({ opType: 'MatMul', inputs: ['r', 'w2'], outputs: ['y'] })
    .addOutput('y', 'FP32', ['batch', 1])
    .toBytes();
}

const rows = (n: number): Tensor => ({
  name: 'x',
  datatype: 'FP32',
  shape: [n, 64],
  data: new Float32Array(n * 64).fill(0.5),
});

const mib = (bytes: number): number => bytes / 2 ** 20;

/** Resident memory (MiB) still held after one large run followed by small ones. */
async function heldAfterLargeRun(extra: Partial<RuntimeOptions>): Promise<number> {
  const runtime = new ModelRuntime({
    maxConcurrentPerGroup: 1,
    workers: 1,
    intraOpThreads: 1,
    inlineMaxMicros: 0,
    warmup: false,
    serving: {
      batching: false,
      maxBatchSize: 1,
      preferredBatchSizes: [],
      maxQueueDelayMicros: 0,
      maxQueueLength: 10,
      queueTimeoutMicros: 0,
    },
    ...extra,
  });
  try {
    await runtime.load('wide:1', 'wide', wideModel());
    const lease = runtime.acquire('wide:1')!;
    try {
      for (let i = 0; i < 5; i++) await lease.run([rows(1)], ['y']);
      const before = process.memoryUsage().rss;
      const large = await lease.run([rows(LARGE_ROWS)], ['y']);
      expect(large.outputs[0]!.shape).toEqual([LARGE_ROWS, 1]);
      for (let i = 0; i < 5; i++) await lease.run([rows(1)], ['y']);
      return mib(process.memoryUsage().rss - before);
    } finally {
      lease.release();
    }
  } finally {
    await runtime.close();
  }
}

describe('memory after a large run', () => {
  it('is given back by default: the session keeps no arena sized to its largest run', async () => {
    // The run's intermediates take 64 MiB or more; measured: 8 MiB held with the arena off,
    // 78 MiB with it on (the control below).
    expect(await heldAfterLargeRun({})).toBeLessThan(32);
  });

  it('stays held with runtime.cpuMemArena on (ONNX Runtime keeps its arena)', async () => {
    expect(await heldAfterLargeRun({ cpuMemArena: true })).toBeGreaterThan(56);
  });
});
