/**
 * Image datasets, stored as one archive like every dataset version:
 * - `npz`: a NumPy archive of uint8 images [N,H,W] or [N,H,W,C] with integer labels [N] or [N,1],
 *   as MedMNIST ships them — `images`/`labels`, or per split `train_images`/`train_labels`,
 *   `val_…`, `test_…`;
 * - `images`: a zip of PNG/JPEG files with a `labels.csv` (`file,label[,split]`), or without one,
 *   a folder per class (the folder name is the label).
 * Described (counts, sizes, labels, splits) when uploaded, every image checked; loaded at the
 * model's pixel shape for training. Archives are decompressed off the main thread within limits
 * (`zip-archive.ts`), and image counts and sizes are checked before anything loops over them.
 */
import { zipSync } from 'fflate';
import { GalenError } from '../core/index.js';
import { decodeNpy, npyNumbers, parseCsv } from '../datasets/index.js';
import type { NpyArray } from '../datasets/index.js';
import { decodeImage, probeImage, resizePixels } from './image-codec.js';
import type { PixelShape } from './image-codec.js';
import { DEFAULT_ARCHIVE_LIMITS, listZipEntries, readZip } from './zip-archive.js';
import type { ArchiveLimits } from './zip-archive.js';

export type ImageArchiveFormat = 'npz' | 'images';

/** What an image dataset holds; stored as the version's schema. */
export interface ImageDatasetSchema {
  kind: 'images';
  rows: number;
  /** The images' channels × height × width when all share it; null when sizes vary. */
  shape: [number, number, number] | null;
  /** 1 when every image is grey, else 3. */
  channels: 1 | 3;
  /** Images per label. */
  labels: Record<string, number>;
  /** Images per split the data names (`train`, `val`, `test`…), or null. */
  splits: Record<string, number> | null;
  target: 'label';
}

