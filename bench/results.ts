/**
 * The shape of a benchmark run as written to docs/benchmarks.json, and the targets judged from it.
 * Keep `schema` in step with changes so runs stay comparable.
 */
import { rate } from './format.js';
import type { OverheadResult } from './load-sequential.js';
import type { LoadResult } from './load-result.js';
import type { MachineInfo } from './machine.js';
import type { OrtLoopResult } from './ort-loop.js';

export type Protocol = 'oip-json' | 'oip-binary' | 'grpc';

/** How the report names each protocol. */
export const PROTOCOL_NAMES: Readonly<Record<Protocol, string>> = {
  'oip-json': 'OIP JSON',
  'oip-binary': 'OIP binary',
  grpc: 'gRPC',
};

/** How the CPU was shared during a measured window, in cores (1.0 = one core busy all the time). */
export interface CpuFigures {
  /** The process under test (Galen or the echo server). */
  server: number | null;
  /** Of `server`, its main thread (the one JavaScript thread; 1.0 is all it can give). */
  serverMainThread: number | null;
  /** The load generator. */
  client: number;
  /** Everything that ran on the machine. */
  machine: number;
  /** What neither of them used: other processes (noise). */
  other: number | null;
}

/** What Galen's statistics say happened during the window. */
export interface GalenWindowStats {
  inferences: number;
  executions: number;
  /** Rows per model execution: 1 without batching. */
  meanBatchSize: number | null;
  /** Mean time a call waited in the model's queue. */
  meanQueueMs: number | null;
  /**
   * Mean ONNX Runtime time of one model execution (a merged batch counts once), as Galen's worker
   * thread times its `session.run`.
   */
  meanExecutionMs: number | null;
}

export interface ScenarioResult {
  /** e.g. `tabular/oip-json/c32/galen`, `cnn/batching-on/c8/galen`, `tabular/grpc/c1/echo`. */
  id: string;
  group: 'tabular' | 'cnn';
  server: 'galen' | 'echo';
  model: string;
  protocol: Protocol;
  concurrency: number;
  /** CNN only: whether the model's dynamic batching was on. */
  batching?: boolean;
  rowsPerRequest: number;
  status: 'ok' | 'failed' | 'unavailable';
  error?: string;
  load?: LoadResult;
  cpu?: CpuFigures;
  galen?: GalenWindowStats;
}

export interface OverheadScenario {
  id: string;
  protocol: Protocol;
  status: 'ok' | 'failed' | 'unavailable';
  error?: string;
  result?: OverheadResult;
}

export interface TargetResult {
  id: string;
  description: string;
  /** What was measured (ratio, or µs for the overhead). */
  measured: number | null;
  /** The bound: a ratio (≥) or µs (≤). */
  required: number;
  comparison: '>=' | '<=';
  unit: '×' | 'µs';
  met: boolean | null;
  /** How far off a missed target is, in words; why a target could not be judged. */
  detail: string;
}

export interface BenchResults {
  schema: 1;
  date: string;
  machine: MachineInfo;
  options: { durationS: number; warmupS: number; overheadRequests: number; groups: readonly string[] };
  galen: {
    /** GALEN_* settings the server ran with (the key left out). */
    settings: Record<string, string>;
    /** The server's `runtime` settings as its config loader resolves them (0 often means automatic). */
    runtime: Record<string, unknown>;
    /** Effective serving settings per model, as GET /api/v1/models/{m}/serving answers. */
    serving: Record<string, unknown>;
    models: Record<string, { description: string; input: string; bytes: number }>;
  };
  ortCeilings: OrtLoopResult[];
  scenarios: ScenarioResult[];
  overhead: OverheadScenario[];
  targets: TargetResult[];
  /** Things the run could not do or verify. */
  notes: string[];
  /** Facts from the figures that explain them (see {@link observe}). */
  observations: string[];
}

/** Triton's published server-side overhead for its `simple` model, the bound for Galen's p50. */
export const OVERHEAD_TARGET_US = 41;
export const TABULAR_ECHO_RATIO = 0.85;
export const CNN_ORT_RATIO = 0.9;

const pct = (x: number): string => `${Math.round(x * 100)} %`;

