/**
 * Deep image models end to end through the real server: PneumoniaMNIST uploaded as a NumPy
 * archive, a tiny CNN trained for one epoch on a subset by the PyTorch backend in a job, its ONNX
 * checked against PyTorch (|diff| ≤ 1e-4), registered, and served — a PNG from the official test
 * images sent as BYTES gives the same probabilities as that image's pixels sent as FP32.
 *
 * Training needs the PyTorch backend (`apt-get install -y python3-torch python3-onnx`). Without it
 * those tests are skipped (the run ends by listing them), unless GALEN_REQUIRE_PYTORCH=1 (CI sets
 * it), when they fail; the dataset uploads and refusals need no backend and always run.
 */
import { readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeNpy } from '../../src/datasets/index.js';
import { packImageFolder, probeImage } from '../../src/images/index.js';
import { ADMIN_KEY, createTestServer, maxAbsDiff } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { itWithPyTorch, pytorchForTests, waitForJob } from '../helpers/pytorch.js';
import { pytorchReference } from '../helpers/pytorch-reference.js';
import type { PyTorchReference } from '../helpers/pytorch-reference.js';
import { dataUrl } from '../helpers/data.js';

const IMAGING = dataUrl('imaging/');
const pytorch = await pytorchForTests();

/** One BYTES element as the binary extension lays it out: a 4-byte little-endian length, then the bytes. */
function byteElement(bytes: Uint8Array): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32LE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** An OIP body with the image file as base64 text, as JSON clients send it (`content_type`). */
const base64Image = (data: string) => ({
  inputs: [
    { name: 'image', datatype: 'BYTES', shape: [1], parameters: { content_type: 'base64' }, data: [data] },
  ],
});

