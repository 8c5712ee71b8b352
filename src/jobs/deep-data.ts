/**
 * Data preparation for deep training, in TypeScript: a stored image or sequence dataset becomes
 * the arrays the PyTorch trainer reads (NumPy files), the ONNX inputs Galen evaluates with, and
 * the description of those inputs for the model card. Images are decoded and resized by the code
 * that decodes served images; sequences are padded after their end with their lengths kept, and
 * truncated to their most recent steps when longer than the model's limit.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GalenError } from '../core/index.js';
import type { Tensor } from '../core/index.js';
import { encodeNpy } from '../datasets/index.js';
import type { NpyArray, SequenceDatasetSchema, SequenceRecord } from '../datasets/index.js';
import { IMAGE_INPUTS_METADATA_KEY, pixelsToUnit } from '../images/index.js';
import type { ImageDatasetSchema, LoadedImages, PixelShape } from '../images/index.js';
import type { DatasetRegistry, DatasetVersion } from '../registry/index.js';

/** A dataset ready for a deep run. */
export interface PreparedData {
  kind: 'images' | 'sequences';
  /** Raw label and named split (or null) per row. */
  labels: readonly string[];
  splits: readonly (string | null)[];
  /** Writes the trainer's files for these rows into `work`; returns the spec's `inputs`. */
  writeInputs(work: string, train: readonly number[], validation: readonly number[]): Promise<object[]>;
  /** The ONNX inputs for these rows. */
  tensors(rows: readonly number[]): Tensor[];
  /** ONNX metadata to add (e.g. the encoded-image input). */
  metadata: Record<string, string>;
  /** The inputs in words, for the model card. */
  modelInputs: { name: string; description: string }[];
  /** Shapes recorded in the version's lineage. */
  parameters: Record<string, unknown>;
}

export interface PrepareOptions {
  imageSize?: number | undefined;
  channels?: 1 | 3 | undefined;
  maxLength?: number | undefined;
}

/** Writes `array` as `work`/`file` (.npy) for the trainer. */
export const writeNpy = (work: string, file: string, array: NpyArray): Promise<void> =>
  writeFile(join(work, file), encodeNpy(array));

/** Writes class indices as the trainer's int64 labels. */
export const writeLabels = (work: string, file: string, classes: ArrayLike<number>): Promise<void> =>
  writeNpy(work, file, {
    dtype: 'int64',
    shape: [classes.length],
    data: BigInt64Array.from({ length: classes.length }, (_, i) => BigInt(classes[i]!)),
  });

/** Mean and population standard deviation (floored, so constant inputs divide safely). */
function moments(sum: number, squares: number, count: number): { mean: number; std: number } {
  const mean = count === 0 ? 0 : sum / count;
  const variance = count === 0 ? 1 : squares / count - mean * mean;
  return { mean, std: Math.sqrt(Math.max(variance, 1e-12)) };
}

