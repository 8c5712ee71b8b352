/**
 * The embedded artifact store: files under `<dataDir>/artifacts/sha256/<ab>/<digest>`, staged in
 * `<dataDir>/artifacts/tmp` on the same file system so the final rename is atomic. With a master
 * key, every file is written encrypted (`ArtifactCipher`), staging included; the digest is of the
 * plaintext, checked on every read. A sweep removes what interrupted uploads leave behind: staged
 * files, and complete files whose record was never written (moved aside to
 * `<dataDir>/artifacts/sweeping` while their references are checked again).
 */
import { constants } from 'node:fs';
import {
  access,
  link,
  mkdir,
  readFile,
  readdir,
  rename,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { GalenError, isSha256Hex, randomToken } from '../core/index.js';
import type { ArtifactCipher } from './artifact-cipher.js';
import {
  fsyncDirectory,
  olderThan,
  plainOf,
  resealed,
  stageToFile,
  sweepStaging,
  verifiedPlain,
} from './artifact-staging.js';
import { SWEEP_MIN_AGE_MS } from './artifact-store.js';
import type { ArtifactStore, StagedArtifact } from './artifact-store.js';

export class LocalArtifactStore implements ArtifactStore {
  private readonly root: string;
  private readonly tmp: string;
  private readonly sweeping: string;
  /** Staged files of this process not yet committed or discarded: never swept, whatever their age. */
  private readonly live = new Set<string>();

  constructor(
    dataDir: string,
    private readonly cipher?: ArtifactCipher,
  ) {
    this.root = join(dataDir, 'artifacts', 'sha256');
    this.tmp = join(dataDir, 'artifacts', 'tmp');
    this.sweeping = join(dataDir, 'artifacts', 'sweeping');
  }

  /** The plaintext of a stored file (decrypted when sealed). */
  private plain(bytes: Buffer, what: string): Buffer {
    return plainOf(bytes, this.cipher, what);
  }

  private pathOf(sha256: string): string {
    if (!isSha256Hex(sha256)) throw new GalenError('invalid_input', `"${sha256}" is not a sha256 hex digest`);
    return join(this.root, sha256.slice(0, 2), sha256);
  }

  async stage(
    source: AsyncIterable<Uint8Array> | Uint8Array,
    options: { maxBytes?: number; what?: string } = {},
  ): Promise<StagedArtifact> {
    const {
      path: localPath,
      sha256,
      sizeBytes,
    } = await stageToFile(this.tmp, source, options, this.cipher, this.live);
    let settled = false;
    return {
      sha256,
      sizeBytes,
      read: async () => this.plain(await readFile(localPath), `staged upload ${sha256}`),
      commit: async () => {
        if (settled) return;
        const target = this.pathOf(sha256);
        await mkdir(join(this.root, sha256.slice(0, 2)), { recursive: true });
        // Dated now, not when staging ended: a sweep judges a file's age by it, and the record
        // that refers to this file is written right after.
        const now = new Date();
        await utimes(localPath, now, now);
        await rename(localPath, target);
        await fsyncDirectory(join(this.root, sha256.slice(0, 2)));
        settled = true;
        this.live.delete(localPath);
      },
      discard: async () => {
        if (settled) return;
        settled = true;
        await rm(localPath, { force: true });
        this.live.delete(localPath);
      },
    };
  }

  /** Readiness: the artifact folder exists (made if missing) and this process may write to it. */
  async probe(): Promise<void> {
    try {
      await mkdir(this.tmp, { recursive: true });
      await access(this.tmp, constants.W_OK);
    } catch (err) {
      throw new GalenError(
        'unavailable',
        `the artifact folder ${this.tmp} is not writable: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }

  async has(sha256: string): Promise<boolean> {
    try {
      await access(this.pathOf(sha256), constants.R_OK);
      return true;
    } catch {
      return false;
    }
  }

  async readVerified(sha256: string): Promise<Buffer> {
    const path = this.pathOf(sha256);
    let stored: Buffer;
    try {
      stored = await readFile(path);
    } catch (err) {
      throw new GalenError('not_found', `artifact ${sha256} is missing from the artifact store`, {
        cause: err,
      });
    }
    return verifiedPlain(stored, sha256, this.cipher);
  }

  async rotate(): Promise<{ encrypted: number; rewrapped: number; unchanged: number }> {
    if (!this.cipher)
      throw new GalenError('invalid_input', 'set a master key (GALEN_MASTER_KEY) to encrypt artifacts');
    const counts = { encrypted: 0, rewrapped: 0, unchanged: 0 };
    for (const prefix of await readdir(this.root).catch(() => [] as string[])) {
      for (const name of await readdir(join(this.root, prefix)).catch(() => [] as string[])) {
        if (!isSha256Hex(name)) continue;
        const path = join(this.root, prefix, name);
        const stored = await readFile(path);
        const rotation = resealed(stored, name, this.cipher);
        counts[rotation.change]++;
        if (rotation.change === 'unchanged') continue;
        // Written beside, then renamed over: a crash leaves the old file or the new one, whole.
        await mkdir(this.tmp, { recursive: true });
        const staged = join(this.tmp, `${Date.now()}-${randomToken(9)}.rotate`);
        await writeFile(staged, rotation.sealed, { mode: 0o600, flush: true });
        await rename(staged, path);
        await fsyncDirectory(join(this.root, prefix));
      }
    }
    return counts;
  }

  async sweep(
    referenced: () => Promise<ReadonlySet<string>>,
    options: { minAgeMs?: number } = {},
  ): Promise<{ staged: number; orphans: number }> {
    // Files younger than minAgeMs may belong to an upload another process is finishing right now.
    const isOld = olderThan(options.minAgeMs ?? SWEEP_MIN_AGE_MS);
    const staged = await sweepStaging(this.tmp, this.live, isOld);

    // A record can be committed between reading the references and deleting a file. So an old,
    // unreferenced file is first moved aside (atomically: whoever commits the same digest now
    // writes a new file in its place), then the references are read again, and the moved file
    // is deleted only if it is still unreferenced and still old (it was not a new commit landing
    // between our look and our move); otherwise it goes back.
    const before = await referenced();
    const aside: { sha256: string; path: string }[] = [];
    // Left by a sweep that was interrupted: judged like the rest.
    for (const name of await readdir(this.sweeping).catch(() => [] as string[])) {
      const sha256 = name.slice(0, 64);
      if (isSha256Hex(sha256)) aside.push({ sha256, path: join(this.sweeping, name) });
    }
    for (const prefix of await readdir(this.root).catch(() => [] as string[])) {
      for (const name of await readdir(join(this.root, prefix)).catch(() => [] as string[])) {
        if (!isSha256Hex(name) || before.has(name)) continue;
        const path = join(this.root, prefix, name);
        const info = await stat(path).catch(() => undefined);
        if (!info?.isFile() || !isOld(info.mtimeMs)) continue;
        await mkdir(this.sweeping, { recursive: true, mode: 0o700 });
        const moved = join(this.sweeping, `${name}.${randomToken(6)}`);
        if (
          await rename(path, moved).then(
            () => true,
            () => false, // gone meanwhile
          )
        )
          aside.push({ sha256: name, path: moved });
      }
    }
    if (aside.length === 0) return { staged, orphans: 0 };

    const after = await referenced();
    let orphans = 0;
    for (const file of aside) {
      const info = await stat(file.path).catch(() => undefined);
      if (!info) continue; // another sweeper settled it
      if (!after.has(file.sha256) && isOld(info.mtimeMs)) {
        await rm(file.path, { force: true });
        orphans++;
      } else {
        await this.putBack(file.sha256, file.path);
      }
    }
    return { staged, orphans };
  }

  /** Returns a file the sweep moved aside to its place, unless an equal one is there already. */
  private async putBack(sha256: string, from: string): Promise<void> {
    const dir = join(this.root, sha256.slice(0, 2));
    await mkdir(dir, { recursive: true });
    // link, not rename: it never replaces a file committed there meanwhile (same digest, same plaintext).
    await link(from, this.pathOf(sha256)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    await fsyncDirectory(dir);
    await rm(from, { force: true });
  }
}
