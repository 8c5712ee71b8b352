/**
 * Zip archives (image folders, NumPy `.npz`) read within limits. A zip's headers say how large
 * each file is, but nothing makes them true: 255 KiB of deflate can inflate to 256 MiB. So the
 * central directory is read for names and offsets only, and every file is inflated off the main
 * thread (zlib on libuv's thread pool) with the output capped while it is produced: by the file
 * limit, by what is left of the archive's total, and by the archive's compression ratio. A file
 * that inflates to other than its header's size or checksum is refused as damaged.
 */
import { promisify } from 'node:util';
import { crc32, inflateRaw } from 'node:zlib';
import type { ZlibOptions } from 'node:zlib';
import { GalenError } from '../core/index.js';

const inflateRawAsync = promisify<Uint8Array, ZlibOptions, Buffer>(inflateRaw);

/** Limits on what one image dataset archive may hold and decompress to. */
export interface ArchiveLimits {
  /** Most entries (files and folders) in the archive. */
  readonly maxEntries: number;
  /** Largest file once decompressed, in bytes. */
  readonly maxEntryBytes: number;
  /** Most bytes all files together decompress to. */
  readonly maxTotalBytes: number;
  /** Most decompressed bytes per byte of the archive, beyond `RATIO_GRACE_BYTES`. */
  readonly maxRatio: number;
  /** Most images in the dataset (checked by the readers, from counts, before they loop). */
  readonly maxImages: number;
}

/** The defaults of `imageArchives.*` in the server's settings. */
export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxEntries: 100_000,
  maxEntryBytes: 512 * 1024 * 1024,
  maxTotalBytes: 1024 * 1024 * 1024,
  maxRatio: 100,
  maxImages: 1_000_000,
};

/** What any archive may decompress to whatever its ratio: small archives of very compressible arrays. */
export const RATIO_GRACE_BYTES = 16 * 1024 * 1024;

/** One file of the archive, as its central directory describes it. */
export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly encrypted: boolean;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX16 = 0xffff;
const MAX32 = 0xffffffff;

function damaged(what: string, why: string): GalenError {
  return new GalenError('invalid_input', `${what} is not a readable zip archive: ${why}`);
}

/** The central directory's position and entry count, from the end records (zip64 included). */
function endRecord(view: DataView, what: string): { count: number; offset: number } {
  const last = view.byteLength - 22;
  let at = -1;
  for (let i = last; i >= Math.max(0, last - MAX16); i--) {
    if (view.getUint32(i, true) === EOCD) {
      at = i;
      break;
    }
  }
  if (at < 0) throw damaged(what, 'no end of central directory record');
  let count = view.getUint16(at + 10, true);
  let offset = view.getUint32(at + 16, true);
  if (count === MAX16 || offset === MAX32) {
    const locator = at - 20;
    if (locator < 0 || view.getUint32(locator, true) !== ZIP64_LOCATOR)
      throw damaged(what, 'no zip64 end record locator');
    const record = Number(view.getBigUint64(locator + 8, true));
    if (record + 56 > view.byteLength || view.getUint32(record, true) !== ZIP64_EOCD)
      throw damaged(what, 'no zip64 end of central directory record');
    count = Number(view.getBigUint64(record + 32, true));
    offset = Number(view.getBigUint64(record + 48, true));
  }
  return { count, offset };
}

/**
 * The entries of a zip archive, from its central directory; nothing is decompressed. More than
 * `maxEntries` entries are refused before they are listed.
 */
