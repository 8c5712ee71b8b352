/**
 * Who used the CPU during a measured window: the server process (from /proc, so its worker and
 * ONNX Runtime threads count too), and the whole machine (from os.cpus()). With the load
 * generator's own figure this shows how the 2 cores were shared, and whether anything else ran.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

let clockTicks: number | undefined;

/** Kernel clock ticks per second (the unit of /proc/<pid>/stat times). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * User + system CPU seconds used so far by process `pid` and all its threads, or with `mainThread`
 * by its main thread only (where Node runs JavaScript); undefined off Linux.
 */
export function processCpuSeconds(pid: number, mainThread = false): number | undefined {
  try {
    const stat = readFileSync(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

export interface CpuSample {
  readonly wallMs: number;
  readonly processS: number | undefined;
  readonly mainThreadS: number | undefined;
  /** Idle time summed over all cores. */
  readonly machineIdleMs: number;
  readonly cores: number;
}

/** A snapshot to diff later with {@link cpuBetween}. */
export function sampleCpu(pid: number): CpuSample {
  // Busy = capacity − idle. The kernel's per-CPU busy counters are sampled at timer ticks and
  // came out below the sum of the processes' own figures under this kind of load (processes that
  // wake and sleep thousands of times a second); its idle time is measured, not sampled.
  const all = cpus();
  let idle = 0;
  for (const cpu of all) idle += cpu.times.idle;
  return {
    wallMs: performance.now(),
    processS: processCpuSeconds(pid),
    mainThreadS: processCpuSeconds(pid, true),
    machineIdleMs: idle,
    cores: all.length,
  };
}

export interface CpuShare {
  /** Cores the server process kept busy on average (1.0 = one core all the time). */
  serverCores: number | null;
  /** Of which the server's main thread: near 1.0 means its JavaScript thread is the bottleneck. */
  serverMainThreadCores: number | null;
  /** Cores busy on the whole machine. */
  machineCores: number;
}

export function cpuBetween(a: CpuSample, b: CpuSample): CpuShare {
  const wallS = (b.wallMs - a.wallMs) / 1000;
  const per = (x: number | undefined, y: number | undefined): number | null =>
    x === undefined || y === undefined || wallS <= 0 ? null : (y - x) / wallS;
  return {
    serverCores: per(a.processS, b.processS),
    serverMainThreadCores: per(a.mainThreadS, b.mainThreadS),
    machineCores: wallS <= 0 ? 0 : Math.max(0, b.cores - (b.machineIdleMs - a.machineIdleMs) / 1000 / wallS),
  };
}

/** The CPU seconds this process has used (user + system). */
export function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
