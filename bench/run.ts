/**
 * `npm run bench`: measures Galen's serving against ceilings measured in the same run and writes
 * docs/benchmarks.md and docs/benchmarks.json. Starts the built server as a child process with a
 * fresh data folder, registers the tabular MLP and the CNN, checks each protocol once, then runs
 * every scenario with a load generator in its own process (see scenarios.ts for the list).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as prettier from 'prettier';
import { loadConfig } from '../src/config/index.js';
import { runChild, startChildServer } from './child-process.js';
import type { ChildServer } from './child-process.js';
import { buildCnnModel, cnnImages, CNN_IMAGE_SHAPE } from './cnn-model.js';
import type { EchoConfig, EchoInfo, EchoReplies } from './echo-server.js';
import { cores, ms, rate } from './format.js';
import { expectStatus, startGalen } from './galen-server.js';
import type { GalenServer } from './galen-server.js';
import { describeMachine } from './machine.js';
import { parseOptions } from './options.js';
import type { BenchOptions } from './options.js';
import type { OrtLoopResult, OrtLoopSpec } from './ort-loop.js';
import { repoPath } from './paths.js';
import { wdbcRows } from './payloads.js';
import { renderMarkdown } from './report.js';
import { judgeTargets, observe } from './results.js';
import type { BenchResults, Protocol } from './results.js';
import { CNN_PROTOCOL, probe, runCnn, runOverhead, runTabular, TABULAR_PROTOCOLS } from './scenarios.js';
import type { BenchContext, ModelUnderTest } from './scenarios.js';
import { DEEP_HEADING } from './deep/deep-heading.js';
import { DECISIONS_HEADING } from './decisions/decisions-heading.js';
import { MONITORING_HEADING } from './monitoring/monitoring-heading.js';
import { SCALE_HEADING } from './scale/scale-report.js';
import { TRAINING_HEADING, sectionOf } from './train/doc-section.js';

const log = (line: string): void => console.log(line);
const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

const TABULAR_MODEL = 'wdbc-mlp';
const CNN_UNBATCHED = 'cnn-unbatched';
const CNN_BATCHED = 'cnn-batched';
/** Distinct rows (and images) the requests cycle through. */
const TABULAR_ROWS = 64;
const CNN_IMAGES = 16;

/** Registers `bytes` as version 1 of `model` and answers its input's name and shape from OIP metadata. */
async function register(
  galen: GalenServer,
  model: string,
  bytes: Uint8Array,
  serving: Record<string, unknown>,
): Promise<{ input: string; shape: number[]; effective: unknown }> {
  const path = `/api/v1/models/${model}`;
  expectStatus(
    await galen.call('POST', `${path}/versions`, {
      bytes,
      headers: { 'content-type': 'application/octet-stream' },
    }),
    201,
    `registering ${model}`,
  );
  const put = expectStatus(
    await galen.call('PUT', `${path}/serving`, {
      bytes: Buffer.from(JSON.stringify(serving)),
      headers: { 'content-type': 'application/json' },
    }),
    200,
    `serving settings of ${model}`,
  );
  const meta = expectStatus(
    await galen.call('GET', `/v2/models/${model}`),
    200,
    `metadata of ${model}`,
  ).json() as {
    inputs?: { name?: unknown; shape?: unknown }[];
  };
  const input = meta.inputs?.[0];
  if (typeof input?.name !== 'string' || !Array.isArray(input.shape)) {
    throw new Error(`metadata of ${model} names no input: ${JSON.stringify(meta)}`);
  }
  return {
    input: input.name,
    shape: input.shape as number[],
    effective: (put.json() as { effective?: unknown }).effective,
  };
}

/** The raw ONNX Runtime loop for one model at batch 1 and 32, logged as it finishes. */
async function ortCeiling(
  options: BenchOptions,
  spec: OrtLoopSpec['models'][number],
): Promise<OrtLoopResult[]> {
  const timeoutMs = ((options.durationS + Math.max(options.warmupS, 0.2)) * 2 * 3 + 60) * 1000;
  const results = await runChild<OrtLoopSpec, OrtLoopResult[]>(
    'ort-loop',
    { models: [spec], batches: [1, 32], durationS: options.durationS, warmupS: options.warmupS },
    {},
    timeoutMs,
  );
  for (const r of results) {
    log(
      `${`ort/${r.model}/b${r.batch}`.padEnd(30)} ${rate(r.rowsPerS).padStart(7)} inferences/s | ` +
        `${rate(r.runsPerS)} runs/s | p50 ${ms(r.latency.p50Ms)} ms per run | cores ${cores(r.cores)}, ` +
        `other ${cores(r.otherCores)}`,
    );
  }
  return results;
}

