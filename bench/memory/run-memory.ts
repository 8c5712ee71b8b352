/**
 * `npm run bench:memory`: what a few very large requests leave in the server's memory, and what
 * the memory settings cost small requests. For each configuration it starts the built server
 * (`galen serve`), registers the WDBC MLP fixture as `MEMORY_MODELS` models (default 3), measures a short closed-loop run
 * of one-row requests, then sends per model two OIP binary inferences of `MEMORY_ROWS` rows
 * (default 200,000: 24 MB) and one OIP JSON inference of half as many, and two ~60 MB JSON bodies
 * that are refused after parsing; then waits, and measures the small requests again.
 *
 * Configurations (`MEMORY_CONFIGS`, default `off,on`): `off` / `on` set runtime.cpuMemArena
 * (ONNX Runtime's CPU arena); a `+malloc2` suffix also starts the server with
 * `MALLOC_ARENA_MAX=2` (glibc). Each prints the server's RSS at start, after the small requests,
 * after the large ones and at the end: as it is, and after full garbage collections forced through
 * the server's inspector (V8 leaves an idle server's garbage, here the parsed bodies, uncollected;
 * what remains after collecting is native memory held), with its JavaScript heap and external
 * memory from its own metrics; and the small requests' rate, latency and server CPU.
 * Not a test: RSS depends on the allocator and the throughput on what else the machine runs; compare
 * configurations of one run. `MEMORY_OUT=<file>` also writes the figures as JSON.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runChild } from '../child-process.js';
import { cpuBetween, sampleCpu } from '../cpu-usage.js';
import type { CpuSample } from '../cpu-usage.js';
import { expectStatus, freePort, startGalen } from '../galen-server.js';
import type { GalenServer } from '../galen-server.js';
import type { HttpLoadSpec } from '../load-http.js';
import type { LoadResult } from '../load-result.js';
import { describeMachine } from '../machine.js';
import { repoPath } from '../paths.js';
import { envNumber } from '../options.js';
import { rssOf } from '../process-rss.js';
import { oipBinaryRequest, oipJsonRequest, stackRows, wdbcRows } from '../payloads.js';
import type { HttpRequestSpec } from '../payloads.js';
import { collectGarbage } from './inspector-gc.js';

const log = (line: string): void => console.log(line);

const OPTIONS = {
  configs: (process.env.MEMORY_CONFIGS ?? 'off,on').split(',').map((c) => c.trim()),
  rows: envNumber('MEMORY_ROWS', 200_000, { integer: true }),
  loadS: envNumber('MEMORY_LOAD_S', 6, { integer: true }),
  settleS: envNumber('MEMORY_SETTLE_S', 5, { integer: true }),
  connections: envNumber('MEMORY_CONNECTIONS', 8, { integer: true }),
  models: envNumber('MEMORY_MODELS', 3, { integer: true }),
};
/** The same fixture under several names: each is a separate session (and arena) in every worker. */
const MODELS = Array.from({ length: OPTIONS.models }, (_, i) => `wdbc-${i + 1}`);

interface Config {
  readonly name: string;
  readonly env: Record<string, string>;
}

function parseConfig(name: string): Config {
  const [arena, ...extras] = name.split('+');
  if (arena !== 'on' && arena !== 'off') throw new Error(`configuration "${name}": start with on or off`);
  const env: Record<string, string> = { GALEN_RUNTIME_CPU_MEM_ARENA: String(arena === 'on') };
  for (const extra of extras) {
    if (extra !== 'malloc2') throw new Error(`configuration "${name}": unknown suffix "${extra}" (malloc2)`);
    env.MALLOC_ARENA_MAX = '2';
  }
  return { name, env };
}

interface MemorySample {
  /** Resident set size as it is. */
  readonly rss: number;
  /** Resident set size after full garbage collections: native memory plus the live heap. */
  readonly rssAfterGc: number;
  /** V8 heap in use (live and not yet collected), main thread. */
  readonly heapUsed: number;
  /** Memory of Buffers and typed arrays the main thread's objects hold. */
  readonly external: number;
}

/**
 * The server's RSS as it is and after collecting its garbage, and its JavaScript heap and
 * external memory after collecting (from its Prometheus metrics).
 */
async function sampleMemory(galen: GalenServer, inspectorPort: number): Promise<MemorySample> {
  const rss = rssOf(galen.pid);
  await collectGarbage(inspectorPort);
  const metrics = expectStatus(await galen.call('GET', '/metrics'), 200, 'reading /metrics').text;
  const gauge = (suffix: string): number => {
    const match = new RegExp(`^\\w*${suffix} (\\S+)$`, 'm').exec(metrics);
    return match ? Number(match[1]) : Number.NaN;
  };
  return {
    rss,
    rssAfterGc: rssOf(galen.pid),
    heapUsed: gauge('nodejs_heap_size_used_bytes'),
    external: gauge('nodejs_external_memory_bytes'),
  };
}

interface SmallLoad {
  readonly requestsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly serverCores: number | null;
  /** Requests per second of server CPU: the throughput figure least moved by other load. */
  readonly perServerCpuS: number | null;
}