export async function prepareImages(
  datasets: DatasetRegistry,
  dataset: DatasetVersion & { schema: ImageDatasetSchema },
  options: PrepareOptions,
): Promise<PreparedData> {
  const { schema } = dataset;
  const shape: PixelShape = {
    channels: options.channels ?? schema.channels,
    height: options.imageSize ?? schema.shape?.[1] ?? 224,
    width: options.imageSize ?? schema.shape?.[2] ?? 224,
  };
  const images: LoadedImages = await datasets.loadImages(dataset, shape);
  const size = shape.channels * shape.height * shape.width;
  const pixelShape = [shape.channels, shape.height, shape.width];
  const gather = (rows: readonly number[]): Uint8Array => {
    const out = new Uint8Array(rows.length * size);
    rows.forEach((r, i) => out.set(images.pixels.subarray(r * size, (r + 1) * size), i * size));
    return out;
  };
  return {
    kind: 'images',
    labels: images.labels,
    splits: images.splits,
    async writeInputs(work, train, validation) {
      const trainPixels = gather(train);
      const plane = shape.height * shape.width;
      const mean: number[] = [];
      const std: number[] = [];
      for (let c = 0; c < shape.channels; c++) {
        let sum = 0;
        let sq = 0;
        for (let i = 0; i < train.length; i++) {
          const base = (i * shape.channels + c) * plane;
          for (let p = 0; p < plane; p++) {
            const v = trainPixels[base + p]! / 255;
            sum += v;
            sq += v * v;
          }
        }
        const m = moments(sum, sq, train.length * plane);
        mean.push(m.mean);
        std.push(m.std);
      }
      await writeNpy(work, 'train_pixels.npy', {
        dtype: 'uint8',
        shape: [train.length, ...pixelShape],
        data: trainPixels,
      });
      await writeNpy(work, 'validation_pixels.npy', {
        dtype: 'uint8',
        shape: [validation.length, ...pixelShape],
        data: gather(validation),
      });
      return [
        {
          name: 'pixels',
          kind: 'image',
          shape: pixelShape,
          mean,
          std,
          train: 'train_pixels.npy',
          validation: 'validation_pixels.npy',
        },
      ];
    },
    tensors(rows) {
      const pixels = gather(rows);
      const data = new Float32Array(pixels.length);
      pixelsToUnit(pixels, data, 0);
      return [{ name: 'pixels', datatype: 'FP32', shape: [rows.length, ...pixelShape], data }];
    },
    metadata: {
      [IMAGE_INPUTS_METADATA_KEY]: JSON.stringify([{ name: 'image', into: 'pixels', ...shape }]),
    },
    modelInputs: [
      {
        name: 'image',
        description: `BYTES [-1]: PNG or JPEG files; Galen decodes each, converts it to ${shape.channels === 1 ? 'grey' : 'RGB'} and resizes it to ${shape.height}×${shape.width}`,
      },
      {
        name: 'pixels',
        description: `FP32 [-1, ${pixelShape.join(', ')}]: pixel values / 255 (0–1), channel first; the model normalises them itself`,
      },
    ],
    parameters: { imageShape: pixelShape },
  };
}