/** Images at one pixel shape with their labels and splits, ready for training. */
export interface LoadedImages {
  shape: PixelShape;
  /** N × C × H × W. */
  pixels: Uint8Array;
  labels: string[];
  splits: (string | null)[];
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
export const isZip = (bytes: Uint8Array): boolean => ZIP_MAGIC.every((b, i) => bytes[i] === b);

/** `npz` when the archive holds `.npy` arrays, else `images`. */
export function detectImageArchive(bytes: Uint8Array): ImageArchiveFormat {
  // Entry names only, from the central directory: nothing is decompressed here.
  const names = listZipEntries(bytes, 'the dataset').map((e) => e.name);
  return names.some((n) => n.endsWith('.npy')) ? 'npz' : 'images';
}

function tooManyImages(count: number, limits: ArchiveLimits): GalenError {
  return new GalenError(
    'invalid_input',
    `the archive holds ${count} images; an image dataset may hold at most ${limits.maxImages}`,
  );
}

interface RawSet {
  shape: PixelShape;
  /** Per image: N × C × H × W pixels (npz) or encoded bytes (folder). */
  images: { pixels?: Uint8Array; encoded?: Uint8Array; name: string }[];
  labels: string[];
  splits: (string | null)[];
}

function npzImages(array: NpyArray, key: string): { shape: PixelShape; count: number } {
  if (array.dtype !== 'uint8') {
    throw new GalenError('invalid_input', `"${key}" holds ${array.dtype}; images must be uint8 (0–255)`);
  }
  const [n, h, w, c = 1] = array.shape;
  if ((array.shape.length !== 3 && array.shape.length !== 4) || (c !== 1 && c !== 3)) {
    throw new GalenError(
      'invalid_input',
      `"${key}" has shape [${array.shape.join(', ')}]; images must be [N, H, W] (grey) or [N, H, W, C] with C 1 or 3`,
    );
  }
  if (h === 0 || w === 0) {
    throw new GalenError(
      'invalid_input',
      `"${key}" has shape [${array.shape.join(', ')}]; images must be at least 1×1 pixels`,
    );
  }
  return { shape: { channels: c, height: h!, width: w! }, count: n! };
}

async function readNpz(bytes: Uint8Array, limits: ArchiveLimits): Promise<RawSet> {
  const entries = await readZip(bytes, 'the dataset', limits, (name) => name.endsWith('.npy'));
  const arrays = new Map<string, NpyArray>();
  for (const [name, data] of entries) arrays.set(name.slice(0, -4), decodeNpy(data, `"${name}"`));
  const prefixes = [...arrays.keys()]
    .filter((k) => k === 'images' || k.endsWith('_images'))
    .map((k) => (k === 'images' ? '' : k.slice(0, -'images'.length)));
  if (prefixes.length === 0) {
    throw new GalenError(
      'invalid_input',
      `the archive has no images array; it holds ${[...arrays.keys()].join(', ') || 'nothing'}. Name them images/labels, or <split>_images/<split>_labels (train, val, test)`,
    );
  }
  const set: RawSet = { shape: { channels: 1, height: 0, width: 0 }, images: [], labels: [], splits: [] };
  for (const prefix of prefixes) {
    const imagesKey = `${prefix}images`;
    const labelsKey = `${prefix}labels`;
    const images = arrays.get(imagesKey)!;
    const labels = arrays.get(labelsKey);
    if (!labels)
      throw new GalenError('invalid_input', `the archive has "${imagesKey}" but no "${labelsKey}"`);
    const { shape, count } = npzImages(images, imagesKey);
    // Before the loop below runs once per image: the count comes from the array's header.
    if (set.images.length + count > limits.maxImages) throw tooManyImages(set.images.length + count, limits);
    if (
      set.images.length > 0 &&
      (shape.height !== set.shape.height ||
        shape.width !== set.shape.width ||
        shape.channels !== set.shape.channels)
    ) {
      throw new GalenError(
        'invalid_input',
        `"${imagesKey}" images are ${shape.height}×${shape.width}×${shape.channels}, the others ${set.shape.height}×${set.shape.width}×${set.shape.channels}`,
      );
    }
    set.shape = shape;
    if (
      labels.data.length !== count ||
      (labels.shape.length === 2 && labels.shape[1] !== 1) ||
      labels.dtype.startsWith('float')
    ) {
      throw new GalenError(
        'invalid_input',
        `"${labelsKey}" has shape [${labels.shape.join(', ')}] (${labels.dtype}); it must hold one integer label per image: [${count}] or [${count}, 1]`,
      );
    }
    const values = npyNumbers(labels);
    const size = shape.channels * shape.height * shape.width;
    const hwc = images.data as Uint8Array;
    for (let i = 0; i < count; i++) {
      const slice = hwc.subarray(i * size, (i + 1) * size);
      // npz stores H × W × C; keep C × H × W like every other path.
      let pixels = slice;
      if (shape.channels === 3) {
        const plane = shape.height * shape.width;
        pixels = new Uint8Array(size);
        for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) pixels[c * plane + p] = slice[p * 3 + c]!;
      }
      set.images.push({ pixels, name: `${imagesKey}[${i}]` });
      set.labels.push(String(values[i]));
      set.splits.push(prefix === '' ? null : prefix.slice(0, -1));
    }
  }
  return set;
}

const IMAGE_FILE = /\.(png|jpe?g)$/i;

async function readFolder(bytes: Uint8Array, limits: ArchiveLimits): Promise<RawSet> {
  const files = await readZip(bytes, 'the dataset', limits);
  const labelsName = [...files.keys()].find((n) => n === 'labels.csv' || /^[^/]+\/labels\.csv$/.test(n));
  const set: RawSet = { shape: { channels: 1, height: 0, width: 0 }, images: [], labels: [], splits: [] };
  if (labelsName) {
    const base = labelsName.slice(0, -'labels.csv'.length);
    const table = parseCsv(Buffer.from(files.get(labelsName)!));
    if (table.rows.length > limits.maxImages) throw tooManyImages(table.rows.length, limits);
    const column = (name: string): number => table.columns.findIndex((c) => c.trim().toLowerCase() === name);
    const [file, label, split] = [column('file'), column('label'), column('split')];
    if (file < 0 || label < 0) {
      throw new GalenError(
        'invalid_input',
        `labels.csv has columns ${table.columns.join(', ')}; it needs "file" and "label" (and optionally "split")`,
      );
    }
    table.rows.forEach((row, i) => {
      const name = row[file];
      const value = row[label];
      if (!name || value === null || value === undefined) {
        throw new GalenError('invalid_input', `labels.csv line ${i + 2} has no file or no label`);
      }
      const data = files.get(base + name);
      if (!data)
        throw new GalenError(
          'invalid_input',
          `labels.csv line ${i + 2} names "${name}", which is not in the archive`,
        );
      set.images.push({ encoded: data, name });
      set.labels.push(value);
      set.splits.push(split >= 0 ? (row[split] ?? null) : null);
    });
  } else {
    // Every image is a file of the archive, so maxEntries bounds them; maxImages is checked too.
    const count = [...files.keys()].filter((name) => IMAGE_FILE.test(name)).length;
    if (count > limits.maxImages) throw tooManyImages(count, limits);
    for (const [name, data] of files) {
      if (!IMAGE_FILE.test(name)) continue;
      const parts = name.split('/');
      if (parts.length < 2) {
        throw new GalenError(
          'invalid_input',
          `"${name}" has no label: add a labels.csv (file,label[,split]) or put each class's images in a folder named after it`,
        );
      }
      set.images.push({ encoded: data, name });
      set.labels.push(parts.at(-2)!);
      set.splits.push(null);
    }
  }
  if (set.images.length === 0) {
    throw new GalenError(
      'invalid_input',
      'the archive holds no PNG or JPEG images (with labels.csv or a folder per class)',
    );
  }
  return set;
}

