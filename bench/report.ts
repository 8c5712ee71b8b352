/**
 * Turns a run's results into docs/benchmarks.md (and the one-line console summaries): every
 * figure, its ratio to the ceiling measured in the same run, the targets, and how the CPU was
 * shared. The "Analysis" section is left for a person to write after the final run.
 */
import { bullet, cores, ms, rate, ratio, table, us, wrap } from './format.js';
import { PROTOCOL_NAMES } from './results.js';
import type { BenchResults, ScenarioResult } from './results.js';

/** One console line per scenario: the figure, and where the CPU went while it was measured. */
export function describeScenario(s: ScenarioResult): string {
  const head = s.id.padEnd(30);
  if (s.status !== 'ok' || !s.load) return `${head} ${s.status}: ${s.error ?? ''}`;
  const l = s.load;
  const unit = s.group === 'cnn' ? 'images/s' : 'req/s';
  const parts = [
    `${rate(l.requestsPerS * s.rowsPerRequest).padStart(7)} ${unit}`,
    `p50 ${ms(l.latency.p50Ms)} ms`,
    `p99 ${ms(l.latency.p99Ms)} ms`,
    `cores: server ${cores(s.cpu?.server)} (main thread ${cores(s.cpu?.serverMainThread)}), ` +
      `load gen ${cores(s.cpu?.client)}, other ${cores(s.cpu?.other)}`,
  ];
  if (s.galen?.meanBatchSize != null) parts.push(`mean batch ${s.galen.meanBatchSize.toFixed(1)}`);
  if (l.errors > 0) parts.push(`${l.errors} errors (first: ${l.firstError})`);
  return `${head} ${parts.join(' | ')}`;
}

const okRate = (s: ScenarioResult | undefined): number | undefined =>
  s?.status === 'ok' && s.load ? s.load.requestsPerS * s.rowsPerRequest : undefined;

const serverCores = (s: ScenarioResult): string =>
  s.cpu ? `${cores(s.cpu.server)} (${cores(s.cpu.serverMainThread)})` : '–';

const batch = (s: ScenarioResult): string =>
  s.galen?.meanBatchSize != null ? s.galen.meanBatchSize.toFixed(2) : '–';

function machineSection(r: BenchResults): string {
  const m = r.machine;
  return table(
    ['', ''],
    [
      ['CPU', `${m.cpuModel}, ${m.cores} logical cores`],
      ['Memory', `${m.memoryGiB} GiB`],
      ['OS', m.os],
      ['Node.js', m.node],
      ['ONNX Runtime', `onnxruntime-node ${m.onnxRuntime}`],
      [
        'Frameworks',
        Object.entries(m.packages)
          .map(([p, v]) => `${p} ${v}`)
          .join(', '),
      ],
      ['Load average (1 min) at start', m.loadAverageAtStart.toFixed(2)],
    ],
  );
}

function setupSection(r: BenchResults): string {
  const o = r.options;
  const settings = Object.entries(r.galen.settings)
    .map(([k, v]) => `\`${k}=${v}\``)
    .join(', ');
  const runtime = Object.entries(r.galen.runtime)
    .map(([k, v]) => `\`${k}=${JSON.stringify(v)}\``)
    .join(', ');
  const models = Object.entries(r.galen.models).map(([name, m]) =>
    wrap(
      `\`${name}\`: ${m.description}; input \`${m.input}\`, ${rate(m.bytes)} bytes of ONNX.`,
      '  - ',
      '    ',
    ),
  );
  return [
    bullet(
      'Galen: the built server (`node dist/cli/main.js serve`) as a child process, with a fresh data folder, free ' +
        `ports, ${settings} and everything else at its defaults, an audit record for every call. Its runtime ` +
        `settings: ${runtime} (0 means automatic; see the configuration table in README.md).`,
    ),
    bullet(
      'Load: HTTP with autocannon (closed loop, one connection per unit of concurrency, no pipelining); gRPC with a ' +
        'closed-loop grpc-js client keeping that many `ModelInfer` calls outstanding on one channel. Each load ' +
        'generator runs in its own process, so it, the server and anything else running share the same cores. ' +
        'Requests cycle through distinct inputs.',
    ),
    bullet(
      `Each scenario: ${o.warmupS} s of load not counted, then ${o.durationS} s measured. Latency is per request ` +
        'as the load generator saw it. CPU is sampled around the measured window: the server process (all its ' +
        'threads, and its main thread alone), the load generator, and the whole machine ("other" is what neither ' +
        `used). The overhead comes from ${o.overheadRequests} sequential requests reading each response's ` +
        '`Server-Timing` header.',
    ),
    '- Models:',
    ...models,
  ].join('\n');
}