async function smallLoad(galen: GalenServer, request: HttpRequestSpec): Promise<SmallLoad> {
  let before: CpuSample | undefined;
  let after: CpuSample | undefined;
  const result = await runChild<HttpLoadSpec, LoadResult>(
    'load-http',
    {
      origin: galen.origin,
      apiKey: galen.apiKey,
      requests: [request],
      connections: OPTIONS.connections,
      durationS: OPTIONS.loadS,
      warmupS: 1,
    },
    {
      before: () => void (before = sampleCpu(galen.pid)),
      after: () => void (after = sampleCpu(galen.pid)),
    },
    (OPTIONS.loadS + 60) * 1000,
  );
  const cores = before && after ? cpuBetween(before, after).serverCores : null;
  return {
    requestsPerS: result.requestsPerS,
    p50Ms: result.latency.p50Ms,
    p99Ms: result.latency.p99Ms,
    errors: result.errors,
    serverCores: cores,
    perServerCpuS: cores ? result.requestsPerS / cores : null,
  };
}

/** The large requests: per model two binary and one JSON inference, then two refused JSON bodies. */
async function largeRequests(galen: GalenServer, rows: readonly number[][]): Promise<void> {
  const batch = (n: number): number[][] => Array.from({ length: n }, (_, i) => rows[i % rows.length]!);
  const binary = oipBinaryRequest(MODELS[0]!, stackRows('features', [30], batch(OPTIONS.rows)));
  const json = oipJsonRequest(MODELS[0]!, stackRows('features', [30], batch(OPTIONS.rows / 2)));
  for (const model of MODELS) {
    const path = `/v2/models/${model}/infer`;
    for (const request of [binary, binary, json]) {
      expectStatus(
        await galen.call('POST', path, { bytes: request.body, headers: request.headers }),
        200,
        `a large inference on ${model}`,
      );
    }
  }
  // ~60 MB (under the 64 MiB body limit) whose shape says one row: parsed whole, then refused.
  const values = batch(250_000).flat();
  const refused = Buffer.from(
    JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 30], data: values }] }),
  );
  for (let i = 0; i < 2; i++) {
    expectStatus(
      await galen.call('POST', `/v2/models/${MODELS[0]!}/infer`, {
        bytes: refused,
        headers: { 'content-type': 'application/json' },
      }),
      400,
      'a large body with the wrong shape',
    );
  }
}

const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);
const show = (s: MemorySample): string =>
  `${mb(s.rss)} → ${mb(s.rssAfterGc)} (heap ${mb(s.heapUsed)}, ext ${mb(s.external)})`;
const showLoad = (l: SmallLoad): string =>
  `${l.requestsPerS.toFixed(0)}/s p50 ${l.p50Ms.toFixed(1)} ms p99 ${l.p99Ms.toFixed(1)} ms, server ${l.serverCores?.toFixed(2) ?? '?'} cores → ${l.perServerCpuS?.toFixed(0) ?? '?'}/CPU-s${l.errors ? `, ${l.errors} errors` : ''}`;

async function measure(config: Config, rows: readonly number[][]): Promise<unknown> {
  const dataDir = mkdtempSync(join(tmpdir(), 'galen-memory-'));
  const inspectorPort = await freePort();
  const galen = await startGalen(dataDir, `gk_memory_${randomBytes(16).toString('hex')}`, {
    ...config.env,
    NODE_OPTIONS: `--inspect=127.0.0.1:${inspectorPort}`,
  });
  const sample = (): Promise<MemorySample> => sampleMemory(galen, inspectorPort);
  try {
    const bytes = readFileSync(repoPath('test', 'fixtures', 'pytorch', 'wdbc_mlp.onnx'));
    for (const model of MODELS) {
      expectStatus(
        await galen.call('POST', `/api/v1/models/${model}/versions`, {
          bytes,
          headers: { 'content-type': 'application/octet-stream' },
        }),
        201,
        `registering ${model}`,
      );
    }
    const small = oipJsonRequest(MODELS[0]!, stackRows('features', [30], [rows[0]!]));
    const start = await sample();
    const loadBefore = await smallLoad(galen, small);
    const afterSmall = await sample();
    await largeRequests(galen, rows);
    const afterLarge = await sample();
    await new Promise((resolve) => setTimeout(resolve, OPTIONS.settleS * 1000));
    const loadAfter = await smallLoad(galen, small);
    const end = await sample();
    log(
      `${config.name.padEnd(12)} RSS MB (as is → after GC): start ${show(start)}, after small ${show(afterSmall)}`,
    );
    log(`${''.padEnd(12)}                              after large ${show(afterLarge)}, end ${show(end)}`);
    log(`${''.padEnd(12)} small requests before: ${showLoad(loadBefore)}`);
    log(`${''.padEnd(12)} small requests after:  ${showLoad(loadAfter)}`);
    return { config, start, afterSmall, afterLarge, end, loadBefore, loadAfter };
  } finally {
    await galen.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const configs = OPTIONS.configs.map(parseConfig);
  const machine = describeMachine();
  log(
    `memory: ${configs.map((c) => c.name).join(', ')}; large runs of ${OPTIONS.rows} rows; ${machine.cpuModel} (${machine.cores} cores), Node ${machine.node}`,
  );
  const rows = wdbcRows();
  const results = [];
  for (const config of configs) results.push(await measure(config, rows));
  const out = process.env.MEMORY_OUT;
  if (out)
    writeFileSync(
      out,
      JSON.stringify({ date: new Date().toISOString(), options: OPTIONS, results }, null, 2),
    );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
