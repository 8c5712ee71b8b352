/**
 * An ONNX Runtime session on the main thread, for models so cheap that handing a call to a
 * worker thread costs more than running it (a tabular model runs in ~20 µs; a round trip to a
 * worker takes ~25 µs of CPU and ~80 µs of latency). The runtime uses it only while the
 * expected run time stays under `runtime.inlineMaxMicros`, so the event loop is never held long.
 */
import { hrtime } from 'node:process';
import ort from 'onnxruntime-node';
import type { ModelSource, WireTensor } from './session-worker.js';

export class InlineSession {
  private constructor(private readonly session: ort.InferenceSession) {}

  /**
   * Opens `model` with `options` (session-options.ts: one intra-op thread, so it runs on the
   * calling thread, spawning none).
   */
  static async open(
    model: ModelSource,
    options: ort.InferenceSession.SessionOptions,
  ): Promise<InlineSession> {
    const settings = { ...options, intraOpNumThreads: 1, interOpNumThreads: 1 };
    return new InlineSession(
      typeof model === 'string'
        ? await ort.InferenceSession.create(model, settings)
        : await ort.InferenceSession.create(model, settings),
    );
  }

  async run(
    feeds: readonly WireTensor[],
    outputNames: readonly string[],
  ): Promise<{ outputs: WireTensor[]; computeNs: number }> {
    const inputs: Record<string, ort.Tensor> = {};
    for (const f of feeds) {
      inputs[f.name] = new ort.Tensor(f.type as ort.Tensor.Type, f.data as ort.Tensor.DataType, f.dims);
    }
    const started = hrtime.bigint();
    const results = await this.session.run(inputs, [...outputNames]);
    const computeNs = Number(hrtime.bigint() - started);
    const outputs = outputNames.map((name): WireTensor => {
      const value = results[name];
      if (!value) throw new Error(`ONNX Runtime returned no value for output "${name}"`);
      return { name, type: value.type, dims: value.dims.map(Number), data: value.data };
    });
    return { outputs, computeNs };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
