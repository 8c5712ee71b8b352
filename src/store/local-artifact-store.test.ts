import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalArtifactStore } from './local-artifact-store.js';

const HOUR_AGO = new Date(Date.now() - 3600_000);
/** What the metadata store would answer: these digests are referenced. */
const refs =
  (...digests: string[]) =>
  (): Promise<ReadonlySet<string>> =>
    Promise.resolve(new Set(digests));

let dataDir: string;
let store: LocalArtifactStore;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'galen-artifacts-'));
  store = new LocalArtifactStore(dataDir);
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const pathOf = (sha256: string): string => join(dataDir, 'artifacts', 'sha256', sha256.slice(0, 2), sha256);
const tmp = (name = ''): string => join(dataDir, 'artifacts', 'tmp', name);

/** Commits `text` as an artifact, dated `at` (default: an hour ago, past the 10-minute rule). */
async function artifact(text: string, at: Date = HOUR_AGO): Promise<string> {
  const staged = await store.stage(Buffer.from(text));
  await staged.commit();
  await utimes(pathOf(staged.sha256), at, at);
  return staged.sha256;
}

/** A file left in the staging folder by an interrupted upload. */
async function leftover(name: string, at: Date = HOUR_AGO): Promise<string> {
  await mkdir(tmp(), { recursive: true });
  await writeFile(tmp(name), 'half an upload');
  await utimes(tmp(name), at, at);
  return tmp(name);
}

// What every store guarantees is in artifact-store.test.ts (run on local files and S3); these are
// the local store's own mechanics: file dates, the move-aside folder.
describe('LocalArtifactStore.sweep', () => {
  it('removes staged files and unreferenced artifacts older than 10 minutes, and only those', async () => {
    const oldPart = await leftover('1-old.part');
    const youngPart = await leftover('2-young.part', new Date(Date.now() - 60_000));
    const oldRotate = await leftover('3-old.rotate');
    const orphan = await artifact('an upload whose record was never written');
    const youngOrphan = await artifact('an upload committing right now', new Date(Date.now() - 60_000));
    const kept = await artifact('a version refers to this one');

    expect(await store.sweep(refs(kept))).toEqual({ staged: 2, orphans: 1 });
    expect(existsSync(oldPart)).toBe(false);
    expect(existsSync(oldRotate)).toBe(false);
    expect(existsSync(youngPart)).toBe(true);
    expect(existsSync(pathOf(orphan))).toBe(false);
    expect(existsSync(pathOf(youngOrphan))).toBe(true);
    expect((await store.readVerified(kept)).toString()).toBe('a version refers to this one');
    // Nothing is left aside.
    expect(await readdir(join(dataDir, 'artifacts', 'sweeping'))).toEqual([]);
  });

  it('keeps the new file of an upload of the same bytes that commits while the old one is swept', async () => {
    const text = 'the same bytes, uploaded again';
    const sha256 = await artifact(text);
    const references = async (): Promise<ReadonlySet<string>> => {
      if (existsSync(pathOf(sha256))) return new Set();
      // The old file has been moved aside: a new upload of the same bytes commits its own file now,
      // and its record follows after the sweep has looked.
      const again = await store.stage(Buffer.from(text));
      await again.commit();
      return new Set();
    };
    expect(await store.sweep(references)).toEqual({ staged: 0, orphans: 1 });
    expect((await store.readVerified(sha256)).toString()).toBe(text);
  });

  it('settles files an interrupted sweep left aside: back if referenced or young, else removed', async () => {
    const referenced = await artifact('referenced');
    const young = await artifact('young', new Date());
    const orphan = await artifact('orphan');
    const aside = join(dataDir, 'artifacts', 'sweeping');
    await mkdir(aside);
    for (const sha256 of [referenced, young, orphan]) {
      await rename(pathOf(sha256), join(aside, `${sha256}.abc123`));
    }
    expect(await store.sweep(refs(referenced))).toEqual({ staged: 0, orphans: 1 });
    expect(await store.has(referenced)).toBe(true);
    expect(await store.has(young)).toBe(true);
    expect(await store.has(orphan)).toBe(false);
    expect(await readdir(aside)).toEqual([]);
  });
});

describe('LocalArtifactStore.probe', () => {
  it('answers unavailable, naming the folder, when the artifact folder cannot be written', async () => {
    await store.probe();
    const blocked = await mkdtemp(join(tmpdir(), 'galen-blocked-'));
    await writeFile(join(blocked, 'artifacts'), 'a file where the folder should be');
    await expect(new LocalArtifactStore(blocked).probe()).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining(join(blocked, 'artifacts')),
    });
    await rm(blocked, { recursive: true, force: true });
  });
});
