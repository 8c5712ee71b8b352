/**
 * Occlusion saliency for image models: a square patch slides over the image (stride half the
 * patch), is filled with the image's mean value per channel, and each pixel's saliency is the
 * mean drop of the explained probability over the windows that covered it. Positive: the region
 * supports the class; negative: it speaks against it. Every occluded image runs through the
 * served graph, so what is explained is what is served.
 */

export interface OcclusionSettings {
  /** Side of the square patch, in model pixels. */
  patch: number;
  stride: number;
}

export interface OcclusionMap {
  height: number;
  width: number;
  /** Row-major H × W saliency (probability drop). */
  values: Float64Array;
  /** The explained probability of the image itself. */
  output: number;
  settings: OcclusionSettings & { windows: number; fill: 'image mean per channel' };
}

/** The default patch: about a seventh of the shorter side, at least 2 pixels. */
export function defaultPatch(height: number, width: number): number {
  return Math.max(2, Math.round(Math.min(height, width) / 7));
}

/** Window origins along one side: every `stride`, with the last window flush with the edge. */
function origins(size: number, patch: number, stride: number): number[] {
  const out: number[] = [];
  for (let at = 0; at + patch < size; at += stride) out.push(at);
  out.push(Math.max(0, size - patch));
  return [...new Set(out)];
}

/**
 * The saliency map of one image (`pixels`, C × H × W), with `score` giving the explained
 * probability of each image in a batch (N × C × H × W).
 */
export async function occlusionSaliency(
  pixels: Float32Array,
  shape: { channels: number; height: number; width: number },
  score: (batch: Float32Array, n: number) => Promise<number[]>,
  settings: OcclusionSettings,
): Promise<OcclusionMap> {
  const { channels: C, height: H, width: W } = shape;
  const plane = H * W;
  const mean = Array.from({ length: C }, (_, c) => {
    let s = 0;
    for (let i = 0; i < plane; i++) s += pixels[c * plane + i]!;
    return s / plane;
  });
  const windows: [number, number][] = [];
  for (const y of origins(H, settings.patch, settings.stride))
    for (const x of origins(W, settings.patch, settings.stride)) windows.push([y, x]);
  const size = C * plane;
  const batch = new Float32Array((windows.length + 1) * size);
  batch.set(pixels, 0);
  windows.forEach(([y0, x0], n) => {
    const at = (n + 1) * size;
    batch.set(pixels, at);
    for (let c = 0; c < C; c++)
      for (let y = y0; y < Math.min(H, y0 + settings.patch); y++)
        for (let x = x0; x < Math.min(W, x0 + settings.patch); x++)
          batch[at + c * plane + y * W + x] = mean[c]!;
  });
  const scores = await score(batch, windows.length + 1);
  const output = scores[0]!;
  const sum = new Float64Array(plane);
  const count = new Float64Array(plane);
  windows.forEach(([y0, x0], n) => {
    const drop = output - scores[n + 1]!;
    for (let y = y0; y < Math.min(H, y0 + settings.patch); y++)
      for (let x = x0; x < Math.min(W, x0 + settings.patch); x++) {
        sum[y * W + x]! += drop;
        count[y * W + x]! += 1;
      }
  });
  return {
    height: H,
    width: W,
    values: sum.map((s, i) => (count[i]! > 0 ? s / count[i]! : 0)),
    output,
    settings: { ...settings, windows: windows.length, fill: 'image mean per channel' },
  };
}
