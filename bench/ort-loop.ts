/**
 * Child process: the raw ONNX Runtime ceiling. One `InferenceSession` per model, with the
 * server's session options except the thread count, which stays ONNX Runtime's default (all
 * cores: the same CPU the whole server may use); `run` awaited in a tight loop at each batch
 * size. No HTTP, no copies, no queue: what the hardware gives this model in this process.
 */
import { cpus } from 'node:os';
import * as ort from 'onnxruntime-node';
import { childMain } from './child-process.js';
import { ownCpuSeconds } from './cpu-usage.js';
import { Samples } from './latency.js';
import type { LatencySummary } from './latency.js';

export interface OrtModelSpec {
  /** The name the report uses, e.g. `tabular` or `cnn`. */
  label: string;
  bytes: Uint8Array;
  inputName: string;
  /** Shape of one row (without the batch axis). */
  rowShape: number[];
  /** Rows to stack into batches, cycled. */
  rows: Float32Array[];
}

export interface OrtLoopSpec {
  models: OrtModelSpec[];
  batches: number[];
  durationS: number;
  warmupS: number;
}

export interface OrtLoopResult {
  model: string;
  batch: number;
  runs: number;
  durationS: number;
  runsPerS: number;
  /** Inferences (rows, images) per second: runs/s × batch. */
  rowsPerS: number;
  /** Per `run` call. */
  latency: LatencySummary;
  /** Cores this process kept busy (ONNX Runtime's threads included). */
  cores: number;
  /** Cores other processes kept busy meanwhile (noise). */
  otherCores: number;
}

/** Idle milliseconds summed over all cores (see cpu-usage.ts for why idle, not busy). */
function machineIdleMs(): number {
  return cpus().reduce((sum, cpu) => sum + cpu.times.idle, 0);
}

/** A few different feeds of `batch` rows each, so the loop does not run on one tensor only. */
function feeds(model: OrtModelSpec, batch: number): ort.InferenceSession.FeedsType[] {
  const width = model.rowShape.reduce((a, b) => a * b, 1);
  return Array.from({ length: 4 }, (_, k) => {
    const data = new Float32Array(batch * width);
    for (let i = 0; i < batch; i++) data.set(model.rows[(k * batch + i) % model.rows.length]!, i * width);
    return { [model.inputName]: new ort.Tensor('float32', data, [batch, ...model.rowShape]) };
  });
}

async function loop(
  session: ort.InferenceSession,
  inputs: ort.InferenceSession.FeedsType[],
  seconds: number,
  samples?: Samples,
): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let runs = 0;
  while (performance.now() < deadline) {
    const t0 = performance.now();
    await session.run(inputs[runs % inputs.length]!);
    samples?.add(performance.now() - t0);
    runs++;
  }
  return runs;
}

childMain<OrtLoopSpec, OrtLoopResult[]>(async (spec) => {
  const results: OrtLoopResult[] = [];
  for (const model of spec.models) {
    const session = await ort.InferenceSession.create(model.bytes, {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      logSeverityLevel: 3,
    });
    try {
      for (const batch of spec.batches) {
        const inputs = feeds(model, batch);
        await loop(session, inputs, Math.max(spec.warmupS, 0.2));
        const samples = new Samples();
        const cpu0 = ownCpuSeconds();
        const idle0 = machineIdleMs();
        const t0 = performance.now();
        const runs = await loop(session, inputs, spec.durationS, samples);
        const durationS = (performance.now() - t0) / 1000;
        const ownCores = (ownCpuSeconds() - cpu0) / durationS;
        const machineCores = cpus().length - (machineIdleMs() - idle0) / 1000 / durationS;
        results.push({
          model: model.label,
          batch,
          runs,
          durationS,
          runsPerS: runs / durationS,
          rowsPerS: (runs * batch) / durationS,
          latency: samples.summary(),
          cores: ownCores,
          otherCores: Math.max(0, machineCores - ownCores),
        });
      }
    } finally {
      await session.release();
    }
  }
  return results;
});
