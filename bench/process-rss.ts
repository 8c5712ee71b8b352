/** Resident memory of another process, read from Linux's /proc, for the memory and soak benchmarks. */
import { readFileSync } from 'node:fs';

/** Resident set size of `pid` in bytes (Linux), or NaN. */
export function rssOf(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? Number.NaN : Number(kb) * 1024;
  } catch {
    return Number.NaN;
  }
}