function targetsSection(r: BenchResults): string {
  if (r.targets.length === 0) return '_No target was in the groups run._';
  return table(
    ['target', 'measured', 'required', 'result'],
    r.targets.map((t) => [
      t.description,
      t.measured === null ? '–' : t.unit === '×' ? ratio(t.measured) : `${t.measured.toFixed(1)} µs`,
      `${t.comparison === '>=' ? '≥' : '≤'} ${t.unit === '×' ? `${t.required}×` : `${t.required} µs`}`,
      `${t.met === null ? '**not judged**' : t.met ? '**met**' : '**missed**'}: ${t.detail}`,
    ]),
  );
}

function echoTable(r: BenchResults): string {
  const echo = r.scenarios.filter((s) => s.server === 'echo');
  if (echo.length === 0) return '_Not run._';
  return table(
    [
      'protocol',
      'conc.',
      'req/s',
      'p50 ms',
      'p99 ms',
      'echo cores (main thread)',
      'load gen cores',
      'other cores',
      'status',
    ],
    echo.map((s) => [
      PROTOCOL_NAMES[s.protocol],
      String(s.concurrency),
      rate(okRate(s)),
      ms(s.load?.latency.p50Ms),
      ms(s.load?.latency.p99Ms),
      serverCores(s),
      cores(s.cpu?.client),
      cores(s.cpu?.other),
      s.status,
    ]),
  );
}

function ortTable(r: BenchResults): string {
  if (r.ortCeilings.length === 0) return '_Not run._';
  return table(
    [
      'model',
      'batch',
      'runs/s',
      'inferences/s',
      'p50 per run ms',
      'p99 per run ms',
      'cores used',
      'other cores',
    ],
    r.ortCeilings.map((o) => [
      o.model,
      String(o.batch),
      rate(o.runsPerS),
      rate(o.rowsPerS),
      ms(o.latency.p50Ms),
      ms(o.latency.p99Ms),
      cores(o.cores),
      cores(o.otherCores),
    ]),
  );
}

function tabularTable(r: BenchResults): string {
  const rows = r.scenarios.filter((s) => s.group === 'tabular' && s.server === 'galen');
  if (rows.length === 0) return '_Not run._';
  return table(
    [
      'protocol',
      'conc.',
      'req/s',
      'p50 ms',
      'p99 ms',
      'echo req/s',
      '÷ echo',
      'Galen cores (main thread)',
      'load gen cores',
      'other cores',
      'mean batch',
      'errors',
      'status',
    ],
    rows.map((s) => {
      const echo = okRate(r.scenarios.find((e) => e.id === s.id.replace(/\/galen$/, '/echo')));
      const galen = okRate(s);
      return [
        PROTOCOL_NAMES[s.protocol],
        String(s.concurrency),
        rate(galen),
        ms(s.load?.latency.p50Ms),
        ms(s.load?.latency.p99Ms),
        rate(echo),
        galen !== undefined && echo ? ratio(galen / echo) : '–',
        serverCores(s),
        cores(s.cpu?.client),
        cores(s.cpu?.other),
        batch(s),
        String(s.load?.errors ?? '–'),
        s.status,
      ];
    }),
  );
}

function cnnTable(r: BenchResults): string {
  const rows = r.scenarios.filter((s) => s.group === 'cnn');
  if (rows.length === 0) return '_Not run._';
  const ort = (b: number): number | undefined =>
    r.ortCeilings.find((o) => o.model === 'cnn' && o.batch === b)?.rowsPerS;
  const [b1, b32] = [ort(1), ort(32)];
  return table(
    [
      'batching',
      'conc.',
      'images/s',
      'p50 ms',
      'p99 ms',
      '÷ ORT b1',
      '÷ ORT b32',
      'mean batch',
      'mean queue ms',
      'mean execution ms',
      'Galen cores (main thread)',
      'load gen cores',
      'other cores',
      'status',
    ],
    rows.map((s) => {
      const images = okRate(s);
      return [
        s.batching ? 'on' : 'off',
        String(s.concurrency),
        rate(images),
        ms(s.load?.latency.p50Ms),
        ms(s.load?.latency.p99Ms),
        images !== undefined && b1 ? ratio(images / b1) : '–',
        images !== undefined && b32 ? ratio(images / b32) : '–',
        batch(s),
        ms(s.galen?.meanQueueMs),
        ms(s.galen?.meanExecutionMs),
        serverCores(s),
        cores(s.cpu?.client),
        cores(s.cpu?.other),
        s.status,
      ];
    }),
  );
}

