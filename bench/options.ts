/**
 * The benchmark's command line: how long each scenario runs, which groups run, where results go.
 * Flags win over `BENCH_*` environment variables, which win over the defaults.
 */

/** A group of scenarios together with the ceilings it is compared against. */
export type BenchGroup = 'tabular' | 'cnn' | 'overhead';
export const BENCH_GROUPS: readonly BenchGroup[] = ['tabular', 'cnn', 'overhead'];

export interface BenchOptions {
  /** Seconds measured per scenario. */
  durationS: number;
  /** Seconds of load before each measurement, not counted. */
  warmupS: number;
  /** Sequential requests per protocol for the server-side overhead (after `warmupRequests`). */
  overheadRequests: number;
  warmupRequests: number;
  groups: readonly BenchGroup[];
  /** Folder for benchmarks.md and benchmarks.json. */
  outDir: string;
}

export const USAGE = `usage: npm run bench -- [--duration S] [--warmup S] [--requests N] [--only G[,G…]] [--out DIR]
  --duration S   seconds measured per scenario (BENCH_DURATION, default 10)
  --warmup S     seconds of unmeasured load before each scenario (BENCH_WARMUP, default 2)
  --requests N   sequential requests per protocol for the overhead figures (BENCH_REQUESTS, default 2000)
  --only G,…     groups to run: ${BENCH_GROUPS.join(', ')} (BENCH_ONLY, default all)
  --out DIR      where benchmarks.md and benchmarks.json are written (BENCH_OUT, default docs)`;

function positive(name: string, text: string, { integer = false, allowZero = false } = {}): number {
  const value = Number(text);
  const ok =
    Number.isFinite(value) && (allowZero ? value >= 0 : value > 0) && (!integer || Number.isInteger(value));
  if (!ok) {
    throw new Error(
      `${name} is ${JSON.stringify(text)}; expected a ${integer ? 'whole' : ''} number ${allowZero ? '≥ 0' : '> 0'}\n${USAGE}`,
    );
  }
  return value;
}

function groups(text: string): BenchGroup[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = names.filter((n) => !(BENCH_GROUPS as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(
      `--only ${JSON.stringify(text)}: unknown group(s); allowed: ${BENCH_GROUPS.join(', ')}\n${USAGE}`,
    );
  }
  return BENCH_GROUPS.filter((g) => names.includes(g));
}

/**
 * Reads the options from `argv` (without node and the script) and `env`.
 * @example parseOptions(['--duration', '3', '--only', 'tabular'], process.env)
 */
export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  const raw: Record<string, string | undefined> = {
    duration: env['BENCH_DURATION'],
    warmup: env['BENCH_WARMUP'],
    requests: env['BENCH_REQUESTS'],
    only: env['BENCH_ONLY'],
    out: env['BENCH_OUT'],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') throw new Error(USAGE);
    const match = /^--(duration|warmup|requests|only|out)(?:=(.*))?$/.exec(arg);
    if (!match) throw new Error(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
    const value = match[2] ?? argv[++i];
    if (value === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
    raw[match[1]!] = value;
  }
  const requests = positive('--requests', raw['requests'] ?? '2000', { integer: true });
  return {
    durationS: positive('--duration', raw['duration'] ?? '10'),
    warmupS: positive('--warmup', raw['warmup'] ?? '2', { allowZero: true }),
    overheadRequests: requests,
    warmupRequests: Math.min(500, Math.ceil(requests / 10)),
    groups: groups(raw['only'] ?? BENCH_GROUPS.join(',')),
    outDir: raw['out'] ?? 'docs',
  };
}

/**
 * A positive number from the environment variable `name` (`fallback` when unset or empty), for
 * benchmarks configured by variables alone (soak, memory).
 * @example envNumber('SOAK_MINUTES', 10)
 */
export function envNumber(name: string, fallback: number, { integer = false } = {}): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(integer ? Number.isInteger(value) : Number.isFinite(value)) || value <= 0) {
    throw new Error(`${name} is "${raw}"; give a positive ${integer ? 'integer' : 'number'}`);
  }
  return value;
}
