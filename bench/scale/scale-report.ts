/** The scale section of docs/benchmarks.md, written by `npm run bench:scale`. */
import type { MachineInfo } from '../machine.js';
import type { AuditCeiling } from './audit-ceiling.js';
import type { RegistryFigures } from './registry-scale.js';

export const SCALE_HEADING = '## Scale-out (npm run bench:scale)';

export interface ServingFigures {
  label: string;
  store: string;
  replicas: number;
  requestsPerS: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  firstError: string | null;
  /** Cores kept busy on average: all replicas together, HAProxy, the load generator, the machine. */
  cpu: { replicas: number; balancer: number | null; client: number; machine: number };
}

const fixed = (value: number, digits: number): string => value.toFixed(digits);
const whole = (value: number): string => Math.round(value).toLocaleString('en-US');
const storeName = (store: string): string => (store === 'sqlite' ? 'SQLite + files' : 'PostgreSQL + S3');

function servingTable(rows: readonly ServingFigures[]): string[] {
  const lines = [
    "| deployment | store | req/s | p50 ms | p99 ms | errors | replicas' cores | HAProxy cores | client cores | machine cores | req/s per replica core |",
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.label} | ${storeName(r.store)} | ${whole(r.requestsPerS)} | ${fixed(r.p50Ms, 2)} | ${fixed(r.p99Ms, 2)} | ${r.errors} | ` +
        `${fixed(r.cpu.replicas, 2)} | ${r.cpu.balancer === null ? '—' : fixed(r.cpu.balancer, 2)} | ${fixed(r.cpu.client, 2)} | ` +
        `${fixed(r.cpu.machine, 2)} | ${whole(r.requestsPerS / Math.max(r.cpu.replicas, 0.01))} |`,
    );
  }
  return lines;
}

function registryTable(rows: readonly RegistryFigures[]): string[] {
  const lines = [
    '| store | register 1,000 models | per upload p50 / p99 ms | list the 1,000 models p50 / p99 ms | register 10,000 versions (4 at a time) | per upload p50 / p99 ms | read a model with 10,000 versions p50 / p99 ms |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${storeName(r.store)} | ${fixed(r.registerModels.seconds, 1)} s | ${fixed(r.registerModels.latency.p50Ms, 1)} / ${fixed(r.registerModels.latency.p99Ms, 1)} | ` +
        `${fixed(r.listModels.p50Ms, 1)} / ${fixed(r.listModels.p99Ms, 1)} | ${fixed(r.registerVersions.seconds, 1)} s | ` +
        `${fixed(r.registerVersions.latency.p50Ms, 1)} / ${fixed(r.registerVersions.latency.p99Ms, 1)} | ` +
        `${fixed(r.readModel.p50Ms, 1)} / ${fixed(r.readModel.p99Ms, 1)} (${(r.readModel.bytes / 1e6).toFixed(1)} MB) |`,
    );
  }
  return lines;
}

export function scaleSection(run: {
  date: string;
  machine: MachineInfo;
  durationS: number;
  connections: number;
  serving: readonly ServingFigures[];
  registry: readonly RegistryFigures[];
  audit: readonly AuditCeiling[];
}): string {
  const m = run.machine;
  const lines = [
    SCALE_HEADING,
    '',
    `Run ${run.date.slice(0, 10)} on ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}; ` +
      'PostgreSQL 15 and OpenStack Swift (S3 API) on the same machine, started by `.ci/services.sh`; HAProxy 2.6 with one thread.',
    'Everything — replicas, database, object store, balancer and load generator — shares the 2 cores, so these figures show',
    "the cost of each part, not a cluster's capacity: on a real deployment each replica has its own cores.",
    'Reproduce: `eval "$(bash .ci/services.sh)"` (PostgreSQL and Swift on loopback), `apt-get install haproxy`, then',
    '`npm run bench:scale` (rewrites this section only).',
    '',
  ];
  if (run.serving.length > 0) {
    lines.push(
      '### Serving',
      '',
      `The WDBC MLP over OIP JSON, ${run.connections} connections (autocannon), ${run.durationS} s after 2 s of warm-up. ` +
        'Cores are averages over the window (1.00 = one core busy all the time).',
      '',
      ...servingTable(run.serving),
      '',
    );
  }
  if (run.registry.length > 0) {
    lines.push(
      '### Registry',
      '',
      'Through the API, one client: 1,000 models of one small ONNX file each (4 → 2 MatMul), then 10,000 versions of one model.',
      '',
      ...registryTable(run.registry),
      '',
    );
  }
  if (run.audit.length > 0) {
    lines.push(
      '### The audit chain on PostgreSQL',
      '',
      'Every inference is audited, and every replica appends to one hash chain under one lock, so the chain bounds the whole',
      "deployment's request rate. Replicas group their records (up to 1,000 per transaction, more per group the busier they are);",
      "here 1 or 3 stores (each a replica's connection pool) append groups of 50 or 500 records for 5 s.",
      '',
      '| appending stores | records per group | groups/s | records/s |',
      '|---|---|---|---|',
      ...run.audit.map(
        (a) => `| ${a.stores} | ${a.recordsPerGroup} | ${whole(a.groupsPerS)} | ${whole(a.recordsPerS)} |`,
      ),
      '',
    );
  }
  return lines.join('\n');
}