function overheadSection(r: BenchResults): string {
  if (r.overhead.length === 0) return '_Not run._';
  const t = table(
    [
      'protocol',
      'requests',
      'with Server-Timing',
      'overhead p50 µs',
      'overhead p99 µs',
      'total p50 µs',
      'compute p50 µs',
      'queue p50 µs',
      'client round trip p50 ms',
      'status',
    ],
    r.overhead.map((o) => [
      PROTOCOL_NAMES[o.protocol],
      String(o.result?.requests ?? '–'),
      String(o.result?.withServerTiming ?? '–'),
      us(o.result?.overhead?.p50Ms),
      us(o.result?.overhead?.p99Ms),
      us(o.result?.total?.p50Ms),
      us(o.result?.compute?.p50Ms),
      us(o.result?.queue?.p50Ms),
      ms(o.result?.client.p50Ms),
      o.status,
    ]),
  );
  const example = r.overhead.find((o) => o.result?.exampleHeader)?.result?.exampleHeader;
  return example ? `${t}\n\nExample header: \`server-timing: ${example}\`` : t;
}

/**
 * The whole of docs/benchmarks.md for one run (before Prettier). `training` is the section
 * `npm run bench:train` wrote into the previous report, kept as it was before the Analysis;
 * `analysis` is the Analysis a person wrote.
 */
export function renderMarkdown(r: BenchResults, analysis?: string, training?: string): string {
  const o = r.options;
  const problems = [
    ...r.scenarios.filter((s) => s.status !== 'ok').map((s) => `\`${s.id}\`: ${s.status}: ${s.error ?? ''}`),
    ...r.overhead.filter((s) => s.status !== 'ok').map((s) => `\`${s.id}\`: ${s.status}: ${s.error ?? ''}`),
    ...r.notes,
  ];
  const list = (items: string[], none: string): string =>
    items.length ? items.map(bullet).join('\n') : none;
  return [
    '# Benchmarks',
    '',
    wrap(
      `Generated by \`npm run bench\` on ${r.date}: ${o.durationS} s measured per scenario after ${o.warmupS} s ` +
        `of warm-up; groups ${o.groups.join(', ')}. One run on one machine, whose ${r.machine.cores} cores the ` +
        'load generator and the server share (the CPU columns say how). The raw figures are in ' +
        '`docs/benchmarks.json`.',
    ),
    '',
    '## How to reproduce',
    '',
    '```sh',
    'npm ci',
    'npm run bench                                   # everything: 10 s per scenario after a 2 s warm-up',
    'npm run bench -- --duration 3 --only tabular    # a quick look at one group',
    '```',
    '',
    wrap(
      'Options (or `BENCH_*` variables): `--duration S`, `--warmup S`, `--requests N` (sequential requests for ' +
        'the overhead), `--only tabular,cnn,overhead`, `--out DIR`. Run it on an otherwise idle machine: other ' +
        'processes take CPU from both the server and the load generator (the "other cores" columns show how much).',
    ),
    '',
    '## Machine',
    '',
    machineSection(r),
    '',
    '## Setup',
    '',
    setupSection(r),
    '',
    '## Targets',
    '',
    targetsSection(r),
    '',
    '## Ceilings measured in this run',
    '',
    '### (a) Bare echo on the same frameworks',
    '',
    wrap(
      "Fastify 5 answering `POST /v2/models/{m}/infer` with Galen's own reply to that request (same size), after " +
        'parsing the request as Galen does (the JSON body; for binary, the JSON header); grpc-js answering ' +
        '`ModelInfer` likewise. Same load generator, requests and concurrency, measured right before the Galen ' +
        'scenario it bounds.',
    ),
    '',
    echoTable(r),
    '',
    '### (b) In-process ONNX Runtime',
    '',
    wrap(
      "`InferenceSession.run` awaited in a tight loop in its own process, with Galen's session options except the " +
        "thread count, which is left at ONNX Runtime's default (all cores: the CPU the whole server may use).",
    ),
    '',
    ortTable(r),
    '',
    '## Tabular MLP: 30 FP32 features, one real WDBC row per request',
    '',
    tabularTable(r),
    '',
    '## CNN: 1×128×128 FP32 images, one image per request over OIP binary',
    '',
    cnnTable(r),
    '',
    '## Server-side overhead: `Server-Timing` total − compute, tabular MLP, sequential requests',
    '',
    overheadSection(r),
    '',
    '## Observations from the figures',
    '',
    list(r.observations, 'None.'),
    '',
    '## Not measured or not verified',
    '',
    list(problems, 'Everything ran.'),
    '',
    ...(training === undefined ? [] : [training, '']),
    '## Analysis',
    '',
    analysis ?? '_To be written after the final run on a quiet machine._',
    '',
  ].join('\n');
}
