/**
 * What every artifact store guarantees, run against each implementation (local files, S3).
 * Implementation mechanics (the local sweep's move-aside folder, S3's multipart uploads and cache)
 * are tested beside each store.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { artifactStoreFactories } from '../../test/helpers/artifact-stores.js';
import { sha256Hex } from '../core/index.js';
import { ArtifactCipher } from './artifact-cipher.js';
import type { ArtifactStore } from './artifact-store.js';

const HOUR_AGO = new Date(Date.now() - 3600_000);
/** What the metadata store would answer: these digests are referenced. */
const refs =
  (...digests: string[]) =>
  (): Promise<ReadonlySet<string>> =>
    Promise.resolve(new Set(digests));
const none = refs();
/**
 * Sweeps below judge age against this instead of 10 minutes: S3 dates objects to the second
 * (Swift rounds up), so "old" artifacts are committed, then {@link ageing} passes, then the rest.
 */
const MIN_AGE_MS = 1000;
const ageing = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 2200));

async function commit(store: ArtifactStore, text: string | Buffer): Promise<string> {
  const staged = await store.stage(Buffer.from(text));
  await staged.commit();
  return staged.sha256;
}

describe.each(artifactStoreFactories())('artifact store on $name', (factory) => {
  describe.skipIf(factory.skip !== undefined)(factory.skip ?? 'available', () => {
    it('stages, commits and reads back by sha256, verified; another instance over the same storage reads it too', async () => {
      const { store, reopen } = await factory.create();
      const bytes = randomBytes(100_000);
      // Streamed in chunks, as an HTTP upload arrives.
      const staged = await store.stage(Readable.from([bytes.subarray(0, 40_000), bytes.subarray(40_000)]));
      expect(staged.sha256).toBe(sha256Hex(bytes));
      expect(staged.sizeBytes).toBe(100_000);
      expect((await staged.read()).equals(bytes)).toBe(true);
      expect(await store.has(staged.sha256)).toBe(false); // nothing visible before commit
      await staged.commit();
      await staged.commit(); // idempotent
      await staged.discard(); // after commit: nothing
      expect(await store.has(staged.sha256)).toBe(true);
      expect((await store.readVerified(staged.sha256)).equals(bytes)).toBe(true);
      expect((await reopen().readVerified(staged.sha256)).equals(bytes)).toBe(true);
      // The same bytes again: the same artifact.
      expect(await commit(store, bytes)).toBe(staged.sha256);
      await store.probe();
    });

    it('refuses an upload over maxBytes, and a discarded upload leaves nothing', async () => {
      const { store, stagingDir } = await factory.create();
      await expect(
        store.stage(Buffer.alloc(2048), { maxBytes: 1024, what: 'model file' }),
      ).rejects.toMatchObject({ code: 'payload_too_large', message: expect.stringContaining('model file') });
      const staged = await store.stage(Buffer.from('not wanted after all'));
      await staged.discard();
      expect(await store.has(staged.sha256)).toBe(false);
      expect(await readdir(stagingDir).catch(() => [])).toEqual([]);
    });

    it('answers not_found for a missing artifact and internal for bytes altered at rest', async () => {
      const { store, tamper } = await factory.create();
      const missing = sha256Hex(Buffer.from('never stored'));
      await expect(store.readVerified(missing)).rejects.toMatchObject({ code: 'not_found' });
      const sha256 = await commit(store, 'the original model');
      await tamper(sha256, Buffer.from('a different model'));
      await expect(store.readVerified(sha256)).rejects.toMatchObject({
        code: 'internal',
        message: expect.stringContaining(`artifact ${sha256} is corrupted`),
      });
    });

    it('keeps artifacts sealed at rest under a master key, and rotates clear and old-key ones', async () => {
      const oldKeyBytes = randomBytes(32);
      const oldKey = new ArtifactCipher(oldKeyBytes);
      const { store, reopen, atRest, tamper } = await factory.create();
      const text = 'PATIENT-ROWS-IN-A-DATASET';
      const clear = await commit(store, text);
      expect((await atRest(clear)).toString()).toBe(text);

      const sealedByOld = await commit(reopen(oldKey), `${text} 2`);
      expect(ArtifactCipher.keyIdOf(await atRest(sealedByOld))).toBe(oldKey.currentId);
      expect((await atRest(sealedByOld)).includes(text)).toBe(false);

      const newKeyBytes = randomBytes(32);
      const rotated = reopen(new ArtifactCipher(newKeyBytes, [oldKeyBytes]));
      expect(await rotated.rotate()).toEqual({ encrypted: 1, rewrapped: 1, unchanged: 0 });
      expect(await rotated.rotate()).toEqual({ encrypted: 0, rewrapped: 0, unchanged: 2 });
      const onlyNewKey = reopen(new ArtifactCipher(newKeyBytes));
      for (const sha256 of [clear, sealedByOld]) {
        expect(ArtifactCipher.keyIdOf(await atRest(sha256))).toBe(new ArtifactCipher(newKeyBytes).currentId);
      }
      expect((await onlyNewKey.readVerified(clear)).toString()).toBe(text);
      expect((await onlyNewKey.readVerified(sealedByOld)).toString()).toBe(`${text} 2`);

      // A flipped byte in a sealed object is refused, not decrypted to something else.
      const sealed = await atRest(clear);
      sealed.writeUInt8(sealed.readUInt8(sealed.length - 20) ^ 1, sealed.length - 20);
      await tamper(clear, sealed);
      await expect(reopen(new ArtifactCipher(newKeyBytes)).readVerified(clear)).rejects.toMatchObject({
        code: 'internal',
        message: expect.stringContaining('cannot be decrypted'),
      });
    });

    it('sweeps staging leftovers and old unreferenced artifacts, and only those', async () => {
      const { store, stagingDir } = await factory.create();
      const orphan = await commit(store, 'an upload whose record was never written');
      const kept = await commit(store, 'a version refers to this one');
      await ageing();
      const youngOrphan = await commit(store, 'an upload committing right now');
      await mkdir(stagingDir, { recursive: true });
      await writeFile(join(stagingDir, '1-old.part'), 'half an upload');
      await utimes(join(stagingDir, '1-old.part'), HOUR_AGO, HOUR_AGO);
      await writeFile(join(stagingDir, '2-young.part'), 'half an upload, still arriving');

      const swept = await store.sweep(refs(kept), { minAgeMs: MIN_AGE_MS });
      expect(swept.orphans).toBe(1);
      expect(swept.staged).toBeGreaterThanOrEqual(1);
      expect(existsSync(join(stagingDir, '1-old.part'))).toBe(false);
      expect(existsSync(join(stagingDir, '2-young.part'))).toBe(true);
      expect(await store.has(orphan)).toBe(false);
      expect(await store.has(youngOrphan)).toBe(true);
      expect((await store.readVerified(kept)).toString()).toBe('a version refers to this one');
      // The default (10 minutes) keeps everything that is left.
      expect(await store.sweep(none)).toEqual({ staged: 0, orphans: 0 });
    });

    it('never removes a file this process is still staging, whatever its age', async () => {
      const { store, stagingDir } = await factory.create();
      const staged = await store.stage(Buffer.from('being checked by ONNX Runtime'));
      const [name] = await readdir(stagingDir);
      await utimes(join(stagingDir, name!), HOUR_AGO, HOUR_AGO);
      expect(await store.sweep(none)).toEqual({ staged: 0, orphans: 0 });
      await staged.commit();
      expect(await store.has(staged.sha256)).toBe(true);
    });

    it('dates a committed artifact at its commit, so an upload staged long ago is not swept before its record', async () => {
      const { store, stagingDir } = await factory.create();
      const staged = await store.stage(Buffer.from('staged an hour ago'));
      const [name] = await readdir(stagingDir);
      await utimes(join(stagingDir, name!), HOUR_AGO, HOUR_AGO);
      await staged.commit();
      expect(await store.sweep(none)).toEqual({ staged: 0, orphans: 0 });
      expect(await store.has(staged.sha256)).toBe(true);
    });

    it('keeps an artifact whose record is committed between the listing and the deletion', async () => {
      const { store } = await factory.create();
      const sha256 = await commit(store, 'registered while the sweep runs');
      await ageing();
      let reads = 0;
      // First read: no record yet. By the second, the record is there.
      const references = (): Promise<ReadonlySet<string>> =>
        Promise.resolve(++reads === 1 ? new Set<string>() : new Set([sha256]));
      expect(await store.sweep(references, { minAgeMs: MIN_AGE_MS })).toEqual({ staged: 0, orphans: 0 });
      expect(reads).toBe(2);
      expect((await store.readVerified(sha256)).toString()).toBe('registered while the sweep runs');
    });

    it('keeps an old artifact whose bytes are uploaded again while it is swept', async () => {
      const { store } = await factory.create();
      const text = 'the same bytes, uploaded again';
      const sha256 = await commit(store, text);
      await ageing();
      let reads = 0;
      // By its second read of the references the sweep has chosen the old artifact; a new upload of
      // the same bytes commits now, and its record follows after the sweep has looked.
      const references = async (): Promise<ReadonlySet<string>> => {
        if (++reads === 2) await commit(store, text);
        return new Set();
      };
      await store.sweep(references, { minAgeMs: MIN_AGE_MS });
      expect(reads).toBe(2);
      expect((await store.readVerified(sha256)).toString()).toBe(text);
    });

    it('does nothing in an empty store', async () => {
      const { store } = await factory.create();
      expect(await store.sweep(none, { minAgeMs: 0 })).toEqual({ staged: 0, orphans: 0 });
    });
  });
});
