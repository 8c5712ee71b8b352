/**
 * The S3-compatible artifact store (`GALEN_ARTIFACTS_URL=s3://bucket/prefix`): objects under
 * `<prefix>/sha256/<ab>/<digest>`, named by the sha256 of the plaintext and checked against it on
 * every read. With a master key every object is sealed (`ArtifactCipher`) before it leaves the
 * replica, and staged sealed on local disk.
 *
 * An upload is staged in `<cacheDir>/tmp` (hashed, size-capped) and sent on commit: nothing is
 * visible in the bucket until one PutObject or CompleteMultipartUpload, so an interrupted upload
 * leaves at most a local file or an incomplete multipart upload, both swept. An object already
 * present is not sent again (content-addressed) but dated anew, so a sweep sees it as young.
 *
 * Reads go through a local cache of objects as stored (`ArtifactCache`, bounded, LRU): a replica
 * restart does not download every model again, and with a master key the cache holds only sealed
 * bytes. A cached file that fails its check is dropped and fetched again.
 *
 * Sweeping: there is no atomic "move aside" in S3, so an unreferenced old object is deleted only
 * after the references are read again and a HeadObject shows it still old. A commit of the same
 * bytes that dates the object between that HeadObject and the DeleteObject (milliseconds, on an
 * object unreferenced for `minAgeMs`) would still lose it; S3 offers no conditional delete that
 * every compatible server supports.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GalenError, isSha256Hex, randomToken } from '../core/index.js';
import { ArtifactCache } from './artifact-cache.js';
import type { ArtifactCipher } from './artifact-cipher.js';
import {
  olderThan,
  plainOf,
  resealed,
  stageToFile,
  sweepStaging,
  verifiedPlain,
} from './artifact-staging.js';
import { SWEEP_MIN_AGE_MS } from './artifact-store.js';
import type { ArtifactStore, StagedArtifact } from './artifact-store.js';
import { S3Bucket } from './s3-bucket.js';
import type { S3BucketOptions } from './s3-bucket.js';

export interface S3ArtifactStoreOptions extends S3BucketOptions {
  /** This replica's cache of objects and its staging folder (`<dataDir>/cache/artifacts`). */
  cacheDir: string;
  /** The cache's bound; least recently used objects are evicted beyond it. */
  cacheMaxBytes: number;
}

export class S3ArtifactStore implements ArtifactStore {
  private readonly bucket: S3Bucket;
  private readonly cache: ArtifactCache;
  private readonly tmp: string;
  /** Staged files of this process not yet committed or discarded: never swept, whatever their age. */
  private readonly live = new Set<string>();
  /** Keys this process is uploading now: their multipart uploads are never swept. */
  private readonly uploading = new Set<string>();
  /** Reads of objects not cached yet, by digest: concurrent readers share one download. */
  private readonly fetching = new Map<string, Promise<Buffer>>();

  constructor(
    options: S3ArtifactStoreOptions,
    private readonly cipher?: ArtifactCipher,
  ) {
    this.bucket = new S3Bucket(options);
    this.tmp = join(options.cacheDir, 'tmp');
    this.cache = new ArtifactCache(options.cacheDir, options.cacheMaxBytes, this.tmp, cipher !== undefined);
  }

  /** Where this store's objects (and only they) are: other keys in the bucket are left alone. */
  private get objectsPrefix(): string {
    return `${this.bucket.base}sha256/`;
  }

  private keyOf(sha256: string): string {
    if (!isSha256Hex(sha256)) throw new GalenError('invalid_input', `"${sha256}" is not a sha256 hex digest`);
    return `${this.objectsPrefix}${sha256.slice(0, 2)}/${sha256}`;
  }

  /** The digest a listed key stands for, if it is one of this store's object keys. */
  private digestOf(key: string): string | undefined {
    const name = key.slice(key.lastIndexOf('/') + 1);
    return isSha256Hex(name) && key === this.keyOf(name) ? name : undefined;
  }

  async stage(
    source: AsyncIterable<Uint8Array> | Uint8Array,
    options: { maxBytes?: number; what?: string } = {},
  ): Promise<StagedArtifact> {
    const { path, sha256, sizeBytes } = await stageToFile(this.tmp, source, options, this.cipher, this.live);
    let settled = false;
    return {
      sha256,
      sizeBytes,
      read: async () => plainOf(await readFile(path), this.cipher, `staged upload ${sha256}`),
      commit: async () => {
        if (settled) return;
        const key = this.keyOf(sha256);
        if (!(await this.bucket.head(key)) || !(await this.bucket.touch(key))) await this.send(key, path);
        settled = true;
        this.live.delete(path);
        // What was just uploaded is what a read fetches next (the model is loaded right after).
        await this.cache.adopt(sha256, path).catch(() => rm(path, { force: true }));
      },
      discard: async () => {
        if (settled) return;
        settled = true;
        this.live.delete(path);
        await rm(path, { force: true });
      },
    };
  }