function ratioTarget(
  id: string,
  description: string,
  measured: number | undefined,
  ceiling: number | undefined,
  required: number,
  unit: string,
): TargetResult {
  const base = { id, description, required, comparison: '>=' as const, unit: '×' as const };
  if (measured === undefined || ceiling === undefined || ceiling <= 0) {
    return { ...base, measured: null, met: null, detail: 'not measured in this run (see the notes)' };
  }
  const ratio = measured / ceiling;
  if (ratio >= required) {
    return {
      ...base,
      measured: ratio,
      met: true,
      detail: `met with ${(ratio - required).toFixed(2)}× to spare`,
    };
  }
  const needed = required * ceiling;
  return {
    ...base,
    measured: ratio,
    met: false,
    detail:
      `missed by ${(required - ratio).toFixed(2)}× (${pct(1 - ratio / required)} short of the target): ` +
      `${rate(measured)} ${unit} against the ${rate(needed)} ${unit} needed`,
  };
}

function overheadTarget(scenario: OverheadScenario | undefined, protocol: Protocol): TargetResult {
  const base = {
    id: `overhead-${protocol}-p50`,
    description: `server-side overhead p50 (Server-Timing total − compute), tabular MLP over ${PROTOCOL_NAMES[protocol]}`,
    required: OVERHEAD_TARGET_US,
    comparison: '<=' as const,
    unit: 'µs' as const,
  };
  const overhead = scenario?.result?.overhead;
  if (!overhead) {
    const why =
      scenario?.result && scenario.result.withServerTiming === 0
        ? 'not measurable: the server sent no Server-Timing header with total and compute'
        : `not measured: ${scenario?.error ?? 'scenario not run'}`;
    return { ...base, measured: null, met: null, detail: why };
  }
  const us = overhead.p50Ms * 1000;
  return us <= OVERHEAD_TARGET_US
    ? {
        ...base,
        measured: us,
        met: true,
        detail: `met with ${(OVERHEAD_TARGET_US - us).toFixed(1)} µs to spare`,
      }
    : {
        ...base,
        measured: us,
        met: false,
        detail: `missed by ${(us - OVERHEAD_TARGET_US).toFixed(1)} µs (${(us / OVERHEAD_TARGET_US).toFixed(1)}× the target)`,
      };
}

/** Judges the issue's targets from the run's figures. */
export function judgeTargets(
  r: Pick<BenchResults, 'scenarios' | 'ortCeilings' | 'overhead'>,
): TargetResult[] {
  const rps = (id: string): number | undefined => {
    const s = r.scenarios.find((x) => x.id === id);
    return s?.status === 'ok' ? s.load?.requestsPerS : undefined;
  };
  const targets: TargetResult[] = [];
  for (const protocol of ['oip-json', 'oip-binary', 'grpc'] as const) {
    if (!r.scenarios.some((s) => s.group === 'tabular' && s.protocol === protocol)) continue;
    targets.push(
      ratioTarget(
        `tabular-${protocol}-c32`,
        `tabular MLP over ${PROTOCOL_NAMES[protocol]} at concurrency 32 vs the bare ${protocol === 'grpc' ? 'gRPC' : 'HTTP'} echo (requests/s)`,
        rps(`tabular/${protocol}/c32/galen`),
        rps(`tabular/${protocol}/c32/echo`),
        TABULAR_ECHO_RATIO,
        'req/s',
      ),
    );
  }
  const cnn = r.scenarios.find((s) => s.id === 'cnn/batching-on/c32/galen');
  if (cnn) {
    const ort = r.ortCeilings.find((o) => o.model === 'cnn' && o.batch === 32);
    targets.push(
      ratioTarget(
        'cnn-batching-c32',
        'CNN with batching at concurrency 32 vs in-process ONNX Runtime at batch 32 (images/s)',
        cnn.status === 'ok' && cnn.load ? cnn.load.requestsPerS * cnn.rowsPerRequest : undefined,
        ort?.rowsPerS,
        CNN_ORT_RATIO,
        'images/s',
      ),
    );
  }
  for (const protocol of ['oip-json', 'oip-binary'] as const) {
    const scenario = r.overhead.find((o) => o.protocol === protocol);
    if (scenario) targets.push(overheadTarget(scenario, protocol));
  }
  return targets;
}

const fixed = (x: number): string => x.toFixed(2);
const range = (values: number[]): string => {
  const [lo, hi] = [Math.min(...values), Math.max(...values)];
  return lo.toFixed(2) === hi.toFixed(2) ? fixed(hi) : `${fixed(lo)}–${fixed(hi)}`;
};

/**
 * Facts read off the figures that explain them: who saturated which CPU, how noisy the machine
 * was, and whether a ceiling behaves as one. Stated, not interpreted; the Analysis is a person's.
 */
