/**
 * A replica's local read-through cache of stored artifacts: files under `<dir>/sha256/<ab>/<digest>`
 * holding the object exactly as the remote store keeps it (sealed under a master key, so no
 * plaintext ever reaches this disk when one is set). Bounded by `maxBytes` with least-recently-used
 * eviction; files are written beside and renamed into place, so a crash never leaves half a file
 * under a digest. The cache trusts nothing it holds: the store verifies every hit by hash and
 * drops a bad file. Recency survives a restart through the files' modification times.
 */
import { mkdir, open, readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSha256Hex, randomToken } from '../core/index.js';
import { ArtifactCipher } from './artifact-cipher.js';

export class ArtifactCache {
  private readonly root: string;
  private readonly tmp: string;
  /** digest → size in bytes, least recently used first (a Map keeps insertion order). */
  private entries: Map<string, number> | undefined;
  private loading: Promise<Map<string, number>> | undefined;
  private totalBytes = 0;

  /**
   * `tmp` is where new files are written before their rename (same file system as `dir`). With
   * `sealedOnly` (a master key is set) the cache refuses plaintext, and removes plaintext files a
   * run without the key left behind.
   */
  constructor(
    dir: string,
    private readonly maxBytes: number,
    tmp: string,
    private readonly sealedOnly = false,
  ) {
    this.root = join(dir, 'sha256');
    this.tmp = tmp;
  }

  private pathOf(sha256: string): string {
    return join(this.root, sha256.slice(0, 2), sha256);
  }

  /** The cached files, oldest use first, read from disk once per process. */
  private async index(): Promise<Map<string, number>> {
    if (this.entries) return this.entries;
    this.loading ??= (async () => {
      const found: { sha256: string; size: number; used: number }[] = [];
      for (const prefix of await readdir(this.root).catch(() => [] as string[])) {
        for (const name of await readdir(join(this.root, prefix)).catch(() => [] as string[])) {
          if (!isSha256Hex(name)) continue;
          const path = join(this.root, prefix, name);
          const info = await stat(path).catch(() => undefined);
          if (!info?.isFile()) continue;
          if (this.sealedOnly && !(await isSealedFile(path))) await rm(path, { force: true });
          else found.push({ sha256: name, size: info.size, used: info.mtimeMs });
        }
      }
      found.sort((a, b) => a.used - b.used);
      const entries = new Map(found.map((f) => [f.sha256, f.size]));
      this.totalBytes = found.reduce((sum, f) => sum + f.size, 0);
      this.entries = entries;
      await this.evict();
      return entries;
    })();
    return this.loading;
  }

  /** The cached object, marked as just used; undefined when not cached. */
  async get(sha256: string): Promise<Buffer | undefined> {
    const entries = await this.index();
    const size = entries.get(sha256);
    if (size === undefined) return undefined;
    const path = this.pathOf(sha256);
    const bytes = await readFile(path).catch(() => undefined);
    if (!bytes) {
      // Removed behind our back (another process sharing the folder, or an operator).
      this.forget(sha256);
      return undefined;
    }
    entries.delete(sha256);
    entries.set(sha256, size);
    const now = new Date();
    await utimes(path, now, now).catch(() => undefined);
    return bytes;
  }

  /**
   * Keeps `stored` (the object as the remote store holds it) under its digest, evicting the least
   * recently used files beyond the bound. An object larger than the whole cache is not kept.
   */
  async put(sha256: string, stored: Buffer): Promise<void> {
    if (stored.length > this.maxBytes || (this.sealedOnly && !ArtifactCipher.isSealed(stored))) return;
    await mkdir(this.tmp, { recursive: true });
    const beside = join(this.tmp, `${Date.now()}-${randomToken(9)}.cache`);
    await writeFile(beside, stored, { mode: 0o600 });
    await this.adopt(sha256, beside);
  }

  /**
   * Moves the local file `path` (the object as uploaded, on this file system) into the cache under
   * its digest, or removes it when it is larger than the whole cache.
   */
  async adopt(sha256: string, path: string): Promise<void> {
    try {
      const entries = await this.index();
      const { size } = await stat(path);
      if (size > this.maxBytes || (this.sealedOnly && !(await isSealedFile(path)))) return;
      await mkdir(join(this.root, sha256.slice(0, 2)), { recursive: true });
      const now = new Date();
      await utimes(path, now, now);
      await rename(path, this.pathOf(sha256));
      this.forget(sha256);
      entries.set(sha256, size);
      this.totalBytes += size;
      await this.evict();
    } finally {
      await rm(path, { force: true });
    }
  }

  /** Removes a file (corrupted, or no longer current after a rotation). */
  async drop(sha256: string): Promise<void> {
    await this.index();
    this.forget(sha256);
    await rm(this.pathOf(sha256), { force: true });
  }

  /** What the cache holds now, in bytes. */
  async sizeBytes(): Promise<number> {
    await this.index();
    return this.totalBytes;
  }

  private forget(sha256: string): void {
    const size = this.entries?.get(sha256);
    if (size === undefined) return;
    this.entries?.delete(sha256);
    this.totalBytes -= size;
  }

  private async evict(): Promise<void> {
    const entries = this.entries;
    if (!entries) return;
    for (const [sha256] of entries) {
      if (this.totalBytes <= this.maxBytes) return;
      this.forget(sha256);
      // A reader that opened it already keeps reading; a later one misses and fetches again.
      await rm(this.pathOf(sha256), { force: true });
    }
  }
}

/** Whether the file at `path` starts like a sealed object (reads its first bytes only). */
async function isSealedFile(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(16), 0, 16, 0);
    return ArtifactCipher.isSealed(buffer.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}
