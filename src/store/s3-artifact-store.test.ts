/**
 * The S3 store's own mechanics, against a real S3-compatible server (see
 * test/helpers/artifact-stores.ts): multipart uploads, interrupted uploads, the read-through cache,
 * probe. What every store guarantees is in artifact-store.test.ts.
 */
import {
  DeleteObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  S3_TEST_BUCKET,
  s3StoreOptions,
  s3TestSettings,
  s3TestSkip,
} from '../../test/helpers/artifact-stores.js';
import type { S3TestSettings } from '../../test/helpers/artifact-stores.js';
import { sha256Hex } from '../core/index.js';
import { ArtifactCipher } from './artifact-cipher.js';
import { S3ArtifactStore } from './s3-artifact-store.js';
import type { S3ArtifactStoreOptions } from './s3-artifact-store.js';
import { parseS3Url } from './s3-bucket.js';

const MiB = 1024 * 1024;

let settings: S3TestSettings;
let cacheDir: string;
const store = (extra: Partial<S3ArtifactStoreOptions> = {}, cipher?: ArtifactCipher): S3ArtifactStore =>
  new S3ArtifactStore(s3StoreOptions(settings, cacheDir, extra), cipher);
const keyOf = (sha256: string): string => `${settings.prefix}sha256/${sha256.slice(0, 2)}/${sha256}`;

async function etagOf(sha256: string): Promise<string | undefined> {
  try {
    const head = await settings.client.send(
      new HeadObjectCommand({ Bucket: S3_TEST_BUCKET, Key: keyOf(sha256) }),
    );
    return head.ETag;
  } catch (err) {
    if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404) return undefined;
    throw err;
  }
}

async function listedUploads(): Promise<number> {
  const page = await settings.client.send(
    new ListMultipartUploadsCommand({ Bucket: S3_TEST_BUCKET, Prefix: settings.prefix }),
  );
  return page.Uploads?.length ?? 0;
}

/** Every file under `dir`, with its bytes. */
async function filesUnder(dir: string): Promise<{ path: string; bytes: Buffer }[]> {
  const found: { path: string; bytes: Buffer }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      found.push({ path, bytes: await readFile(path) });
    }
  }
  return found;
}

/**
 * A TCP relay to the S3 server that cuts every connection, and stops accepting new ones, once
 * `limitBytes` have gone upstream: the network failing in the middle of an upload.
 */
async function cuttingRelay(
  endpoint: string,
  limitBytes: number,
): Promise<{ endpoint: string; cut: Promise<void> }> {
  const target = new URL(endpoint);
  const sockets = new Set<Socket>();
  let sent = 0;
  let cutNow!: () => void;
  const cut = new Promise<void>((resolve) => (cutNow = resolve));
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (sent > limitBytes) {
        server.close();
        for (const socket of sockets) socket.destroy();
        cutNow();
        return;
      }
      upstream.write(chunk);
    });
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, cut };
}

