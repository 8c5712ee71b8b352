/**
 * What every artifact store shares on the local side: staging an upload into a local file while
 * hashing it (sealed under a master key, mode 0600, fsynced, refused past `maxBytes`), opening a
 * stored object and checking it hashes to its name, and clearing staging leftovers.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { GalenError, randomToken, sha256Hex } from '../core/index.js';
import { ArtifactCipher } from './artifact-cipher.js';

/** A staged upload on local disk: the file (sealed under a master key) and the plaintext's digest. */
export interface StagedFile {
  readonly path: string;
  readonly sha256: string;
  /** Of the plaintext. */
  readonly sizeBytes: number;
}

export async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Streams `source` into a new file in `dir` (sealed by `cipher` when given), hashing the plaintext.
 * The path is in `live` from before the file exists until the caller settles it (a sweep never
 * removes a live file); on failure the file is removed and leaves `live`.
 */
export async function stageToFile(
  dir: string,
  source: AsyncIterable<Uint8Array> | Uint8Array,
  options: { maxBytes?: number; what?: string },
  cipher: ArtifactCipher | undefined,
  live: Set<string>,
): Promise<StagedFile> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${Date.now()}-${randomToken(9)}.part`);
  const hash = createHash('sha256');
  live.add(path);
  const handle = await open(path, 'wx', 0o600).catch((err: unknown) => {
    live.delete(path);
    throw err;
  });
  const sealing = cipher?.begin();
  let size = 0;
  try {
    if (sealing) await handle.write(sealing.head);
    const chunks = source instanceof Uint8Array ? [source] : source;
    for await (const chunk of chunks) {
      size += chunk.byteLength;
      if (options.maxBytes !== undefined && size > options.maxBytes) {
        throw new GalenError(
          'payload_too_large',
          `the ${options.what ?? 'file'} is larger than the ${options.maxBytes} bytes allowed (http.uploadLimitBytes)`,
        );
      }
      hash.update(chunk);
      await handle.write(sealing ? sealing.update(chunk) : chunk);
    }
    if (sealing) await handle.write(sealing.final());
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(path, { force: true });
    live.delete(path);
    throw err;
  }
  await handle.close();
  return { path, sha256: hash.digest('hex'), sizeBytes: size };
}

/** The plaintext of a stored object (decrypted when sealed); `internal` when it cannot be. */
export function plainOf(stored: Buffer, cipher: ArtifactCipher | undefined, what: string): Buffer {
  if (!ArtifactCipher.isSealed(stored)) return stored;
  if (!cipher) {
    throw new GalenError(
      'internal',
      `${what} is encrypted, and no master key is configured (GALEN_MASTER_KEY)`,
    );
  }
  return cipher.open(stored, what);
}

/** The plaintext of stored artifact `sha256`, after checking it hashes to its name; else `internal`. */
export function verifiedPlain(stored: Buffer, sha256: string, cipher: ArtifactCipher | undefined): Buffer {
  const bytes = plainOf(stored, cipher, `artifact ${sha256}`);
  const actual = sha256Hex(bytes);
  if (actual !== sha256) {
    throw new GalenError(
      'internal',
      `artifact ${sha256} is corrupted in the artifact store (its bytes hash to ${actual}); restore it from a backup`,
    );
  }
  return bytes;
}

/**
 * One stored artifact's rotation to `cipher`'s current key: nothing to do, or its bytes sealed anew
 * (encrypted: it was in the clear; rewrapped: an earlier key sealed it), after checking its hash.
 */
export function resealed(
  stored: Buffer,
  sha256: string,
  cipher: ArtifactCipher,
): { change: 'unchanged' } | { change: 'encrypted' | 'rewrapped'; sealed: Buffer } {
  const kid = ArtifactCipher.keyIdOf(stored);
  if (kid === cipher.currentId) return { change: 'unchanged' };
  const sealed = cipher.seal(verifiedPlain(stored, sha256, cipher));
  return { change: kid === undefined ? 'encrypted' : 'rewrapped', sealed };
}

/** Whether a file or object last modified at `mtimeMs` is older than `minAgeMs`, now. */
export const olderThan =
  (minAgeMs: number) =>
  (mtimeMs: number): boolean =>
    mtimeMs <= Date.now() - minAgeMs;

/** Removes the files in `dir` that are old and not `live` (an interrupted upload's); returns how many. */
export async function sweepStaging(
  dir: string,
  live: ReadonlySet<string>,
  isOld: (mtimeMs: number) => boolean,
): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const path = join(dir, name);
    if (live.has(path)) continue;
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile() || !isOld(info.mtimeMs)) continue;
    await rm(path, { force: true });
    removed++;
  }
  return removed;
}
