/**
 * The artifact store interface: model files kept by their sha256. Writes are staged (streamed
 * to a temporary file while hashing) so a caller can validate before committing, and a crash
 * at any point leaves either nothing or a complete, correctly named file.
 */

export interface StagedArtifact {
  readonly sha256: string;
  readonly sizeBytes: number;
  /** The staged bytes (decrypted), readable until commit or discard. */
  read(): Promise<Buffer>;
  /** Moves the bytes into the store under their digest; idempotent for equal content. */
  commit(): Promise<void>;
  /** Removes the staged bytes. Safe to call after commit (it then does nothing). */
  discard(): Promise<void>;
}

export interface ArtifactStore {
  /**
   * Streams `source` into a staged artifact, refusing more than `maxBytes`; `what` names the file
   * in that refusal ("model file", "dataset file"; default "file").
   */
  stage(
    source: AsyncIterable<Uint8Array> | Uint8Array,
    options?: { maxBytes?: number; what?: string },
  ): Promise<StagedArtifact>;
  /**
   * The artifact's bytes (decrypted), after checking they still hash to `sha256`. Throws
   * `not_found` when missing and `internal` when the bytes do not match or fail decryption.
   */
  readVerified(sha256: string): Promise<Buffer>;
  /**
   * Encrypts every artifact stored in the clear and re-encrypts those sealed by an earlier master
   * key under the current one. Each file is replaced atomically.
   */
  rotate(): Promise<{ encrypted: number; rewrapped: number; unchanged: number }>;
  has(sha256: string): Promise<boolean>;
  /**
   * Readiness: resolves when the store can be used now (local files: the folder is writable; S3:
   * the bucket answers), else throws `unavailable` saying which store and why (never a secret).
   */
  probe(): Promise<void>;
  /**
   * Removes staging leftovers and artifacts no record refers to, older than `minAgeMs` (default
   * {@link SWEEP_MIN_AGE_MS}: a CLI in another process may be uploading into the same folder).
   * `referenced` is read once to choose candidates and again after they are moved aside, so an
   * artifact whose record was committed meanwhile is put back. Returns what it removed.
   */
  sweep(
    referenced: () => Promise<ReadonlySet<string>>,
    options?: { minAgeMs?: number },
  ): Promise<{ staged: number; orphans: number }>;
}

/** Staged and unreferenced files younger than this are left alone by a sweep: 10 minutes. */
export const SWEEP_MIN_AGE_MS = 10 * 60_000;
