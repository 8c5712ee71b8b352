/**
 * One measured load scenario: runs a load-generator child against a server process and samples,
 * exactly around the child's measured window, the server's CPU, the machine's CPU and (for Galen)
 * the model's statistics, so a figure always comes with how the cores were shared.
 */
import { runChild } from './child-process.js';
import { cpuBetween, sampleCpu } from './cpu-usage.js';
import type { CpuSample } from './cpu-usage.js';
import type { GalenServer } from './galen-server.js';
import type { GrpcLoadSpec } from './load-grpc.js';
import type { HttpLoadSpec } from './load-http.js';
import type { LoadResult } from './load-result.js';
import type { CpuFigures, GalenWindowStats } from './results.js';

interface StatsSnapshot {
  inferences: number;
  executions: number;
  /** Per call. */
  queue: { count: number; ns: number };
  /** Per model execution (summed over the batch sizes). */
  execution: { count: number; ns: number };
}

const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
const duration = (value: unknown): { count: number; ns: number } => ({
  count: count(record(value)['count']),
  ns: count(record(value)['ns']),
});

/** Version 1 of `model` as the Triton statistics extension reports it; null when unavailable. */
async function galenStats(galen: GalenServer, model: string): Promise<StatsSnapshot | null> {
  const response = await galen.call('GET', `/v2/models/${encodeURIComponent(model)}/versions/1/stats`);
  if (response.status !== 200) return null;
  const stats = record(response.json())['model_stats'];
  const first = record(Array.isArray(stats) ? stats[0] : undefined);
  const inference = record(first['inference_stats']);
  const batches = Array.isArray(first['batch_stats']) ? (first['batch_stats'] as unknown[]) : [];
  const execution = { count: 0, ns: 0 };
  for (const b of batches) {
    const d = duration(record(b)['compute_infer']);
    execution.count += d.count;
    execution.ns += d.ns;
  }
  return {
    inferences: count(first['inference_count']),
    executions: count(first['execution_count']),
    queue: duration(inference['queue']),
    execution,
  };
}

function statsBetween(a: StatsSnapshot | null, b: StatsSnapshot | null): GalenWindowStats | undefined {
  if (!a || !b) return undefined;
  const inferences = b.inferences - a.inferences;
  const executions = b.executions - a.executions;
  const queued = b.queue.count - a.queue.count;
  const executed = b.execution.count - a.execution.count;
  return {
    inferences,
    executions,
    meanBatchSize: executions > 0 ? inferences / executions : null,
    meanQueueMs: queued > 0 ? (b.queue.ns - a.queue.ns) / queued / 1e6 : null,
    meanExecutionMs: executed > 0 ? (b.execution.ns - a.execution.ns) / executed / 1e6 : null,
  };
}

/** The process under load, and for Galen where to read the model's statistics. */
export interface LoadTarget {
  pid: number;
  galen?: { server: GalenServer; model: string };
}

export type LoadSpec = { kind: 'http'; spec: HttpLoadSpec } | { kind: 'grpc'; spec: GrpcLoadSpec };

export interface Measured {
  load: LoadResult;
  cpu: CpuFigures;
  galen?: GalenWindowStats;
}

export async function measureLoad(load: LoadSpec, target: LoadTarget): Promise<Measured> {
  // Filled in by the hooks (an object, since TypeScript does not follow assignments in callbacks).
  const window: {
    cpu0?: CpuSample;
    cpu1?: CpuSample;
    stats0?: StatsSnapshot | null;
    stats1?: StatsSnapshot | null;
  } = {};
  const readStats = async (): Promise<StatsSnapshot | null> =>
    target.galen ? galenStats(target.galen.server, target.galen.model) : null;
  const hooks = {
    before: async () => {
      window.stats0 = await readStats();
      window.cpu0 = sampleCpu(target.pid);
    },
    after: async () => {
      window.cpu1 = sampleCpu(target.pid);
      window.stats1 = await readStats();
    },
  };
  const timeoutMs = ((load.spec.durationS + load.spec.warmupS) * 3 + 60) * 1000;
  const result =
    load.kind === 'http'
      ? await runChild<HttpLoadSpec, LoadResult>('load-http', load.spec, hooks, timeoutMs)
      : await runChild<GrpcLoadSpec, LoadResult>('load-grpc', load.spec, hooks, timeoutMs);
  const { cpu0, cpu1 } = window;
  if (!cpu0 || !cpu1) throw new Error('the load generator did not report its measured window');
  const share = cpuBetween(cpu0, cpu1);
  const other =
    share.serverCores === null ? null : share.machineCores - share.serverCores - result.clientCores;
  const galen = statsBetween(window.stats0 ?? null, window.stats1 ?? null);
  return {
    load: result,
    cpu: {
      server: share.serverCores,
      serverMainThread: share.serverMainThreadCores,
      client: result.clientCores,
      machine: share.machineCores,
      other: other === null ? null : Math.max(0, other),
    },
    ...(galen && { galen }),
  };
}