describe('deep image models (PyTorch backend)', () => {
  let server: TestServer;
  let testImages: Uint8Array;
  let reference: PyTorchReference | undefined;
  beforeAll(async () => {
    reference = pytorch.available ? await pytorchReference() : undefined;
    server = await createTestServer({
      config: { jobs: { concurrency: 1, maxAttempts: 3, ...(reference && { python: reference.python }) } },
    });
    const npz = await readFile(new URL('pneumoniamnist.npz', IMAGING));
    testImages = decodeNpy(unzipSync(npz)['test_images.npy']!).data as Uint8Array;
    const res = await server.call('POST', '/api/v1/datasets/pneumonia', { body: npz });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      format: 'npz',
      rows: 5030,
      schema: {
        kind: 'images',
        shape: [1, 28, 28],
        channels: 1,
        splits: { train: 3882, val: 524, test: 624 },
        labels: { '0': 388 + 135 + 234, '1': 3494 + 389 + 390 },
      },
    });
  });
  afterAll(async () => {
    await server?.close();
    await reference?.close();
  });

  /**
   * Independently of the job's own parity figure: PyTorch, from the weights the trainer exported,
   * on eight official test images, against what the registered version serves for their pixels.
   */
  async function expectServedAsPyTorch(model: string): Promise<void> {
    const saved = await reference!.takeExport();
    const shape = [8, 1, 28, 28];
    const pixels = Array.from(testImages.subarray(0, 8 * 784), (v) => v / 255);
    const served = await server.call('POST', `/v2/models/${model}/infer`, {
      body: { inputs: [{ name: 'pixels', datatype: 'FP32', shape, data: pixels }] },
    });
    expect(served.status, JSON.stringify(served.body)).toBe(200);
    const ours: number[] = served.body.outputs.find((o: any) => o.name === 'probabilities').data;
    const theirs = await reference!.outputs(saved, [{ datatype: 'FP32', shape, data: pixels }]);
    expect(ours).toHaveLength(16);
    expect(theirs).toHaveLength(16);
    expect(maxAbsDiff(ours, theirs)).toBeLessThanOrEqual(1e-4);
  }

  itWithPyTorch(
    pytorch,
    'trains a tiny CNN for one epoch whose ONNX matches PyTorch, and serves PNG bytes',
    async () => {
      const submitted = await server.call('POST', '/api/v1/jobs', {
        body: {
          model: 'pneumonia-cnn',
          dataset: 'pneumonia',
          modelKind: 'cnn',
          deep: {
            epochs: 1,
            maxTrainSamples: 400,
            batchSize: 32,
            network: { width: 8 },
            labelNames: { '0': 'normal', '1': 'pneumonia' },
          },
          intendedUse: 'A test of the training path; not for clinical use.',
        },
      });
      expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
      const job = await waitForJob(server, submitted.body.id);
      expect(job.error).toBeNull();
      expect(job.state).toBe('succeeded');
      const logs = (await server.call('GET', `/api/v1/jobs/${job.id}/logs`)).body.map((l: any) => l.message);
      expect(logs.some((m: string) => /^epoch 1\/1: train loss \d/.test(m))).toBe(true);
      // 13 batches of 32: the log names the epoch once, not every batch.
      expect(logs.filter((m: string) => /^epoch 1\/1$/.test(m))).toHaveLength(1);
      expect(logs.filter((m: string) => /batch \d+\//.test(m))).toEqual([]);

      const version = (await server.call('GET', '/api/v1/models/pneumonia-cnn/versions/1')).body;
      expect(version.metrics.parityMaxAbsDiff).toBeLessThanOrEqual(1e-4);
      await expectServedAsPyTorch('pneumonia-cnn');
      expect(version.metrics.test.n).toBe(624);
      expect(version.metrics.test.auroc).toBeGreaterThan(0.5);
      expect(version.lineage.parameters).toMatchObject({
        model: 'cnn',
        trainRows: 400,
        imageShape: [1, 28, 28],
      });
      expect(version.lineage.onnx.opsetImports).toContainEqual({ domain: '', version: 17 });

      const meta = (await server.call('GET', '/v2/models/pneumonia-cnn')).body;
      expect(meta.inputs[0]).toMatchObject({ name: 'image', datatype: 'BYTES', shape: [-1] });
      expect(meta.inputs[1]).toMatchObject({ name: 'pixels', datatype: 'FP32', shape: [-1, 1, 28, 28] });

      // test_000.png is the first official test image: as PNG bytes and as pixels, the same answer.
      const png = await readFile(new URL('pneumoniamnist_test_png/test_000.png', IMAGING));
      const header = Buffer.from(
        JSON.stringify({
          inputs: [
            {
              name: 'image',
              datatype: 'BYTES',
              shape: [1],
              parameters: { binary_data_size: png.length + 4 },
            },
          ],
        }),
      );
      const response = await fetch(`${server.url}/v2/models/pneumonia-cnn/infer`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${ADMIN_KEY}`,
          'content-type': 'application/octet-stream',
          'inference-header-content-length': String(header.length),
        },
        body: Buffer.concat([header, byteElement(png)]),
      });
      const fromPng = (await response.json()) as any;
      expect(response.status, JSON.stringify(fromPng)).toBe(200);
      const label = fromPng.outputs.find((o: any) => o.name === 'label');
      const probabilities = fromPng.outputs.find((o: any) => o.name === 'probabilities');
      expect(['normal', 'pneumonia']).toContain(label.data[0]);
      expect(probabilities.shape).toEqual([1, 2]);
      expect(probabilities.data[0] + probabilities.data[1]).toBeCloseTo(1, 5);

      const pixels = Array.from(testImages.subarray(0, 784), (v) => v / 255);
      const fromPixels = await server.call('POST', '/v2/models/pneumonia-cnn/infer', {
        body: { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 1, 28, 28], data: pixels }] },
      });
      expect(fromPixels.status, JSON.stringify(fromPixels.body)).toBe(200);
      const direct = fromPixels.body.outputs.find((o: any) => o.name === 'probabilities').data;
      expect(Math.abs(direct[1] - probabilities.data[1])).toBeLessThan(1e-6);

      // JSON clients send the file as base64, saying so in the input's content_type.
      const fromJson = await server.call('POST', '/v2/models/pneumonia-cnn/infer', {
        body: base64Image(png.toString('base64')),
      });
      expect(fromJson.status, JSON.stringify(fromJson.body)).toBe(200);
      expect(fromJson.body.outputs.find((o: any) => o.name === 'probabilities').data).toEqual(
        probabilities.data,
      );
      const notBase64 = await server.call('POST', '/v2/models/pneumonia-cnn/infer', {
        body: base64Image('%%%'),
      });
      expect(notBase64.status).toBe(400);
      expect(notBase64.body.error).toMatch(/input "image" element 0 is not base64/);

      // TF Serving's REST API: the file as {"b64": …} in each instance.
      const tfs = await server.call('POST', '/v1/models/pneumonia-cnn:predict', {
        body: { instances: [{ image: { b64: png.toString('base64') } }] },
      });
      expect(tfs.status, JSON.stringify(tfs.body)).toBe(200);
      expect(tfs.body.predictions[0].probabilities).toEqual(probabilities.data);
      expect(tfs.body.predictions[0].label).toBe(label.data[0]);

      // Why: an occlusion saliency map of the same image, and its overlay.
      const explained = await server.call('POST', '/v2/models/pneumonia-cnn/explain', {
        body: base64Image(png.toString('base64')),
      });
      expect(explained.status, JSON.stringify(explained.body).slice(0, 500)).toBe(200);
      expect(explained.body).toMatchObject({
        method: 'occlusion',
        exact: false,
        output: { tensor: 'probabilities', explained: 'P(pneumonia)' },
        settings: { patch: 4, stride: 2, windows: 169, fill: 'image mean per channel', modelRowsRun: 170 },
      });
      const map = explained.body.explanations[0];
      expect(Math.abs(map.output - probabilities.data[1])).toBeLessThan(1e-6);
      expect(map.saliency).toMatchObject({ height: 28, width: 28 });
      expect(map.saliency.values).toHaveLength(784);
      const overlay = Buffer.from(map.overlay_png, 'base64');
      expect(await probeImage(overlay, 'overlay')).toMatchObject({ format: 'png', width: 224, height: 224 });
      // The corner pixel is covered by one window only: its value is that window's drop, checked here.
      const mean = pixels.reduce((a, b) => a + b, 0) / pixels.length;
      const occluded = pixels.map((v, i) => (i % 28 < 4 && Math.floor(i / 28) < 4 ? mean : v));
      const corner = await server.call('POST', '/v2/models/pneumonia-cnn/infer', {
        body: { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 1, 28, 28], data: occluded }] },
      });
      const occludedP = corner.body.outputs.find((o: any) => o.name === 'probabilities').data[1];
      expect(Math.abs(map.saliency.values[0] - (map.output - occludedP))).toBeLessThan(1e-5);
    },
    600_000,
  );

  itWithPyTorch(
    pytorch,
    'trains a ResNet-18-style network for one epoch whose ONNX matches PyTorch',
    async () => {
      const submitted = await server.call('POST', '/api/v1/jobs', {
        body: {
          model: 'pneumonia-resnet',
          dataset: 'pneumonia',
          modelKind: 'resnet18',
          deep: { epochs: 1, maxTrainSamples: 200, batchSize: 32, network: { width: 8 }, augment: false },
        },
      });
      expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
      const job = await waitForJob(server, submitted.body.id);
      expect(job.error).toBeNull();
      const version = (await server.call('GET', '/api/v1/models/pneumonia-resnet/versions/1')).body;
      expect(version.metrics.parityMaxAbsDiff).toBeLessThanOrEqual(1e-4);
      await expectServedAsPyTorch('pneumonia-resnet');
      expect(version.lineage.parameters.trainer.augment).toBeNull();
    },
    600_000,
  );

  itWithPyTorch(
    pytorch,
    'cancels a deep job mid-training: the trainer stops and the run leaves no files',
    async () => {
      const submitted = await server.call('POST', '/api/v1/jobs', {
        body: { model: 'pneumonia-cancelled', dataset: 'pneumonia', modelKind: 'cnn', deep: { epochs: 50 } },
      });
      expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
      const id = submitted.body.id as string;
      const traces = async (): Promise<{ dirs: string[]; processes: number }> => {
        const dirs = (await readdir(tmpdir())).filter((d) => d.startsWith(`galen-deep-${id}-`));
        let processes = 0;
        for (const pid of await readdir('/proc')) {
          if (!/^\d+$/.test(pid)) continue;
          const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
          if (cmdline.includes('galen_trainer.py') && cmdline.includes(id)) processes += 1;
        }
        return { dirs, processes };
      };
      // Wait until PyTorch is training (an epoch under way), then cancel.
      for (const deadline = Date.now() + 120_000; ;) {
        const job = (await server.call('GET', `/api/v1/jobs/${id}`)).body;
        if (/^epoch \d+\/50/.test(job.stage)) break;
        expect(job.state).not.toMatch(/succeeded|failed|cancelled/);
        if (Date.now() > deadline) throw new Error(`job ${id} never started training (${job.stage})`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((await traces()).processes).toBe(1);
      expect((await server.call('POST', `/api/v1/jobs/${id}/cancel`)).status).toBe(200);
      expect((await waitForJob(server, id)).state).toBe('cancelled');
      for (const deadline = Date.now() + 15_000; ;) {
        const left = await traces();
        if (left.processes === 0 && left.dirs.length === 0) break;
        if (Date.now() > deadline) throw new Error(`a cancelled job left ${JSON.stringify(left)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect((await server.call('GET', '/api/v1/models/pneumonia-cancelled')).status).toBe(404);
    },
    600_000,
  );

  it('stores a folder of PNG files with labels.csv as an image dataset', async () => {
    const folder = new URL('pneumoniamnist_test_png/', IMAGING);
    const files: Record<string, Uint8Array> = {};
    for (const name of await readdir(folder)) files[name] = await readFile(new URL(name, folder));
    const res = await server.call('POST', '/api/v1/datasets/pneumonia-png', {
      body: packImageFolder(files),
      contentType: 'application/zip',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const labels = (await readFile(new URL('labels.csv', folder), 'utf8')).trim().split('\n').slice(1);
    const pneumonia = labels.filter((l) => l.endsWith(',pneumonia')).length;
    expect(res.body).toMatchObject({
      format: 'images',
      rows: 40,
      schema: {
        kind: 'images',
        shape: [1, 28, 28],
        channels: 1,
        labels: { pneumonia, normal: 40 - pneumonia },
      },
    });

    const broken = await server.call('POST', '/api/v1/datasets/broken', {
      body: packImageFolder({
        'labels.csv': Buffer.from('file,label\nmissing.png,normal\n'),
        'a.png': files['test_000.png']!,
      }),
      contentType: 'application/zip',
    });
    expect(broken.status).toBe(400);
    expect(broken.body.error).toMatch(/labels.csv line 2 names "missing.png", which is not in the archive/);
  });

  itWithPyTorch(pytorch, 'refuses bytes that are not an image, with a clear error', async () => {
    const bad = await server.call('POST', '/v2/models/pneumonia-cnn/infer', {
      body: { inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: ['not a picture'] }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/input "image" element 0 is not a PNG or JPEG image/);
  });

  it('refuses a table for an image model when the job is submitted', async () => {
    await server.call('POST', '/api/v1/datasets/table', { body: 'a,b\n1,x\n2,y\n', contentType: 'text/csv' });
    const refused = await server.call('POST', '/api/v1/jobs', {
      body: { model: 'm', dataset: 'table', modelKind: 'cnn' },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(/cnn trains on images, and table:1 is a table/);
  });
});
