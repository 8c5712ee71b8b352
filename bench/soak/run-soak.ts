/**
 * `npm run bench:soak`: memory under sustained load. Starts the built server (`galen serve`) with
 * monitoring and audit at their defaults, except that monitoring is evaluated every
 * `SOAK_EVALUATE_S` seconds (default 10, so a run holds many evaluations); registers the WDBC MLP
 * fixture with a reference from the WDBC rows (so every evaluation computes drift of 30 inputs);
 * finds the maximum throughput, then holds `SOAK_SHARE` of it (default 0.5) for a warm-up and
 * `SOAK_MINUTES` (default 10). The server's RSS is sampled every `SOAK_SAMPLE_S` seconds.
 *
 * Prints RSS at the start of the measured part (after `SOAK_WARMUP_S`, default 120 s of warm-up),
 * its peak and end, requests, errors, CPU and database growth, and PASS only when there were no
 * errors and the median RSS of the last minute is at most `SOAK_MAX_GROWTH` (default 0.10) above
 * the median of the first minute. Not a test: it takes minutes, and on a shared
 * machine its throughput figures are indicative only. `SOAK_OUT=<file>` also writes the figures
 * as JSON.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runChild } from '../child-process.js';
import { cpuBetween, sampleCpu } from '../cpu-usage.js';
import type { CpuSample } from '../cpu-usage.js';
import { expectStatus, startGalen } from '../galen-server.js';
import { describeMachine } from '../machine.js';
import { repoPath } from '../paths.js';
import { envNumber } from '../options.js';
import { rssOf } from '../process-rss.js';
import { wdbcRows } from '../payloads.js';
import type { SoakLoadResult, SoakLoadSpec } from './soak-load.js';

const MODEL = 'wdbc-mlp';
const log = (line: string): void => console.log(line);

const OPTIONS = {
  minutes: envNumber('SOAK_MINUTES', 10),
  warmupS: envNumber('SOAK_WARMUP_S', 120),
  calibrateS: envNumber('SOAK_CALIBRATE_S', 15),
  evaluateS: envNumber('SOAK_EVALUATE_S', 10),
  share: envNumber('SOAK_SHARE', 0.5),
  connections: envNumber('SOAK_CONNECTIONS', 16),
  sampleS: envNumber('SOAK_SAMPLE_S', 5),
  maxGrowth: envNumber('SOAK_MAX_GROWTH', 0.1),
};

/** Bytes of the database with its WAL and shared-memory files. */
function databaseBytes(dataDir: string): number {
  let total = 0;
  for (const name of readdirSync(dataDir))
    if (name.startsWith('galen.db')) total += statSync(join(dataDir, name)).size;
  return total;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MB`;

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'galen-soak-'));
  const apiKey = `gk_soak_${randomBytes(16).toString('hex')}`;
  const galen = await startGalen(dataDir, apiKey, {
    GALEN_MONITORING_EVALUATE_SECONDS: String(OPTIONS.evaluateS),
  });
  const samples: { at: number; rss: number }[] = [];
  let sampler: NodeJS.Timeout | undefined;
  try {
    const bytes = readFileSync(repoPath('test', 'fixtures', 'pytorch', 'wdbc_mlp.onnx'));
    expectStatus(
      await galen.call('POST', `/api/v1/models/${MODEL}/versions`, {
        bytes,
        headers: { 'content-type': 'application/octet-stream' },
      }),
      201,
      'registering the model',
    );
    const rows = wdbcRows();
    const reference = {
      inputs: [{ name: 'features', datatype: 'FP32', shape: [rows.length, 30], data: rows.flat() }],
      description: 'the WDBC rows (soak benchmark)',
    };
    expectStatus(
      await galen.call('PUT', `/api/v1/models/${MODEL}/versions/1/monitoring/reference`, {
        bytes: Buffer.from(JSON.stringify(reference)),
        headers: { 'content-type': 'application/json' },
      }),
      200,
      'setting the monitoring reference',
    );
    const inputs = rows
      .slice(0, 64)
      .map((r) => JSON.stringify([{ name: 'features', datatype: 'FP32', shape: [1, 30], data: r }]));

    const startedAt = performance.now();
    sampler = setInterval(() => {
      const rss = rssOf(galen.pid);
      samples.push({ at: (performance.now() - startedAt) / 1000, rss });
      if (samples.length % Math.max(1, Math.round(60 / OPTIONS.sampleS)) === 0)
        log(`  ${samples.at(-1)!.at.toFixed(0)} s: RSS ${mb(rss)}, database ${mb(databaseBytes(dataDir))}`);
    }, OPTIONS.sampleS * 1000);

    let start: { rss: number; db: number; cpu: CpuSample; sample: number } | undefined;
    let end: { rss: number; db: number; cpu: CpuSample } | undefined;
    const durationS = Math.round(OPTIONS.minutes * 60);
    log(
      `soak: ${OPTIONS.calibrateS} s to find the maximum, ${OPTIONS.warmupS} s of warm-up, then ${durationS} s at ${OPTIONS.share} of it; monitoring evaluated every ${OPTIONS.evaluateS} s`,
    );
    const result = await runChild<SoakLoadSpec, SoakLoadResult>(
      'soak/soak-load',
      {
        origin: galen.origin,
        apiKey,
        path: `/v2/models/${MODEL}/infer`,
        inputs,
        connections: OPTIONS.connections,
        calibrateS: OPTIONS.calibrateS,
        warmupS: OPTIONS.warmupS,
        durationS,
        share: OPTIONS.share,
      },
      {
        before() {
          start = {
            rss: rssOf(galen.pid),
            db: databaseBytes(dataDir),
            cpu: sampleCpu(galen.pid),
            sample: samples.length,
          };
          log(`measured part starts: RSS ${mb(start.rss)}, database ${mb(start.db)}`);
        },
        after() {
          end = { rss: rssOf(galen.pid), db: databaseBytes(dataDir), cpu: sampleCpu(galen.pid) };
        },
      },
      (OPTIONS.calibrateS + OPTIONS.warmupS + durationS + 300) * 1000,
    );
    clearInterval(sampler);
    if (!start || !end) throw new Error('the load generator never reported its measured part');
    const measured = samples.slice(start.sample).map((s) => s.rss);
    const peak = Math.max(start.rss, end.rss, ...measured);
    // A garbage-collected heap swings by tens of MB between collections: growth compares the
    // median of the first and of the last minute of the measured part, not two single samples.
    const perMinute = Math.max(1, Math.round(60 / OPTIONS.sampleS));
    const startMedian = median([start.rss, ...measured.slice(0, perMinute)]);
    const endMedian = median([...measured.slice(-perMinute), end.rss]);
    const growth = (endMedian - startMedian) / startMedian;
    const cpu = cpuBetween(start.cpu, end.cpu);
    const requests = result.ok + result.errors;
    const dbGrowth = end.db - start.db;
    const pass = growth <= OPTIONS.maxGrowth && result.errors === 0;
    const machine = describeMachine();
    const figures = {
      date: new Date().toISOString(),
      machine: `${machine.cpuModel} (${machine.cores} cores), Node ${machine.node}`,
      options: OPTIONS,
      maxPerS: result.maxPerS,
      targetPerS: result.targetPerS,
      achievedPerS: result.ok / result.durationS,
      requests,
      errors: result.errors,
      firstError: result.firstError,
      rss: { start: start.rss, peak, end: end.rss, startMedian, endMedian, growth },
      cpu: {
        serverCores: cpu.serverCores,
        serverMainThreadCores: cpu.serverMainThreadCores,
        machine: cpu.machineCores,
        client: result.clientCores,
      },
      database: {
        start: start.db,
        end: end.db,
        growth: dbGrowth,
        bytesPerRequest: dbGrowth / Math.max(1, result.ok),
      },
      samples,
      pass,
    };
    log('');
    log(`machine: ${figures.machine} (shared: throughput figures are indicative)`);
    log(
      `load: maximum ${result.maxPerS.toFixed(0)}/s, held ${result.targetPerS}/s, achieved ${figures.achievedPerS.toFixed(0)}/s over ${result.durationS.toFixed(0)} s`,
    );
    log(
      `requests: ${requests.toLocaleString('en-US')}, errors: ${result.errors}${result.firstError ? ` (first: ${result.firstError})` : ''}`,
    );
    log(
      `RSS: start ${mb(start.rss)} (after ${OPTIONS.warmupS} s warm-up), peak ${mb(peak)}, end ${mb(end.rss)}; median of the first minute ${mb(startMedian)}, of the last ${mb(endMedian)}: growth ${(growth * 100).toFixed(1)}%`,
    );
    log(
      `CPU: server ${cpu.serverCores?.toFixed(2) ?? '–'} cores (main thread ${cpu.serverMainThreadCores?.toFixed(2) ?? '–'}), machine ${cpu.machineCores.toFixed(2)}, load generator ${result.clientCores.toFixed(2)}`,
    );
    log(
      `database: ${mb(start.db)} → ${mb(end.db)} (+${mb(dbGrowth)}, ${figures.database.bytesPerRequest.toFixed(0)} bytes per request)`,
    );
    log(
      `${pass ? 'PASS' : 'FAIL'}: RSS growth after warm-up ${(growth * 100).toFixed(1)}% (limit ${(OPTIONS.maxGrowth * 100).toFixed(0)}%), ${result.errors} errors`,
    );
    const out = process.env['SOAK_OUT'];
    if (out) writeFileSync(out, `${JSON.stringify(figures, null, 2)}\n`);
    process.exitCode = pass ? 0 : 1;
  } finally {
    if (sampler) clearInterval(sampler);
    await galen.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