describe.skipIf(s3TestSkip() !== undefined)('S3ArtifactStore', () => {
  beforeEach(async () => {
    settings = await s3TestSettings();
    cacheDir = await mkdtemp(join(tmpdir(), 'galen-s3-cache-'));
  });
  afterEach(async () => {
    await settings.cleanup();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('uploads in parts above the multipart threshold and in one PutObject below it', async () => {
    const s3 = store({ multipartThresholdBytes: MiB });
    const large = randomBytes(9 * MiB);
    const small = randomBytes(MiB / 2);
    const [big, little] = [await s3.stage(large), await s3.stage(small)];
    expect(await listedUploads()).toBe(0);
    await big.commit();
    await little.commit();
    // A multipart object's ETag ends in the number of parts (8 MiB parts: 2).
    expect(await etagOf(big.sha256)).toMatch(/-2"$/);
    expect(await etagOf(little.sha256)).not.toMatch(/-\d+"$/);
    expect(await listedUploads()).toBe(0);
    // Read by another replica (an empty cache): the whole object, verified.
    await rm(cacheDir, { recursive: true, force: true });
    expect((await store().readVerified(big.sha256)).equals(large)).toBe(true);
  });

  it('leaves no object after an upload cut mid-way, and its multipart upload is aborted by a sweep', async () => {
    const relay = await cuttingRelay(settings.endpoint, 6 * MiB);
    const cutOff = store({ endpoint: relay.endpoint, multipartThresholdBytes: MiB });
    const staged = await cutOff.stage(randomBytes(20 * MiB));
    await expect(staged.commit()).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining(`the artifact bucket "${S3_TEST_BUCKET}" at ${relay.endpoint}`),
    });
    await relay.cut;
    const direct = store();
    expect(await direct.has(staged.sha256)).toBe(false);
    // The abort could not reach the server either: the incomplete upload is still listed, as after a crash.
    expect(await listedUploads()).toBe(1);
    // Swift dates the upload's start rounded up to the next second: let that second pass.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const swept = await direct.sweep(() => Promise.resolve(new Set()), { minAgeMs: 0 });
    expect(swept.staged).toBeGreaterThanOrEqual(1);
    expect(await listedUploads()).toBe(0);
    expect(await direct.has(staged.sha256)).toBe(false);
    await staged.discard();
    expect(await readdir(join(cacheDir, 'tmp'))).toEqual([]);
  });

  it('serves a second read from its cache without the bucket, also after a restart', async () => {
    const bytes = randomBytes(200_000);
    const writer = store();
    const staged = await writer.stage(bytes);
    await staged.commit();
    await rm(cacheDir, { recursive: true, force: true }); // another replica: nothing cached yet
    const replica = store();
    expect((await replica.readVerified(staged.sha256)).equals(bytes)).toBe(true);
    // The object goes from the bucket; the replica still answers from its cache.
    await settings.client.send(
      new DeleteObjectCommand({ Bucket: S3_TEST_BUCKET, Key: keyOf(staged.sha256) }),
    );
    expect(await etagOf(staged.sha256)).toBeUndefined();
    expect((await replica.readVerified(staged.sha256)).equals(bytes)).toBe(true);
    // Restarted, with no S3 server reachable at all.
    const offline = store({ endpoint: 'http://127.0.0.1:1' });
    expect((await offline.readVerified(staged.sha256)).equals(bytes)).toBe(true);
  });

  it('drops a corrupted cache file and fetches the object again', async () => {
    const bytes = randomBytes(50_000);
    const s3 = store();
    const staged = await s3.stage(bytes);
    await staged.commit();
    const cached = join(cacheDir, 'sha256', staged.sha256.slice(0, 2), staged.sha256);
    await writeFile(cached, Buffer.from('a bad sector'));
    expect((await s3.readVerified(staged.sha256)).equals(bytes)).toBe(true);
    expect(sha256Hex(await readFile(cached))).toBe(staged.sha256);
  });

  it('keeps its cache within cacheMaxBytes, evicting the least recently used', async () => {
    const s3 = store({ cacheMaxBytes: 250_000 });
    const commit = async (): Promise<{ sha256: string; bytes: Buffer }> => {
      const bytes = randomBytes(100_000);
      const staged = await s3.stage(bytes);
      await staged.commit();
      return { sha256: staged.sha256, bytes };
    };
    const a = await commit();
    const b = await commit();
    await s3.readVerified(a.sha256); // a is now used more recently than b
    const c = await commit();
    const cached = async (sha256: string): Promise<boolean> =>
      stat(join(cacheDir, 'sha256', sha256.slice(0, 2), sha256)).then(
        () => true,
        () => false,
      );
    expect([await cached(a.sha256), await cached(b.sha256), await cached(c.sha256)]).toEqual([
      true,
      false,
      true,
    ]);
    const total = (await filesUnder(join(cacheDir, 'sha256'))).reduce((sum, f) => sum + f.bytes.length, 0);
    expect(total).toBeLessThanOrEqual(250_000);
    // The evicted one is fetched again, and the oldest use (a, then c) makes room.
    expect((await s3.readVerified(b.sha256)).equals(b.bytes)).toBe(true);
    expect(await cached(b.sha256)).toBe(true);
  });

  it('holds no plaintext in its cache or staging under a master key', async () => {
    const marker = 'MRN-0042-PATIENT-ROW';
    const text = `${marker},${'x'.repeat(10_000)}`;
    // Written before the master key was set: stored, and cached, in the clear.
    const clear = await store().stage(Buffer.from(`${text} (clear)`));
    await clear.commit();
    const cipher = new ArtifactCipher(randomBytes(32));
    const sealed = store({}, cipher); // the replica restarted with a master key
    const staged = await sealed.stage(Buffer.from(text));
    await staged.commit();
    expect((await sealed.readVerified(staged.sha256)).toString()).toBe(text);
    expect((await sealed.readVerified(clear.sha256)).toString()).toBe(`${text} (clear)`);
    const files = await filesUnder(cacheDir);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      expect(file.bytes.includes(marker), file.path).toBe(false);
      expect(ArtifactCipher.isSealed(file.bytes), file.path).toBe(true);
    }
  });

  it('probe names the bucket and endpoint when the server does not answer, never the secret', async () => {
    await store().probe();
    const down = store({ endpoint: 'http://127.0.0.1:1' });
    await expect(down.probe()).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining(`the artifact bucket "${S3_TEST_BUCKET}" at http://127.0.0.1:1`),
    });
    const secret = 'not-the-secret-0123456789';
    const refused = store({ credentials: { accessKeyId: 'test:tester', secretAccessKey: secret } });
    const error = await refused.probe().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toMatchObject({ code: 'unavailable', message: expect.stringContaining('HTTP 403') });
    expect(String((error as Error).message)).not.toContain(secret);
    await expect(store({ url: 's3://no-such-bucket-galen/x' }).probe()).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining('HTTP 404'),
    });
  });
});

describe('parseS3Url', () => {
  it('reads the bucket and prefix, and refuses what is not s3://bucket/prefix', () => {
    expect(parseS3Url('s3://models/galen/prod/')).toEqual({ bucket: 'models', prefix: 'galen/prod' });
    expect(parseS3Url('s3://models')).toEqual({ bucket: 'models', prefix: '' });
    for (const bad of ['https://models/x', 's3://Bad_Bucket/x', 's3://key:secret@models/x', 'models/x']) {
      expect(() => parseS3Url(bad), bad).toThrow(/s3:\/\/bucket\/prefix/);
    }
  });
});