/** Checks each protocol once against `model`; the map holds why a protocol cannot be used (null: usable). */
async function probeAll(
  galen: GalenServer,
  model: ModelUnderTest,
  protocols: readonly Protocol[],
): Promise<{ errors: Map<Protocol, string | null>; replies: EchoReplies }> {
  const errors = new Map<Protocol, string | null>();
  let replies: EchoReplies = {};
  for (const protocol of protocols) {
    try {
      replies = { ...replies, ...(await probe(galen, model, protocol)) };
      errors.set(protocol, null);
    } catch (err) {
      errors.set(protocol, `Galen did not answer ${protocol}: ${errorText(err)}`);
      log(`${model.name} over ${protocol}: not available: ${errorText(err)}`);
    }
  }
  return { errors, replies };
}

/**
 * The "Analysis" a person wrote under the previous report, kept across runs (it names the run it
 * was written for, so a newer run shows when it needs rewriting).
 */
function previousAnalysis(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const at = text.indexOf('\n## Analysis\n');
  if (at < 0) return undefined;
  const analysis = text.slice(at + '\n## Analysis\n'.length).trim();
  return analysis.startsWith('_To be written') ? undefined : analysis;
}

/** The sections `npm run bench:train`, `bench:deep` and the others wrote into the previous report, kept across serving runs. */
function previousTraining(file: string): string | undefined {
  try {
    const text = readFileSync(file, 'utf8');
    const kept = [
      sectionOf(text, TRAINING_HEADING),
      sectionOf(text, DEEP_HEADING),
      sectionOf(text, MONITORING_HEADING),
      sectionOf(text, DECISIONS_HEADING),
      sectionOf(text, SCALE_HEADING),
    ].filter((s) => s !== undefined);
    return kept.length === 0 ? undefined : kept.join('\n\n');
  } catch {
    return undefined;
  }
}

