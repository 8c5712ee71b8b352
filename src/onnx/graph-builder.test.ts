import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GalenError } from '../core/index.js';
import { ML_DOMAIN, OnnxGraphBuilder, attr } from './index.js';

async function run(
  bytes: Uint8Array,
  feeds: Record<string, Tensor>,
): Promise<InferenceSession.OnnxValueMapType> {
  const session = await InferenceSession.create(Buffer.from(bytes));
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

function floats(values: ArrayLike<number>): number[] {
  return Array.from(values, (v) => Number(v));
}

describe('OnnxGraphBuilder', () => {
  it('builds a standardise-then-concat graph that ONNX Runtime runs with a symbolic batch size', async () => {
    const b = new OnnxGraphBuilder({ producerVersion: '9.9.9' });
    b.addInput('x', 'FP32', ['batch', 2]);
    b.addFloatInitializer('mean', [2], [1, 10]);
    b.addFloatInitializer('std', [2], [2, 5]);
    b.addNode({ opType: 'Sub', inputs: ['x', 'mean'], outputs: ['centered'] });
    b.addNode({ opType: 'Div', inputs: ['centered', 'std'], outputs: ['z'] });
    b.addNode({ opType: 'Concat', inputs: ['z', 'x'], outputs: ['both'], attributes: { axis: attr.int(1) } });
    b.addOutput('both', 'FP32', ['batch', 4]);

    const session = await InferenceSession.create(Buffer.from(b.toBytes()));
    const input = session.inputMetadata[0];
    expect(input?.isTensor && input.shape).toEqual(['batch', 2]);
    const out = await session.run({
      x: new Tensor('float32', Float32Array.from([3, 20, 1, 0, -1, 15]), [3, 2]),
    });
    await session.release();

    expect(out.both?.dims).toEqual([3, 4]);
    expect(floats(out.both!.data as Float32Array)).toEqual([1, 2, 3, 20, 0, -2, 1, 0, -1, 1, -1, 15]);
  });

  it('writes INT64 initializers and float/ints attributes that operators honour', async () => {
    const b = new OnnxGraphBuilder();
    b.addInput('x', 'FP32', ['batch', 3]);
    b.addInt64Initializer('axes', [1], [1]);
    b.addNode({
      opType: 'ReduceSum',
      inputs: ['x', 'axes'],
      outputs: ['sum'],
      attributes: { keepdims: attr.int(0) },
    });
    b.addNode({
      opType: 'LeakyRelu',
      inputs: ['sum'],
      outputs: ['y'],
      attributes: { alpha: attr.float(0.5) },
    });
    b.addNode({
      opType: 'Transpose',
      inputs: ['x'],
      outputs: ['xt'],
      attributes: { perm: attr.ints([1, 0]) },
    });
    b.addOutput('y', 'FP32', ['batch']);
    b.addOutput('xt', 'FP32', [3, 'batch']);

    const out = await run(b.toBytes(), {
      x: new Tensor('float32', Float32Array.from([1, 2, 3, -4, -5, -6]), [2, 3]),
    });
    expect(floats(out.y!.data as Float32Array)).toEqual([6, -7.5]);
    expect(out.xt?.dims).toEqual([3, 2]);
  });

  it('builds ai.onnx.ml operators with string and float-list attributes', async () => {
    const b = new OnnxGraphBuilder().importOpset(ML_DOMAIN, 3);
    b.addInput('x', 'FP32', ['batch', 2]);
    b.addNode({
      opType: 'Scaler',
      domain: ML_DOMAIN,
      inputs: ['x'],
      outputs: ['scaled'],
      attributes: { offset: attr.floats([1, 1]), scale: attr.floats([2, 0.5]) },
    });
    b.addNode({
      opType: 'LinearClassifier',
      domain: ML_DOMAIN,
      inputs: ['scaled'],
      outputs: ['label', 'scores'],
      attributes: {
        coefficients: attr.floats([-1, -1, 1, 1]),
        intercepts: attr.floats([0, 0]),
        classlabels_strings: attr.strings(['low', 'high']),
        post_transform: attr.string('NONE'),
      },
    });
    b.addOutput('label', 'BYTES', ['batch']);
    b.addOutput('scores', 'FP32', ['batch', 2]);

    const out = await run(b.toBytes(), { x: new Tensor('float32', Float32Array.from([3, 5, 0, 0]), [2, 2]) });
    // Scaler computes (x - offset) * scale: row 0 -> [4, 2], row 1 -> [-2, -0.5].
    expect(floats(out.scores!.data as Float32Array)).toEqual([-6, 6, 2.5, -2.5]);
    expect(out.label?.data).toEqual(['high', 'low']);
  });

  it('embeds a constant tensor attribute', async () => {
    const b = new OnnxGraphBuilder();
    b.addNode({
      opType: 'Constant',
      inputs: [],
      outputs: ['c'],
      attributes: { value: attr.tensor({ datatype: 'INT64', dims: [2], values: [7n, -3] }) },
    });
    b.addOutput('c', 'INT64', [2]);
    const out = await run(b.toBytes(), {});
    expect(Array.from(out.c!.data as BigInt64Array)).toEqual([7n, -3n]);
  });

  it('rejects graphs ONNX would reject, with messages that say what to fix', () => {
    const outOfOrder = new OnnxGraphBuilder();
    outOfOrder.addInput('x', 'FP32', [1]);
    outOfOrder.addNode({ opType: 'Relu', inputs: ['y'], outputs: ['z'] });
    outOfOrder.addNode({ opType: 'Relu', inputs: ['x'], outputs: ['y'] });
    outOfOrder.addOutput('z', 'FP32', [1]);
    expect(() => outOfOrder.toBytes()).toThrow(/reads "y", which no earlier node/);

    const noOpset = new OnnxGraphBuilder();
    noOpset.addInput('x', 'FP32', [1, 1]);
    noOpset.addNode({ opType: 'Normalizer', domain: ML_DOMAIN, inputs: ['x'], outputs: ['y'] });
    noOpset.addOutput('y', 'FP32', [1, 1]);
    expect(() => noOpset.toBytes()).toThrow(/domain "ai.onnx.ml", which has no opset import/);

    const twice = new OnnxGraphBuilder();
    twice.addInput('x', 'FP32', [1]);
    twice.addNode({ opType: 'Relu', inputs: ['x'], outputs: ['x'] });
    twice.addOutput('x', 'FP32', [1]);
    expect(() => twice.toBytes()).toThrow(/value "x" is defined twice/);

    const missing = new OnnxGraphBuilder();
    missing.addInput('x', 'FP32', [1]);
    missing.addOutput('nope', 'FP32', [1]);
    expect(() => missing.toBytes()).toThrow(/graph output "nope" is never produced/);

    const b = new OnnxGraphBuilder();
    expect(() => b.addFloatInitializer('w', [2, 3], [1, 2, 3])).toThrow(
      /tensor "w" has 3 values but dims \[2,3\] need 6/,
    );
    expect(() => b.addInt64Initializer('big', [1], [2 ** 60])).toThrow(GalenError);
    expect(() => b.addInput('x', 'FP32', [-1])).toThrow(/use a non-negative integer or a name like "batch"/);
  });

  it('hands out fresh names that do not collide with existing values', () => {
    const b = new OnnxGraphBuilder();
    b.addInput('scaled_0', 'FP32', [1]);
    const first = b.freshName('scaled');
    const second = b.freshName('scaled');
    expect(first).toBe('scaled_1');
    expect(second).toBe('scaled_2');
  });
});