export function listZipEntries(bytes: Uint8Array, what: string, maxEntries = Infinity): ZipEntry[] {
  if (bytes.byteLength < 22) throw damaged(what, 'it is too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { count, offset } = endRecord(view, what);
  if (count > maxEntries) {
    throw new GalenError(
      'invalid_input',
      `${what} holds ${count} files; an image dataset archive may hold at most ${maxEntries}`,
    );
  }
  const entries: ZipEntry[] = [];
  let at = offset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > view.byteLength || view.getUint32(at, true) !== CENTRAL)
      throw damaged(what, `central directory entry ${i} is missing`);
    const flags = view.getUint16(at + 8, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const next = at + 46 + nameLength + extraLength + commentLength;
    if (next > view.byteLength) throw damaged(what, `central directory entry ${i} is cut short`);
    let size = view.getUint32(at + 24, true);
    let compressedSize = view.getUint32(at + 20, true);
    let localOffset = view.getUint32(at + 42, true);
    // Zip64: the fields set to 0xFFFFFFFF are in the extra field 0x0001, in this order.
    for (let x = at + 46 + nameLength; x + 4 <= at + 46 + nameLength + extraLength;) {
      const id = view.getUint16(x, true);
      const length = view.getUint16(x + 2, true);
      if (id === 0x0001) {
        let field = x + 4;
        const read = (): number => {
          if (field + 8 > x + 4 + length) throw damaged(what, `entry ${i} has a short zip64 field`);
          const value = Number(view.getBigUint64(field, true));
          field += 8;
          return value;
        };
        if (size === MAX32) size = read();
        if (compressedSize === MAX32) compressedSize = read();
        if (localOffset === MAX32) localOffset = read();
      }
      x += 4 + length;
    }
    const nameBytes = Buffer.from(bytes.buffer, bytes.byteOffset + at + 46, nameLength);
    entries.push({
      // Bit 11 marks UTF-8 names; others are read as Latin-1, as zip tools (and fflate) do.
      name: nameBytes.toString(flags & 0x800 ? 'utf8' : 'latin1'),
      method: view.getUint16(at + 10, true),
      encrypted: (flags & 1) !== 0,
      crc: view.getUint32(at + 16, true),
      compressedSize,
      size,
      localOffset,
    });
    at = next;
  }
  return entries;
}

/** Where an entry's compressed bytes are, from its local header. */
function entryData(
  bytes: Uint8Array,
  view: DataView,
  entry: ZipEntry,
  what: string,
  index: number,
): Uint8Array {
  const at = entry.localOffset;
  if (at + 30 > view.byteLength || view.getUint32(at, true) !== LOCAL)
    throw damaged(what, `the local header of entry ${index} is missing`);
  const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
  if (start + entry.compressedSize > view.byteLength)
    throw damaged(what, `entry ${index} runs past the end of the archive`);
  return bytes.subarray(start, start + entry.compressedSize);
}

/**
 * The files of `bytes` that `want` names (folders skipped), decompressed off the main thread
 * within `limits` (except `maxImages`, which the readers apply). Every refusal says which limit.
 */
export async function readZip(
  bytes: Uint8Array,
  what: string,
  limits: ArchiveLimits,
  want: (name: string) => boolean = () => true,
): Promise<Map<string, Uint8Array>> {
  const entries = listZipEntries(bytes, what, limits.maxEntries);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ratioBytes = Math.max(RATIO_GRACE_BYTES, limits.maxRatio * bytes.byteLength);
  const files = new Map<string, Uint8Array>();
  let total = 0;
  for (const [index, entry] of entries.entries()) {
    if (entry.name.endsWith('/') || !want(entry.name)) continue;
    if (entry.encrypted) throw damaged(what, `entry ${index} is encrypted`);
    if (entry.method !== 0 && entry.method !== 8)
      throw damaged(
        what,
        `entry ${index} uses compression method ${entry.method}; only stored (0) and deflate (8) are read`,
      );
    // The most this entry may inflate to, and which limit says so; the header's size is not trusted.
    const caps: [number, string][] = [
      [
        limits.maxEntryBytes,
        `a file of ${what} (entry ${index}) decompresses to more than ${limits.maxEntryBytes} bytes, the most one file of an image dataset may take`,
      ],
      [
        limits.maxTotalBytes - total,
        `${what} decompresses to more than ${limits.maxTotalBytes} bytes, the most an image dataset may take`,
      ],
      [
        ratioBytes - total,
        `${what} decompresses to more than ${ratioBytes} bytes, over ${limits.maxRatio} times its own size of ${bytes.byteLength} bytes; an archive that compresses this well is refused as a possible zip bomb`,
      ],
    ];
    const [cap, refusal] = caps.reduce((a, b) => (b[0] < a[0] ? b : a));
    const refuse = (): GalenError => new GalenError('invalid_input', refusal);
    if (entry.size > cap) throw refuse(); // its header alone already says too much
    const data = entryData(bytes, view, entry, what, index);
    let out: Uint8Array;
    if (entry.method === 0) {
      if (data.byteLength > cap) throw refuse();
      out = data;
    } else {
      try {
        out = await inflateRawAsync(data, { maxOutputLength: Math.max(1, cap) });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw refuse();
        throw damaged(what, `entry ${index} does not inflate (${(err as Error).message})`);
      }
      if (out.byteLength > cap) throw refuse();
    }
    if (out.byteLength !== entry.size)
      throw damaged(what, `entry ${index} holds ${out.byteLength} bytes, its header says ${entry.size}`);
    if (crc32(out) !== entry.crc) throw damaged(what, `entry ${index} fails its checksum`);
    total += out.byteLength;
    files.set(entry.name, out);
  }
  return files;
}