async function writeOutputs(results: BenchResults, outDir: string): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const write = async (name: string, text: string): Promise<void> => {
    const file = resolve(outDir, name);
    const config = (await prettier.resolveConfig(file)) ?? {};
    writeFileSync(file, await prettier.format(text, { ...config, filepath: file }));
    log(`wrote ${file}`);
  };
  await write('benchmarks.json', JSON.stringify(results));
  const previous = resolve(outDir, 'benchmarks.md');
  await write(
    'benchmarks.md',
    renderMarkdown(results, previousAnalysis(previous), previousTraining(previous)),
  );
}

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (err) {
    console.error(errorText(err));
    process.exit(2);
  }
  const wants = (group: string): boolean => options.groups.includes(group as never);
  const machine = describeMachine();
  log(
    `Galen benchmark on ${machine.cpuModel} (${machine.cores} cores, ${machine.memoryGiB} GiB), Node ${machine.node}, ` +
      `ONNX Runtime ${machine.onnxRuntime}; ${options.durationS} s per scenario after ${options.warmupS} s warm-up; ` +
      `load average ${machine.loadAverageAtStart.toFixed(2)}`,
  );
  const tabularBytes = new Uint8Array(readFileSync(repoPath('test', 'fixtures', 'pytorch', 'wdbc_mlp.onnx')));
  const cnnBytes = buildCnnModel();
  const rows = wdbcRows();
  const tabularRows = Array.from({ length: TABULAR_ROWS }, (_, i) => rows[(i * 9) % rows.length]!);
  const images = cnnImages(CNN_IMAGES);

  const dataDir = mkdtempSync(join(tmpdir(), 'galen-bench-'));
  const apiKey = `bench-admin-${randomBytes(16).toString('hex')}`;
  let galen: GalenServer | undefined;
  let echo: ChildServer<EchoInfo> | undefined;
  const cleanUp = async (): Promise<void> => {
    await Promise.all([galen?.stop(), echo?.stop()]);
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    void cleanUp().finally(() => process.exit(130));
  });

  const results: BenchResults = {
    schema: 1,
    date: new Date().toISOString(),
    machine,
    options: {
      durationS: options.durationS,
      warmupS: options.warmupS,
      overheadRequests: options.overheadRequests,
      groups: options.groups,
    },
    galen: { settings: {}, runtime: {}, serving: {}, models: {} },
    ortCeilings: [],
    scenarios: [],
    overhead: [],
    targets: [],
    notes: [],
    observations: [],
  };
  try {
    galen = await startGalen(dataDir, apiKey);
    // The key is secret, and the folder and ports change with every run.
    const {
      GALEN_ADMIN_KEY: _key,
      GALEN_DATA_DIR: _dir,
      GALEN_PORT: _port,
      GALEN_GRPC_PORT: _grpcPort,
      ...settings
    } = galen.settings;
    results.galen.settings = settings;
    // The runtime settings the child runs with: its own config loader over the same variables.
    results.galen.runtime = { ...loadConfig({ env: galen.settings }).runtime };
    const ctx: BenchContext = { options, galen, log };

    if (wants('tabular') || wants('overhead')) {
      const reg = await register(galen, TABULAR_MODEL, tabularBytes, {});
      results.galen.serving[TABULAR_MODEL] = reg.effective;
      results.galen.models[TABULAR_MODEL] = {
        description: 'test/fixtures/pytorch/wdbc_mlp.onnx, an MLP exported from PyTorch (30 → 16 → 8 → 2)',
        input: `${reg.input} ${JSON.stringify(reg.shape)}`,
        bytes: tabularBytes.length,
      };
      const model: ModelUnderTest = {
        name: TABULAR_MODEL,
        inputName: reg.input,
        rowShape: [30],
        rows: tabularRows,
      };
      const probes = await probeAll(galen, model, TABULAR_PROTOCOLS);
      if (wants('tabular')) {
        results.ortCeilings.push(
          ...(await ortCeiling(options, {
            label: 'tabular',
            bytes: tabularBytes,
            inputName: reg.input,
            rowShape: [30],
            rows: tabularRows.map((r) => Float32Array.from(r)),
          })),
        );
        echo = await startChildServer<EchoConfig, EchoInfo>('echo-server', {
          replies: { [TABULAR_MODEL]: probes.replies },
        });
        results.scenarios.push(...(await runTabular(ctx, model, echo, probes.errors)));
        await echo.stop();
        echo = undefined;
      }
      if (wants('overhead')) results.overhead.push(...(await runOverhead(ctx, model, probes.errors)));
    }

    if (wants('cnn')) {
      const unbatched = await register(galen, CNN_UNBATCHED, cnnBytes, { batching: false });
      const batched = await register(galen, CNN_BATCHED, cnnBytes, { batching: true });
      results.galen.serving[CNN_UNBATCHED] = unbatched.effective;
      results.galen.serving[CNN_BATCHED] = batched.effective;
      for (const name of [CNN_UNBATCHED, CNN_BATCHED]) {
        results.galen.models[name] = {
          description:
            'bench/cnn-model.ts: 4 × (Conv 3×3 + ReLU + MaxPool 2×2), 1→16→32→64→128 channels, global average ' +
            `pool, Gemm to 2 classes, Softmax (≈ 118 MFLOP per image); batching ${name === CNN_BATCHED ? 'on' : 'off'}`,
          input: `${batched.input} ${JSON.stringify(batched.shape)}`,
          bytes: cnnBytes.length,
        };
      }
      const model = (name: string): ModelUnderTest => ({
        name,
        inputName: batched.input,
        rowShape: [...CNN_IMAGE_SHAPE],
        rows: images,
      });
      const probeErrors = [
        (await probeAll(galen, model(CNN_UNBATCHED), [CNN_PROTOCOL])).errors.get(CNN_PROTOCOL),
        (await probeAll(galen, model(CNN_BATCHED), [CNN_PROTOCOL])).errors.get(CNN_PROTOCOL),
      ];
      results.ortCeilings.push(
        ...(await ortCeiling(options, {
          label: 'cnn',
          bytes: cnnBytes,
          inputName: batched.input,
          rowShape: [...CNN_IMAGE_SHAPE],
          rows: images,
        })),
      );
      const probeError = probeErrors.find((e) => e) ?? null;
      results.scenarios.push(
        ...(await runCnn(ctx, { unbatched: model(CNN_UNBATCHED), batched: model(CNN_BATCHED) }, probeError)),
      );
    }
  } finally {
    await cleanUp();
  }

  results.targets = judgeTargets(results);
  results.observations = observe(results);
  if (results.overhead.some((o) => o.result && o.result.withServerTiming === 0)) {
    results.notes.push(
      'The server sent no `Server-Timing` header with `total` and `compute` on OIP infer responses, so the ' +
        'server-side overhead could not be measured in this run.',
    );
  }
  log('');
  for (const o of results.observations) log(`observed: ${o}`);
  for (const t of results.targets)
    log(`target ${t.id}: ${t.met === null ? 'not judged' : t.met ? 'met' : 'MISSED'}: ${t.detail}`);
  await writeOutputs(results, options.outDir);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
