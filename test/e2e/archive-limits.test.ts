/**
 * Image dataset uploads through the real server: real archives (MedMNIST's npz as NumPy writes it,
 * zip64 headers included, and a zipped folder of PNGs) are read as before, a zip bomb is refused
 * with a 400 that says why, and the `imageArchives.*` settings apply.
 */
import { readFile, readdir } from 'node:fs/promises';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '../../src/datasets/index.js';
import { packImageFolder } from '../../src/images/index.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { dataUrl } from '../helpers/data.js';

const IMAGING = dataUrl('imaging/');

/** An npz of `n` grey 128×128 images of zeros, labels alternating 0 and 1, at deflate level 9. */
function zeroImages(n: number): Uint8Array {
  return zipSync(
    {
      'images.npy': encodeNpy({ dtype: 'uint8', shape: [n, 128, 128], data: new Uint8Array(n * 128 * 128) }),
      'labels.npy': encodeNpy({
        dtype: 'int64',
        shape: [n],
        data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 2)),
      }),
    },
    { level: 9 },
  );
}

describe('image dataset archives over the API', () => {
  let server: TestServer;
  let tight: TestServer;
  beforeAll(async () => {
    server = await createTestServer();
    tight = await createTestServer({
      config: { imageArchives: { ...server.galen.config.imageArchives, maxImages: 100 } },
    });
  });
  afterAll(async () => {
    await server?.close();
    await tight?.close();
  });

  it('reads real archives as before: NumPy npz (zip64 headers) and a zipped folder of PNGs', async () => {
    const npz = await readFile(new URL('pneumoniamnist.npz', IMAGING));
    const res = await server.call('POST', '/api/v1/datasets/pneumonia', { body: npz });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      format: 'npz',
      rows: 5030,
      schema: { kind: 'images', shape: [1, 28, 28], splits: { train: 3882, val: 524, test: 624 } },
    });
    const folder = new URL('pneumoniamnist_test_png/', IMAGING);
    const files: Record<string, Uint8Array> = {};
    for (const name of await readdir(folder)) files[name] = await readFile(new URL(name, folder));
    const zipped = await server.call('POST', '/api/v1/datasets/png', { body: packImageFolder(files) });
    expect(zipped.status, JSON.stringify(zipped.body)).toBe(201);
    expect(zipped.body).toMatchObject({ format: 'images', rows: 40, schema: { shape: [1, 28, 28] } });
  });

  it('refuses a zip bomb with a 400 saying why, and keeps nothing', async () => {
    const bomb = zeroImages(2048); // 32 MiB of pixels in well under 100 KiB
    const res = await server.call('POST', '/api/v1/datasets/bomb', { body: bomb });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.code).toBe('invalid_input');
    expect(res.body.error).toMatch(/refused as a possible zip bomb/);
    expect((await server.call('GET', '/api/v1/datasets/bomb')).status).toBe(404);
  });

  it('applies the imageArchives settings', async () => {
    const res = await tight.call('POST', '/api/v1/datasets/many', { body: zeroImages(101) });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error).toBe('the archive holds 101 images; an image dataset may hold at most 100');
    const ok = await tight.call('POST', '/api/v1/datasets/many', { body: zeroImages(100) });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
  });
});