export async function prepareSequences(
  datasets: DatasetRegistry,
  dataset: DatasetVersion & { schema: SequenceDatasetSchema },
  options: PrepareOptions,
): Promise<PreparedData> {
  const { schema } = dataset;
  const records: SequenceRecord[] = await datasets.loadSequences(dataset);
  const maxLength = Math.min(options.maxLength ?? schema.maxLength, schema.maxLength);
  const f = schema.stepFeatures;
  const s = schema.staticFeatures;
  const lengthOf = (r: SequenceRecord): number => Math.min(r.length, maxLength);
  /** Steps of `rows`, padded to the longest among them, and their lengths. */
  const pack = (rows: readonly number[], width: number): { steps: Float32Array; lengths: BigInt64Array } => {
    const steps = new Float32Array(rows.length * width * f);
    const lengths = new BigInt64Array(rows.length);
    rows.forEach((r, i) => {
      const record = records[r]!;
      const n = lengthOf(record);
      // Longer than the limit: keep the most recent steps.
      steps.set(record.steps.subarray((record.length - n) * f, record.length * f), i * width * f);
      lengths[i] = BigInt(n);
    });
    return { steps, lengths };
  };
  const statics = (rows: readonly number[]): Float32Array => {
    const out = new Float32Array(rows.length * s);
    rows.forEach((r, i) => out.set(records[r]!.features!, i * s));
    return out;
  };
  const widest = (rows: readonly number[]): number =>
    rows.reduce((m, r) => Math.max(m, lengthOf(records[r]!)), 1);
  return {
    kind: 'sequences',
    labels: records.map((r) => r.label),
    splits: records.map((r) => r.split),
    async writeInputs(work, train, validation) {
      const sums = new Float64Array(f);
      const squares = new Float64Array(f);
      let steps = 0;
      for (const r of train) {
        const record = records[r]!;
        const n = lengthOf(record);
        for (let t = record.length - n; t < record.length; t++) {
          for (let j = 0; j < f; j++) {
            const v = record.steps[t * f + j]!;
            sums[j]! += v;
            squares[j]! += v * v;
          }
        }
        steps += n;
      }
      const stepMoments = Array.from(sums, (sum, j) => moments(sum, squares[j]!, steps));
      const inputs: object[] = [];
      for (const [split, rows] of [
        ['train', train],
        ['validation', validation],
      ] as const) {
        const packed = pack(rows, maxLength);
        await writeNpy(work, `${split}_sequence.npy`, {
          dtype: 'float32',
          shape: [rows.length, maxLength, f],
          data: packed.steps,
        });
        await writeNpy(work, `${split}_lengths.npy`, {
          dtype: 'int64',
          shape: [rows.length],
          data: packed.lengths,
        });
        if (s > 0)
          await writeNpy(work, `${split}_features.npy`, {
            dtype: 'float32',
            shape: [rows.length, s],
            data: statics(rows),
          });
      }
      inputs.push({
        name: 'sequence',
        kind: 'sequence',
        features: f,
        maxLength,
        mean: stepMoments.map((m) => m.mean),
        std: stepMoments.map((m) => m.std),
        train: 'train_sequence.npy',
        validation: 'validation_sequence.npy',
        trainLengths: 'train_lengths.npy',
        validationLengths: 'validation_lengths.npy',
      });
      if (s > 0) {
        const staticMoments = Array.from({ length: s }, (_, j) => {
          let sum = 0;
          let sq = 0;
          for (const r of train) {
            const v = records[r]!.features![j]!;
            sum += v;
            sq += v * v;
          }
          return moments(sum, sq, train.length);
        });
        inputs.push({
          name: 'features',
          kind: 'vector',
          features: s,
          mean: staticMoments.map((m) => m.mean),
          std: staticMoments.map((m) => m.std),
          train: 'train_features.npy',
          validation: 'validation_features.npy',
        });
      }
      return inputs;
    },
    tensors(rows) {
      const width = widest(rows);
      const packed = pack(rows, width);
      const out: Tensor[] = [
        { name: 'sequence', datatype: 'FP32', shape: [rows.length, width, f], data: packed.steps },
        { name: 'sequence_lengths', datatype: 'INT64', shape: [rows.length], data: packed.lengths },
      ];
      if (s > 0)
        out.push({ name: 'features', datatype: 'FP32', shape: [rows.length, s], data: statics(rows) });
      return out;
    },
    metadata: {},
    modelInputs: [
      {
        name: 'sequence',
        description: `FP32 [-1, -1, ${f}]: ${f} raw value(s) per step, each sequence padded after its end (up to ${maxLength} steps are used; longer ones keep their last ${maxLength})`,
      },
      { name: 'sequence_lengths', description: 'INT64 [-1]: the number of real steps in each sequence' },
      ...(s > 0
        ? [{ name: 'features', description: `FP32 [-1, ${s}]: static values per sequence (raw)` }]
        : []),
    ],
    parameters: { stepFeatures: f, staticFeatures: s, maxLength },
  };
}

/** Refuses an architecture on data of the other kind, saying what fits. */
export function wrongData(
  architecture: string,
  dataset: DatasetVersion,
  wants: 'images' | 'sequences',
): GalenError {
  const hint =
    wants === 'images'
      ? 'upload an .npz or a folder of images'
      : 'upload sequences as JSON lines ({"label", "steps"}), e.g. with `galen datasets from-wfdb`';
  return new GalenError(
    'invalid_input',
    `${architecture} trains on ${wants}, and ${dataset.name}:${dataset.version} is ${dataset.format === 'csv' || dataset.format === 'jsonl' ? 'a table' : dataset.format} (${dataset.format}); ${hint}`,
  );
}
