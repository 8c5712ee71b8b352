/**
 * The CNN benchmarked: a small but realistic image classifier over 1×128×128 FP32 images, built in
 * code with Galen's ONNX graph builder. Four blocks of Conv 3×3 (padding 1) + ReLU + MaxPool 2×2
 * (1→16→32→64→128 channels, 128→8 pixels), then global average pooling, Flatten, Gemm to two
 * classes and Softmax: about 98 k parameters and 118 MFLOP (2 × multiply-adds) per image. Weights
 * are He-uniform from a fixed seed, so every run benchmarks the same model. The batch axis is
 * dynamic, so Galen can batch it.
 */
import { OnnxGraphBuilder, attr } from '../src/onnx/index.js';
import { seededRandom } from './random.js';

export const CNN_INPUT = 'image';
export const CNN_OUTPUT = 'probabilities';
/** One image: [1, 128, 128] (channels, height, width). */
export const CNN_IMAGE_SHAPE: readonly number[] = [1, 128, 128];
const CHANNELS = [1, 16, 32, 64, 128];
const CLASSES = 2;

/** Builds the CNN as ONNX bytes (opset 13). */
export function buildCnnModel(seed = 42): Uint8Array {
  const random = seededRandom(seed);
  const uniform = (count: number, limit: number): Float32Array =>
    Float32Array.from({ length: count }, () => (random() * 2 - 1) * limit);
  const g = new OnnxGraphBuilder({ producerName: 'galen-bench', docString: 'benchmark CNN, untrained' });
  g.addInput(CNN_INPUT, 'FP32', ['batch', ...CNN_IMAGE_SHAPE]);
  let prev = CNN_INPUT;
  for (let i = 1; i < CHANNELS.length; i++) {
    const cin = CHANNELS[i - 1]!;
    const cout = CHANNELS[i]!;
    const fanIn = cin * 9;
    g.addFloatInitializer(`conv${i}_w`, [cout, cin, 3, 3], uniform(cout * fanIn, Math.sqrt(6 / fanIn)));
    g.addFloatInitializer(`conv${i}_b`, [cout], uniform(cout, 0.01));
    g.addNode({
      opType: 'Conv',
      inputs: [prev, `conv${i}_w`, `conv${i}_b`],
      outputs: [`conv${i}`],
      attributes: { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) },
    });
    g.addNode({ opType: 'Relu', inputs: [`conv${i}`], outputs: [`relu${i}`] });
    g.addNode({
      opType: 'MaxPool',
      inputs: [`relu${i}`],
      outputs: [`pool${i}`],
      attributes: { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) },
    });
    prev = `pool${i}`;
  }
  const features = CHANNELS[CHANNELS.length - 1]!;
  g.addNode({ opType: 'GlobalAveragePool', inputs: [prev], outputs: ['gap'] });
  g.addNode({ opType: 'Flatten', inputs: ['gap'], outputs: ['flat'], attributes: { axis: attr.int(1) } });
  g.addFloatInitializer('fc_w', [features, CLASSES], uniform(features * CLASSES, Math.sqrt(6 / features)));
  g.addFloatInitializer('fc_b', [CLASSES], uniform(CLASSES, 0.01));
  g.addNode({ opType: 'Gemm', inputs: ['flat', 'fc_w', 'fc_b'], outputs: ['logits'] });
  g.addNode({
    opType: 'Softmax',
    inputs: ['logits'],
    outputs: [CNN_OUTPUT],
    attributes: { axis: attr.int(1) },
  });
  g.addOutput(CNN_OUTPUT, 'FP32', ['batch', CLASSES]);
  return g.toBytes();
}

/** `count` deterministic images (smooth gradients plus noise, values in [0, 1)), each 128×128 values. */
export function cnnImages(count: number, seed = 7): Float32Array[] {
  const random = seededRandom(seed);
  const [, height = 128, width = 128] = CNN_IMAGE_SHAPE;
  return Array.from({ length: count }, (_, n) => {
    const image = new Float32Array(height * width);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const smooth = 0.5 + 0.25 * Math.sin((x + n * 9) / 11) * Math.cos((y - n * 5) / 13);
        image[y * width + x] = Math.min(0.999, Math.max(0, smooth + (random() - 0.5) * 0.2));
      }
    }
    return image;
  });
}
