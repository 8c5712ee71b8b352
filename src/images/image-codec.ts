/**
 * Images into the pixels a model takes: PNG or JPEG bytes (or raw pixels at another size) decoded,
 * oriented by their EXIF tag, converted to grey or sRGB, resized to the model's height × width
 * and laid out channel-first (C × H × W, uint8). The one owner of `sharp` (libvips): training data
 * and served requests go through the same code, so a model sees the same pixels in both.
 */
import sharp from 'sharp';
import { GalenError } from '../core/index.js';

/** What a model takes: channels (1 grey, 3 RGB), height and width. */
export interface PixelShape {
  channels: 1 | 3;
  height: number;
  width: number;
}

/** Decoding refuses larger images (a 16k × 16k scan), so one request cannot exhaust memory. */
export const MAX_IMAGE_PIXELS = 16384 * 16384;
export const IMAGE_FORMATS = ['png', 'jpeg'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

/** PNG or JPEG by their signatures, else null. */
export function imageFormatOf(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47)
    return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

function notAnImage(what: string, bytes: Uint8Array): GalenError {
  const head = Buffer.from(bytes.subarray(0, 4)).toString('hex');
  return new GalenError(
    'invalid_input',
    `${what} is not a PNG or JPEG image (${bytes.length} bytes${bytes.length > 0 ? `, starting 0x${head}` : ''}); send the encoded file's bytes`,
  );
}

/** Interleaved (H × W × C) to planar (C × H × W). */
function toPlanar(data: Uint8Array, shape: PixelShape): Uint8Array {
  const { channels, height, width } = shape;
  if (channels === 1) return data;
  const plane = height * width;
  const out = new Uint8Array(channels * plane);
  for (let p = 0; p < plane; p++)
    for (let c = 0; c < channels; c++) out[c * plane + p] = data[p * channels + c]!;
  return out;
}

function toInterleaved(data: Uint8Array, channels: number, plane: number): Uint8Array {
  if (channels === 1) return data;
  const out = new Uint8Array(channels * plane);
  for (let p = 0; p < plane; p++)
    for (let c = 0; c < channels; c++) out[p * channels + c] = data[c * plane + p]!;
  return out;
}

async function finish(pipeline: sharp.Sharp, shape: PixelShape, what: string): Promise<Uint8Array> {
  const colour = shape.channels === 1 ? pipeline.toColourspace('b-w') : pipeline.toColourspace('srgb');
  const { data, info } = await colour
    .resize(shape.width, shape.height, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== shape.channels || info.width !== shape.width || info.height !== shape.height) {
    throw new GalenError(
      'internal',
      `${what} decoded to ${info.channels}×${info.height}×${info.width}, not ${shape.channels}×${shape.height}×${shape.width}`,
    );
  }
  return toPlanar(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), shape);
}

/**
 * Decodes a PNG or JPEG into C × H × W uint8 pixels of `shape`. `what` names the image in errors
 * (e.g. `input "image" element 2`).
 */
export async function decodeImage(bytes: Uint8Array, shape: PixelShape, what: string): Promise<Uint8Array> {
  if (!imageFormatOf(bytes)) throw notAnImage(what, bytes);
  try {
    const pipeline = sharp(bytes, { failOn: 'error', limitInputPixels: MAX_IMAGE_PIXELS })
      .rotate()
      .removeAlpha();
    return await finish(pipeline, shape, what);
  } catch (err) {
    if (err instanceof GalenError) throw err;
    throw new GalenError('invalid_input', `${what} could not be decoded: ${(err as Error).message}`);
  }
}

/** The size and channel count an encoded image declares, read from its header. */
export async function probeImage(
  bytes: Uint8Array,
  what: string,
): Promise<{ format: ImageFormat; width: number; height: number; channels: number }> {
  const format = imageFormatOf(bytes);
  if (!format) throw notAnImage(what, bytes);
  try {
    const meta = await sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS }).metadata();
    if (!meta.width || !meta.height) throw new Error('no size in its header');
    const grey = meta.space === 'b-w' || meta.channels === 1 || meta.channels === 2;
    return { format, width: meta.width, height: meta.height, channels: grey ? 1 : 3 };
  } catch (err) {
    throw new GalenError('invalid_input', `${what} could not be read: ${(err as Error).message}`);
  }
}

/** Raw C × H × W pixels resized to `to` (the same resampling as decoding uses). */
export async function resizePixels(
  pixels: Uint8Array,
  from: PixelShape,
  to: PixelShape,
  what: string,
): Promise<Uint8Array> {
  if (from.channels === to.channels && from.height === to.height && from.width === to.width) return pixels;
  const plane = from.height * from.width;
  const pipeline = sharp(Buffer.from(toInterleaved(pixels, from.channels, plane)), {
    raw: { width: from.width, height: from.height, channels: from.channels },
  });
  return finish(pipeline, to, what);
}

/** Pixels as the graph takes them: float32 in [0, 1] (pixel / 255), into `out` at `offset`. */
export function pixelsToUnit(pixels: Uint8Array, out: Float32Array, offset: number): void {
  for (let i = 0; i < pixels.length; i++) out[offset + i] = pixels[i]! / 255;
}

/**
 * A saliency map drawn over its image as a PNG: the image in grey, red where `values` is
 * positive (evidence for the class), blue where negative, opacity growing with |value| up to 60%.
 * Scaled up (nearest neighbour) so the shorter side is at least `minSide` pixels.
 * `pixels` is C × H × W in 0–1; `values` is H × W.
 */
export async function saliencyOverlayPng(
  pixels: Float32Array,
  shape: PixelShape,
  values: ArrayLike<number>,
  minSide = 224,
): Promise<Buffer> {
  const { channels, height, width } = shape;
  const plane = height * width;
  let max = 0;
  for (let i = 0; i < plane; i++) max = Math.max(max, Math.abs(values[i]!));
  const rgb = Buffer.alloc(plane * 3);
  for (let i = 0; i < plane; i++) {
    const grey =
      channels === 1
        ? pixels[i]!
        : 0.299 * pixels[i]! + 0.587 * pixels[plane + i]! + 0.114 * pixels[2 * plane + i]!;
    const base = Math.min(255, Math.max(0, grey * 255));
    const v = values[i]!;
    const alpha = max > 0 ? (0.6 * Math.abs(v)) / max : 0;
    const tint = v > 0 ? [255, 0, 0] : [0, 0, 255];
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.round((1 - alpha) * base + alpha * tint[c]!);
  }
  const scale = Math.max(1, Math.ceil(minSide / Math.min(height, width)));
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .resize(width * scale, height * scale, { kernel: 'nearest' })
    .png()
    .toBuffer();
}
