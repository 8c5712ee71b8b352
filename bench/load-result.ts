/** What every load generator reports for one measured window. */
import type { LatencySummary, Samples } from './latency.js';

export interface LoadResult {
  /** Successful (2xx / OK) responses in the window. */
  ok: number;
  /** Failed responses and transport errors in the window. */
  errors: number;
  /** The first failure seen, to say why a scenario failed. */
  firstError: string | null;
  durationS: number;
  /** Successful requests per second. */
  requestsPerS: number;
  latency: LatencySummary;
  /** Cores the load generator itself kept busy (it shares the machine with the server). */
  clientCores: number;
}

/** What a load generator counts while a window runs, before it is summarised as a `LoadResult`. */
export interface LoadRun {
  ok: number;
  errors: number;
  firstError: string | null;
  durationS: number;
  samples: Samples;
}
