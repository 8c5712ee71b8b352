/**
 * The registry at scale through the API, as a CI pipeline would drive it: registering 1,000 models
 * one after another, then 10,000 versions of one model, and how long reading them back takes.
 */
import { summarize } from '../latency.js';
import type { LatencySummary } from '../latency.js';
import { expectStatus } from '../galen-server.js';
import type { GalenServer } from '../galen-server.js';
import { OnnxGraphBuilder } from '../../src/onnx/index.js';

export interface RegistryFigures {
  store: string;
  /** Registering 1,000 models, one version each, sequentially. */
  registerModels: { count: number; seconds: number; latency: LatencySummary };
  /** `GET /api/v1/models` with those 1,000 models. */
  listModels: LatencySummary;
  /** Registering 10,000 versions of one model, 4 uploads at a time. */
  registerVersions: { count: number; seconds: number; latency: LatencySummary };
  /** `GET /api/v1/models/{m}` with its 10,000 versions. */
  readModel: LatencySummary & { bytes: number };
}

const MODELS = 1000;
const VERSIONS = 10_000;
const VERSION_UPLOADERS = 4;
const READS = 30;

/** A distinct small ONNX file (y = x · W, 4 → 2) for each `seed`. */
function tinyModel(seed: number): Uint8Array {
  // Exact in FP32 and different for every seed below 2^21.
  const weights = Float32Array.from({ length: 8 }, (_, i) => (seed * 8 + i) / 2 ** 24);
  return new OnnxGraphBuilder({ producerName: 'galen-bench-scale' })
    .addInput('x', 'FP32', ['batch', 4])
    .addFloatInitializer('w', [4, 2], weights)
    .addNode({ opType: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] })
    .addOutput('y', 'FP32', ['batch', 2])
    .toBytes();
}

async function upload(galen: GalenServer, model: string, seed: number): Promise<number> {
  const started = performance.now();
  const response = await galen.call('POST', `/api/v1/models/${model}/versions`, {
    bytes: tinyModel(seed),
    headers: { 'content-type': 'application/octet-stream' },
  });
  expectStatus(response, 201, `registering ${model} (seed ${seed})`);
  return performance.now() - started;
}

async function timedReads(
  galen: GalenServer,
  path: string,
): Promise<{ latency: LatencySummary; bytes: number }> {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < READS; i++) {
    const started = performance.now();
    const response = expectStatus(await galen.call('GET', path), 200, `GET ${path}`);
    times.push(performance.now() - started);
    bytes = response.bytes.length;
  }
  return { latency: summarize(times), bytes };
}

export async function measureRegistry(
  galen: GalenServer,
  log: (m: string) => void,
): Promise<Omit<RegistryFigures, 'store'>> {
  const modelTimes: number[] = [];
  let started = performance.now();
  for (let i = 0; i < MODELS; i++) {
    modelTimes.push(await upload(galen, `scale-${String(i).padStart(4, '0')}`, i));
    if ((i + 1) % 250 === 0) log(`  ${i + 1} models registered`);
  }
  const registerModels = {
    count: MODELS,
    seconds: (performance.now() - started) / 1000,
    latency: summarize(modelTimes),
  };
  const listModels = (await timedReads(galen, '/api/v1/models')).latency;

  const versionTimes: number[] = [];
  let next = 0;
  started = performance.now();
  await Promise.all(
    Array.from({ length: VERSION_UPLOADERS }, async () => {
      while (next < VERSIONS) {
        const seed = MODELS + next++;
        versionTimes.push(await upload(galen, 'scale-versions', seed));
        if (versionTimes.length % 2500 === 0) log(`  ${versionTimes.length} versions registered`);
      }
    }),
  );
  const registerVersions = {
    count: VERSIONS,
    seconds: (performance.now() - started) / 1000,
    latency: summarize(versionTimes),
  };
  const read = await timedReads(galen, '/api/v1/models/scale-versions');
  return { registerModels, listModels, registerVersions, readModel: { ...read.latency, bytes: read.bytes } };
}
