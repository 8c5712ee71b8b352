/**
 * Image dataset archives are read within limits, off the main thread: real zip bombs and crafted
 * archives built here are refused while they inflate (their headers are not trusted), and npz
 * arrays are checked for size before anything loops over their images.
 */
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { GalenError } from '../core/index.js';
import { decodeNpy, encodeNpy } from '../datasets/index.js';
import { describeImageArchive, detectImageArchive } from './image-dataset.js';
import { DEFAULT_ARCHIVE_LIMITS, readZip } from './zip-archive.js';
import type { ArchiveLimits } from './zip-archive.js';

const MiB = 1024 * 1024;

/** An npz of `n` grey h×w images (all `fill`) with labels alternating 0 and 1, deflated. */
function npz(n: number, h: number, w: number, fill = 0, level: 0 | 9 = 9): Uint8Array {
  const images = encodeNpy({ dtype: 'uint8', shape: [n, h, w], data: new Uint8Array(n * h * w).fill(fill) });
  const labels = encodeNpy({
    dtype: 'int64',
    shape: [n],
    data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 2)),
  });
  return zipSync({ 'images.npy': images, 'labels.npy': labels }, { level });
}

/** `bytes` with every header (local and central) of the first entry claiming `size` uncompressed bytes. */
function lyingAboutSize(bytes: Uint8Array, size: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  const view = new DataView(out.buffer);
  view.setUint32(22, size, true); // local header
  for (let at = out.length - 22; at >= 0; at--) {
    if (view.getUint32(at, true) === 0x06054b50) {
      const central = view.getUint32(at + 16, true);
      view.setUint32(central + 24, size, true);
      break;
    }
  }
  return out;
}

async function refusal(promise: Promise<unknown>): Promise<GalenError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GalenError);
  expect((err as GalenError).code).toBe('invalid_input');
  return err as GalenError;
}

const limits = (over: Partial<ArchiveLimits>): ArchiveLimits => ({ ...DEFAULT_ARCHIVE_LIMITS, ...over });

describe('image dataset archives within limits', () => {
  it('refuses a real zip bomb (under 100 KiB inflating to 32 MiB) while inflating it', async () => {
    const bomb = npz(2048, 128, 128); // 32 MiB of zero pixels
    expect(bomb.length).toBeLessThan(100 * 1024);
    const err = await refusal(describeImageArchive(bomb, detectImageArchive(bomb)));
    expect(err.message).toMatch(
      /^the dataset decompresses to more than 16777216 bytes, over 100 times its own size of \d+ bytes; an archive that compresses this well is refused as a possible zip bomb$/,
    );
  });

  it('does not trust the sizes a header claims', async () => {
    const bomb = lyingAboutSize(zipSync({ 'a.png': new Uint8Array(8 * MiB) }, { level: 9 }), 100);
    const err = await refusal(readZip(bomb, 'the dataset', limits({ maxEntryBytes: MiB })));
    expect(err.message).toBe(
      'a file of the dataset (entry 0) decompresses to more than 1048576 bytes, the most one file of an image dataset may take',
    );
    // Within the limits, the lie itself is found: the file is refused as damaged.
    const small = lyingAboutSize(zipSync({ 'a.png': new Uint8Array(1000) }, { level: 9 }), 100);
    const damaged = await refusal(readZip(small, 'the dataset', DEFAULT_ARCHIVE_LIMITS));
    expect(damaged.message).toBe(
      'the dataset is not a readable zip archive: entry 0 holds 1000 bytes, its header says 100',
    );
  });

  it('caps the total, the entry count and the images', async () => {
    const noise = (n: number): Uint8Array =>
      Uint8Array.from({ length: n }, (_, i) => (i * 2654435761) >>> 24);
    const two = zipSync({ 'a/1.png': noise(700_000), 'b/2.png': noise(700_000) }, { level: 9 });
    expect((await refusal(readZip(two, 'the dataset', limits({ maxTotalBytes: MiB })))).message).toBe(
      'the dataset decompresses to more than 1048576 bytes, the most an image dataset may take',
    );
    const five = zipSync(Object.fromEntries([1, 2, 3, 4, 5].map((i) => [`c/${i}.png`, noise(10)])));
    expect((await refusal(readZip(five, 'the dataset', limits({ maxEntries: 4 })))).message).toBe(
      'the dataset holds 5 files; an image dataset archive may hold at most 4',
    );
    const fifty = npz(50, 2, 2, 7);
    expect((await refusal(describeImageArchive(fifty, 'npz', limits({ maxImages: 10 })))).message).toBe(
      'the archive holds 50 images; an image dataset may hold at most 10',
    );
    const schema = await describeImageArchive(fifty, 'npz', limits({ maxImages: 50 }));
    expect(schema.rows).toBe(50);
  });

  it('refuses an npz of zero-size images before looping over them', async () => {
    // [N,0,0] images have no bytes at all, so only the labels (which compress to almost nothing)
    // grew with N, and the reader looped N times.
    const empty = npz(100_000, 0, 0);
    const err = await refusal(describeImageArchive(empty, 'npz'));
    expect(err.message).toBe('"images" has shape [100000, 0, 0]; images must be at least 1×1 pixels');
  });

  it('refuses an npy shape too large to count', () => {
    const header = `{'descr': '|u1', 'fortran_order': False, 'shape': (9007199254740991, 9007199254740991, 0), }`;
    const npy = Buffer.concat([
      Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]),
      Buffer.alloc(2),
      Buffer.from(header),
    ]);
    npy.writeUInt16LE(header.length, 8);
    expect(() => decodeNpy(npy)).toThrow('is too large');
  });

  it('inflates off the main thread: the event loop keeps turning while an archive is read', async () => {
    const archive = npz(512, 64, 64, 1); // 2 MiB of pixels, deflated
    let turns = 0;
    let running = true;
    const spin = (): void => {
      turns++;
      if (running) setImmediate(spin);
    };
    setImmediate(spin);
    const before = turns;
    const schema = await describeImageArchive(archive, 'npz');
    const during = turns - before;
    running = false;
    expect(schema.rows).toBe(512);
    expect(during).toBeGreaterThan(0);
  });
});
