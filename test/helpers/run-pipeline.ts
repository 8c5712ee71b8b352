/** Runs a compiled tabular pipeline in ONNX Runtime on raw columns, as a client would send them. */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { PipelineSpec } from '../../src/core/index.js';
import { compileTabularPipeline } from '../../src/onnx/index.js';
import type { PipelineColumns } from '../../src/training/index.js';

/** One [n, 1] input per column: FP32 numbers (NaN for missing), strings ('' for missing). */
export async function runCompiledPipeline(
  spec: PipelineSpec,
  columns: PipelineColumns,
): Promise<{ session: InferenceSession; out: InferenceSession.OnnxValueMapType }> {
  const session = await InferenceSession.create(Buffer.from(compileTabularPipeline(spec)));
  const feeds: Record<string, Tensor> = {};
  for (const f of spec.features) {
    const cells = columns[f.column] ?? [];
    feeds[f.column] =
      f.kind === 'numeric'
        ? new Tensor(
            'float32',
            Float32Array.from(cells, (c) => (c === null ? Number.NaN : Number(c))),
            [cells.length, 1],
          )
        : new Tensor(
            'string',
            cells.map((c) => (c === null ? '' : String(c))),
            [cells.length, 1],
          );
  }
  try {
    return { session, out: await session.run(feeds) };
  } finally {
    await session.release();
  }
}