  private async send(key: string, path: string): Promise<void> {
    this.uploading.add(key);
    try {
      await this.bucket.upload(key, path);
    } finally {
      this.uploading.delete(key);
    }
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.bucket.head(this.keyOf(sha256))) !== undefined;
  }

  async probe(): Promise<void> {
    await this.bucket.probe();
  }

  async readVerified(sha256: string): Promise<Buffer> {
    const key = this.keyOf(sha256);
    const cached = await this.cache.get(sha256).catch(() => undefined);
    if (cached) {
      try {
        return verifiedPlain(cached, sha256, this.cipher);
      } catch {
        // A damaged cache file, or one sealed under a master key since retired: fetch it again.
        await this.cache.drop(sha256).catch(() => undefined);
      }
    }
    let fetching = this.fetching.get(sha256);
    if (!fetching) {
      fetching = this.fetch(key, sha256).finally(() => this.fetching.delete(sha256));
      this.fetching.set(sha256, fetching);
    }
    return verifiedPlain(await fetching, sha256, this.cipher);
  }

  /** The stored object from the bucket, kept in the cache when it checks out. */
  private async fetch(key: string, sha256: string): Promise<Buffer> {
    const stored = await this.bucket.get(key);
    if (!stored) throw new GalenError('not_found', `artifact ${sha256} is missing from the artifact store`);
    verifiedPlain(stored, sha256, this.cipher);
    // A full cache disk costs the next read a download, not this one its answer.
    await this.cache.put(sha256, stored).catch(() => undefined);
    return stored;
  }

  async rotate(): Promise<{ encrypted: number; rewrapped: number; unchanged: number }> {
    const cipher = this.cipher;
    if (!cipher)
      throw new GalenError('invalid_input', 'set a master key (GALEN_MASTER_KEY) to encrypt artifacts');
    const counts = { encrypted: 0, rewrapped: 0, unchanged: 0 };
    for await (const object of this.bucket.list(this.objectsPrefix)) {
      const sha256 = this.digestOf(object.key);
      if (!sha256) continue;
      const stored = await this.bucket.get(object.key);
      if (!stored) continue; // swept meanwhile
      const rotation = resealed(stored, sha256, cipher);
      counts[rotation.change]++;
      if (rotation.change === 'unchanged') continue;
      // One PutObject or CompleteMultipartUpload replaces the object whole: readers see old or new.
      const staged = join(this.tmp, `${Date.now()}-${randomToken(9)}.rotate`);
      this.live.add(staged);
      try {
        await mkdir(this.tmp, { recursive: true });
        await writeFile(staged, rotation.sealed, { mode: 0o600, flush: true });
        await this.send(object.key, staged);
        await this.cache.drop(sha256);
      } finally {
        this.live.delete(staged);
        await rm(staged, { force: true });
      }
    }
    return counts;
  }

  async sweep(
    referenced: () => Promise<ReadonlySet<string>>,
    options: { minAgeMs?: number } = {},
  ): Promise<{ staged: number; orphans: number }> {
    // Younger than minAgeMs: maybe an upload another replica or a CLI is finishing right now.
    const isOld = olderThan(options.minAgeMs ?? SWEEP_MIN_AGE_MS);
    let staged = await sweepStaging(this.tmp, this.live, isOld);
    for await (const upload of this.bucket.listUploads(this.objectsPrefix)) {
      if (this.uploading.has(upload.key) || !isOld(upload.at.getTime())) continue;
      await this.bucket.abortUpload(upload.key, upload.uploadId);
      staged++;
    }

    const before = await referenced();
    const candidates: { sha256: string; key: string }[] = [];
    for await (const object of this.bucket.list(this.objectsPrefix)) {
      const sha256 = this.digestOf(object.key);
      if (sha256 && !before.has(sha256) && isOld(object.at.getTime()))
        candidates.push({ sha256, key: object.key });
    }
    if (candidates.length === 0) return { staged, orphans: 0 };

    // A record may have been committed since the listing, and a commit of the same bytes dates the
    // object anew: read the references again, and look at each object's date just before deleting.
    const after = await referenced();
    let orphans = 0;
    for (const { sha256, key } of candidates) {
      if (after.has(sha256)) continue;
      const at = await this.bucket.head(key);
      if (!at || !isOld(at.getTime())) continue;
      // One by one: DeleteObjects wants Content-MD5, which some S3-compatible servers require and
      // the SDK no longer sends.
      await this.bucket.delete(key);
      await this.cache.drop(sha256).catch(() => undefined);
      orphans++;
    }
    return { staged, orphans };
  }
}