function readArchive(bytes: Uint8Array, format: ImageArchiveFormat, limits: ArchiveLimits): Promise<RawSet> {
  return format === 'npz' ? readNpz(bytes, limits) : readFolder(bytes, limits);
}

const tally = (values: readonly string[]): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
};

/**
 * Reads and checks every image of an archive; the schema stored with the version. The archive is
 * decompressed off the main thread within `limits` (see `readZip`).
 */
export async function describeImageArchive(
  bytes: Uint8Array,
  format: ImageArchiveFormat,
  limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
): Promise<ImageDatasetSchema> {
  const set = await readArchive(bytes, format, limits);
  let shape: [number, number, number] | null = [set.shape.channels, set.shape.height, set.shape.width];
  let channels: 1 | 3 = set.shape.channels;
  if (format === 'images') {
    channels = 1;
    let first: string | undefined;
    for (const image of set.images) {
      const info = await probeImage(image.encoded!, `"${image.name}"`);
      if (info.channels === 3) channels = 3;
      const size = `${info.height}x${info.width}`;
      first ??= size;
      if (size !== first) shape = null;
    }
    const [h, w] = first!.split('x').map(Number) as [number, number];
    if (shape) shape = [channels, h, w];
  }
  const labels = tally(set.labels);
  if (Object.keys(labels).length < 2) {
    throw new GalenError(
      'invalid_input',
      `every image has the label "${set.labels[0]}"; a classifier needs at least two`,
    );
  }
  const named = set.splits.filter((s): s is string => s !== null);
  return {
    kind: 'images',
    rows: set.images.length,
    shape,
    channels,
    labels,
    splits: named.length === 0 ? null : tally(named),
    target: 'label',
  };
}

/** Every image of an archive at `shape`, in the archive's order, read within `limits`. */
export async function loadImageArchive(
  bytes: Uint8Array,
  format: ImageArchiveFormat,
  shape: PixelShape,
  limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
): Promise<LoadedImages> {
  const set = await readArchive(bytes, format, limits);
  const size = shape.channels * shape.height * shape.width;
  const pixels = new Uint8Array(set.images.length * size);
  for (let i = 0; i < set.images.length; i++) {
    const image = set.images[i]!;
    const what = `"${image.name}"`;
    const decoded = image.pixels
      ? await resizePixels(image.pixels, set.shape, shape, what)
      : await decodeImage(image.encoded!, shape, what);
    pixels.set(decoded, i * size);
  }
  return { shape, pixels, labels: set.labels, splits: set.splits };
}

/** The time written for every entry of a packed folder (local time, as zip stores it). */
const PACKED_MTIME = new Date(1980, 0, 1);

/**
 * A folder's files as one `images` archive (paths relative to the folder, `/`-separated), stored
 * without compression: the images already are compressed. The bytes depend on the names and
 * contents only — entries sorted by name, one fixed time — so uploading the same folder again is
 * recognised as the same dataset version, whenever and on whatever file system it is packed.
 */
export function packImageFolder(files: Record<string, Uint8Array>): Uint8Array {
  const sorted = Object.keys(files).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return zipSync(Object.fromEntries(sorted.map((name) => [name, files[name]!])), {
    level: 0,
    mtime: PACKED_MTIME,
  });
}