export function observe(
  r: Pick<BenchResults, 'scenarios' | 'ortCeilings' | 'machine' | 'overhead'>,
): string[] {
  const notes: string[] = [];
  const ok = r.scenarios.filter((s) => s.status === 'ok' && s.cpu);
  const busiest = (pick: (s: ScenarioResult) => number | null | undefined, min: number): ScenarioResult[] =>
    ok.filter((s) => (pick(s) ?? 0) >= min).sort((a, b) => (pick(b) ?? 0) - (pick(a) ?? 0));

  const mainBound = busiest((s) => (s.server === 'galen' ? s.cpu?.serverMainThread : null), 0.85);
  if (mainBound.length > 0) {
    notes.push(
      `Galen's main thread (its one JavaScript thread: HTTP, parsing, authentication, SQL, batching) was busy ` +
        `${range(mainBound.map((s) => s.cpu!.serverMainThread!))} of the time in ${mainBound.map((s) => `\`${s.id}\``).join(', ')}: there it, not ONNX Runtime, set the pace.`,
    );
  }
  const echoBound = busiest((s) => (s.server === 'echo' ? s.cpu?.serverMainThread : null), 0.85);
  if (echoBound.length > 0) {
    notes.push(
      `The echo server's main thread was busy ≥ 0.85 of the time in ${echoBound.map((s) => `\`${s.id}\``).join(', ')}: ` +
        'a single Node.js thread is the ceiling there.',
    );
  }
  const heavyClients = busiest((s) => s.cpu?.client, 0.6);
  if (heavyClients.length > 0) {
    notes.push(
      `The load generator used ${fixed(heavyClients[0]!.cpu!.client)} cores at most (\`${heavyClients[0]!.id}\`); ` +
        `${heavyClients.length} scenario(s) had it above 0.6 cores, CPU the server could not use on this ` +
        `${r.machine.cores}-core machine.`,
    );
  }
  const noisy = busiest((s) => s.cpu?.other, 0.2);
  if (noisy.length > 0) {
    notes.push(
      `Other processes took up to ${fixed(noisy[0]!.cpu!.other!)} cores during \`${noisy[0]!.id}\` ` +
        `(${noisy.length} scenario(s) above 0.2): those figures are low by about that share.`,
    );
  }
  for (const model of new Set(r.ortCeilings.map((o) => o.model))) {
    const b1 = r.ortCeilings.find((o) => o.model === model && o.batch === 1);
    const b32 = r.ortCeilings.find((o) => o.model === model && o.batch === 32);
    const noisyOrt = r.ortCeilings.filter((o) => o.model === model && o.otherCores > 0.2);
    if (noisyOrt.length > 0) {
      notes.push(
        `Other processes took up to ${fixed(Math.max(...noisyOrt.map((o) => o.otherCores)))} cores while ` +
          `in-process ONNX Runtime ran the ${model} model: that ceiling is low by about that share.`,
      );
    }
    if (b1 && b32 && b32.rowsPerS < b1.rowsPerS) {
      const noise = Math.max(b1.otherCores, b32.otherCores);
      notes.push(
        `In-process ONNX Runtime ran the ${model} model faster one row at a time (${Math.round(b1.rowsPerS)}/s, ` +
          `${fixed(b1.cores)} cores) than at batch 32 (${Math.round(b32.rowsPerS)}/s, ${fixed(b32.cores)} cores)` +
          (noise > 0.2
            ? `, but other processes took up to ${fixed(noise)} cores meanwhile, so this may be noise.`
            : ': the batch-32 ceiling is not the best this machine does; the ratio to batch 1 is given as well.'),
      );
    }
  }
  const ortB1 = r.ortCeilings.find((o) => o.model === 'tabular' && o.batch === 1);
  for (const o of r.overhead) {
    const compute = o.result?.compute;
    if (!ortB1 || !compute || compute.p50Ms < 2 * ortB1.latency.p50Ms) continue;
    notes.push(
      `Galen's Server-Timing \`compute\` p50 over ${PROTOCOL_NAMES[o.protocol]} ` +
        `(${(compute.p50Ms * 1000).toFixed(0)} µs) is ${(compute.p50Ms / ortB1.latency.p50Ms).toFixed(0)}× ` +
        `in-process ONNX Runtime's p50 per run of the same model at batch 1 in a hot loop ` +
        `(${(ortB1.latency.p50Ms * 1000).toFixed(1)} µs); whatever makes up the difference counts as compute, ` +
        'not as overhead, in total − compute.',
    );
  }
  return notes;
}
