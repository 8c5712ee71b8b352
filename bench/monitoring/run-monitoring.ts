/**
 * `npm run bench:monitoring`: what recording every prediction for monitoring costs on the hot
 * path. One process, one model (the WDBC MLP fixture), Galen's inference path called directly;
 * rounds alternate the model's sample rate between 0 (the ceiling: nothing recorded) and 1
 * (every prediction recorded and written to SQLite), sequentially and with 16 calls in flight.
 * Prints the results and replaces the monitoring section of docs/benchmarks.md.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as prettier from 'prettier';
import { createGalen } from '../../src/app/index.js';
import { loadConfig } from '../../src/config/index.js';
import type { Actor, Tensor } from '../../src/core/index.js';
import { createLogger } from '../../src/observability/index.js';
import { describeMachine } from '../machine.js';
import { repoPath } from '../paths.js';
import { wdbcRows } from '../payloads.js';
import { withSection } from '../train/doc-section.js';
import { MONITORING_HEADING } from './monitoring-heading.js';

const ACTOR: Actor = { keyId: 'bench', role: 'admin' };
const MODEL = 'wdbc-mlp';
const ROUND_S = Number(process.env['BENCH_ROUND_S'] ?? 5);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
/** Recording every prediction should leave at least half of the in-process throughput. */
const TARGET = 0.5;
const log = (message: string): void => void process.stderr.write(`${message}\n`);

interface Round {
  concurrency: number;
  rate: 0 | 1;
  perSecond: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'galen-bench-monitoring-'));
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir: dir,
      logLevel: 'silent',
      monitoring: {
        sampleRate: 1,
        window: 'P1D',
        evaluateSeconds: 0,
        retentionDays: 90,
        allowPrivateWebhooks: false,
      },
    },
  });
  const galen = await createGalen(config, createLogger('silent'));
  const rounds: Round[] = [];
  let recorded = 0;
  let stored = 0;
  let dropped = 0;
  try {
    const bytes = await readFile(repoPath('test', 'fixtures', 'pytorch', 'wdbc_mlp.onnx'));
    const version = await galen.registry.registerVersion(
      { model: MODEL, file: bytes, description: 'bench' },
      ACTOR,
    );
    const input = version.signature.inputs[0]!;
    const rows = wdbcRows();
    const requests = Array.from({ length: 64 }, (_, i): Tensor[] => [
      {
        name: input.name,
        datatype: 'FP32',
        shape: [1, 30],
        data: Float32Array.from(rows[(i * 9) % rows.length]!),
      },
    ]);
    let n = 0;
    const call = () =>
      galen.inference.infer({
        model: MODEL,
        id: `req-${n}`,
        inputs: requests[n++ % requests.length]!,
        protocol: 'bench',
      });
    for (let i = 0; i < 500; i++) await call(); // warm up
    for (let round = 0; round < ROUNDS; round++) {
      for (const concurrency of [1, 16]) {
        for (const rate of [0, 1] as const) {
          await galen.monitoring.configure(MODEL, { sampleRate: rate }, ACTOR);
          await galen.monitoring.flush();
          let done = 0;
          const until = performance.now() + ROUND_S * 1000;
          const start = performance.now();
          await Promise.all(
            Array.from({ length: concurrency }, async () => {
              while (performance.now() < until) {
                await call();
                done++;
              }
            }),
          );
          await galen.monitoring.flush(); // the writes belong to the round that made them
          const perSecond = done / ((performance.now() - start) / 1000);
          rounds.push({ concurrency, rate, perSecond });
          if (rate === 1) recorded += done;
          log(
            `round ${round + 1}, ${concurrency} in flight, rate ${rate}: ${perSecond.toFixed(0)} inferences/s`,
          );
        }
      }
    }
    const metrics = await galen.metrics.render();
    const count = (outcome: string): number =>
      Number(
        new RegExp(`galen_monitoring_rows_total\\{model="${MODEL}",outcome="${outcome}"\\} (\\d+)`).exec(
          metrics,
        )?.[1] ?? 0,
      );
    stored = count('recorded');
    dropped = count('dropped');
  } finally {
    await galen.close();
    await rm(dir, { recursive: true, force: true });
  }

  const machine = describeMachine();
  const lines = [
    MONITORING_HEADING,
    '',
    `Run ${new Date().toISOString().slice(0, 10)} on ${machine.cpuModel} (${machine.cores} cores), Node ${machine.node}. ` +
      `The WDBC MLP fixture called through Galen's inference path in one process; ${ROUNDS} alternating rounds of ${ROUND_S} s per setting, medians shown. ` +
      `At rate 1 every prediction is recorded (its 30 inputs, its output, the SHA-256 of its request id) and written to SQLite in batches; rate 0 records nothing and is the ceiling. ` +
      `${recorded.toLocaleString('en-US')} predictions were made at rate 1; ${stored.toLocaleString('en-US')} rows were written and ${dropped.toLocaleString('en-US')} dropped (the write queue holds 20,000 rows).`,
    '',
    '| in flight | rate 0 (inferences/s) | rate 1 (inferences/s) | recording cost per prediction | rate 1 / rate 0 | target |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const concurrency of [1, 16]) {
    const off = median(
      rounds.filter((r) => r.concurrency === concurrency && r.rate === 0).map((r) => r.perSecond),
    );
    const on = median(
      rounds.filter((r) => r.concurrency === concurrency && r.rate === 1).map((r) => r.perSecond),
    );
    const ratio = on / off;
    lines.push(
      `| ${concurrency} | ${off.toFixed(0)} | ${on.toFixed(0)} | ${(1e6 / on - 1e6 / off).toFixed(1)} µs | ${ratio.toFixed(3)} | ≥ ${TARGET}: ${ratio >= TARGET ? 'met' : '**missed**'} |`,
    );
  }
  lines.push(
    '',
    'The SQLite work (the batch insert, and one upsert per request id into the index labels are joined through) runs on a ' +
      'thread of its own with its own connection; what is left on the main thread is queueing, encoding the columns, hashing ' +
      'the id and garbage collection. It is paid ' +
      "between requests, not inside a request's latency. Against a request over HTTP (about 170 µs of server " +
      'time for this model in the serving benchmark above) it is under a tenth. With the writes on the main thread (before ' +
      'this change) the cost was ~35 µs and the ratios 0.38 and 0.33, falling as the tables grew. `monitoring.sampleRate` ' +
      'trades the rest away (at 0.1 the cost is a tenth).',
  );
  const section = lines.join('\n');
  log(section);
  const file = repoPath('docs', 'benchmarks.md');
  const text = await readFile(file, 'utf8').catch(() => '# Benchmarks\n');
  const config2 = (await prettier.resolveConfig(file)) ?? {};
  await writeFile(
    file,
    await prettier.format(withSection(text, section, MONITORING_HEADING), { ...config2, filepath: file }),
  );
  log(`wrote ${file}`);
}

main().catch((err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
