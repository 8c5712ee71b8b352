/**
 * Per-version serving statistics in the shape of Triton's statistics extension: counts and
 * cumulative nanoseconds for successes, failures, queueing and compute.
 */

export interface DurationStat {
  count: number;
  ns: number;
}

export interface VersionStats {
  /** Milliseconds since the epoch of the last inference, 0 when none. */
  lastInference: number;
  /** Inferences performed (a batch of n counts n). */
  inferenceCount: number;
  /** Model executions (a batch counts once). */
  executionCount: number;
  success: DurationStat;
  fail: DurationStat;
  queue: DurationStat;
  computeInfer: DurationStat;
  /** Executions by size in rows (the batch size), with their compute time. */
  batches: Record<number, DurationStat>;
}

export function emptyStats(): VersionStats {
  return {
    lastInference: 0,
    inferenceCount: 0,
    executionCount: 0,
    success: { count: 0, ns: 0 },
    fail: { count: 0, ns: 0 },
    queue: { count: 0, ns: 0 },
    computeInfer: { count: 0, ns: 0 },
    batches: {},
  };
}

export function addDuration(stat: DurationStat, ns: number): void {
  stat.count++;
  stat.ns += ns;
}
