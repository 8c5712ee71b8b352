/**
 * Encoded-image inputs of served models: declared in the ONNX file's metadata (key
 * `galen.image_inputs`, a JSON list of {@link ImageInputSpec}), checked against the graph when
 * the version is registered, and decoded into the graph's pixel tensor when a request sends
 * PNG/JPEG bytes instead of pixels. Any ONNX model can declare one, not only Galen-trained ones.
 */
import { GalenError, declaredJson, modelMetadataError } from '../core/index.js';
import type { ImageInputSpec, Signature, Tensor } from '../core/index.js';
import { decodeImage, pixelsToUnit } from './image-codec.js';

export const IMAGE_INPUTS_METADATA_KEY = 'galen.image_inputs';
const MAX_SIDE = 4096;

const bad = (why: string): GalenError => modelMetadataError(IMAGE_INPUTS_METADATA_KEY, why);

/**
 * The image inputs a model declares, checked against its graph inputs: each feeds an FP32 input
 * of shape [batch, channels, height, width] and has a name of its own.
 */
export function imageInputsOf(
  metadata: Readonly<Record<string, string>>,
  signature: Signature,
): ImageInputSpec[] {
  const parsed = declaredJson(metadata, IMAGE_INPUTS_METADATA_KEY);
  if (parsed === undefined) return [];
  if (!Array.isArray(parsed)) throw bad('expected a JSON list of {name, into, channels, height, width}');
  const names = new Set(signature.inputs.map((i) => i.name));
  return parsed.map((entry: unknown, i): ImageInputSpec => {
    const e = entry as Partial<Record<keyof ImageInputSpec, unknown>>;
    const side = (v: unknown): v is number =>
      Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_SIDE;
    if (
      typeof e?.name !== 'string' ||
      typeof e.into !== 'string' ||
      (e.channels !== 1 && e.channels !== 3) ||
      !side(e.height) ||
      !side(e.width)
    ) {
      throw bad(
        `entry ${i} must be {"name": string, "into": graph input, "channels": 1 or 3, "height" and "width": 1–${MAX_SIDE}}`,
      );
    }
    if (names.has(e.name)) throw bad(`entry ${i} is named "${e.name}", which is already a graph input`);
    const target = signature.inputs.find((s) => s.name === e.into);
    const expected = [e.channels, e.height, e.width];
    if (
      !target ||
      target.datatype !== 'FP32' ||
      target.shape.length !== 4 ||
      target.shape.slice(1).some((d, k) => d !== -1 && d !== expected[k])
    ) {
      throw bad(
        `entry ${i} feeds "${e.into}", which must be an FP32 graph input of shape [-1, ${expected.join(', ')}]${target ? ` (it is ${target.datatype} [${target.shape.join(', ')}])` : ' (there is none)'}`,
      );
    }
    return { name: e.name, into: e.into, channels: e.channels, height: e.height, width: e.width };
  });
}

/**
 * Replaces encoded-image tensors in `inputs` by the pixel tensors their models take. Inputs that
 * are not image inputs pass through untouched.
 */
export async function decodeImageInputs(
  specs: readonly ImageInputSpec[],
  inputs: readonly Tensor[],
): Promise<Tensor[]> {
  if (!inputs.some((t) => specs.some((s) => s.name === t.name))) return [...inputs];
  const out: Tensor[] = [];
  for (const tensor of inputs) {
    const spec = specs.find((s) => s.name === tensor.name);
    if (!spec) {
      out.push(tensor);
      continue;
    }
    if (inputs.some((t) => t.name === spec.into)) {
      throw new GalenError(
        'invalid_input',
        `send either "${spec.name}" (encoded images) or "${spec.into}" (pixels), not both`,
      );
    }
    if (tensor.datatype !== 'BYTES' || tensor.shape.length !== 1) {
      throw new GalenError(
        'invalid_input',
        `input "${spec.name}" has datatype ${tensor.datatype} and shape [${tensor.shape.join(', ')}]; it takes BYTES of shape [-1], one PNG or JPEG file per element`,
      );
    }
    const images = tensor.data as readonly Uint8Array[];
    const size = spec.channels * spec.height * spec.width;
    const data = new Float32Array(images.length * size);
    const shape = { channels: spec.channels, height: spec.height, width: spec.width };
    const pixels = await Promise.all(
      images.map((bytes, i) => decodeImage(bytes, shape, `input "${spec.name}" element ${i}`)),
    );
    pixels.forEach((p, i) => pixelsToUnit(p, data, i * size));
    out.push({
      name: spec.into,
      datatype: 'FP32',
      shape: [images.length, spec.channels, spec.height, spec.width],
      data,
    });
  }
  return out;
}
