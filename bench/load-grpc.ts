/**
 * Child process: closed-loop gRPC load. `concurrency` callers share one channel (one HTTP/2
 * connection, as a typical client holds) and each keeps exactly one ModelInfer call outstanding,
 * replaying the given requests in turn. A warm-up phase comes first and is not counted.
 */
import { childMain } from './child-process.js';
import { ownCpuSeconds } from './cpu-usage.js';
import { createInferClient } from './grpc-client.js';
import type { InferClient } from './grpc-client.js';
import { Samples } from './latency.js';
import type { LoadResult, LoadRun as Run } from './load-result.js';
import type { GrpcInferRequest } from './payloads.js';

export interface GrpcLoadSpec {
  /** `host:port` */
  address: string;
  apiKey: string;
  requests: GrpcInferRequest[];
  concurrency: number;
  durationS: number;
  warmupS: number;
}

async function load(client: InferClient, spec: GrpcLoadSpec, seconds: number): Promise<Run> {
  const samples = new Samples();
  const run: Run = { ok: 0, errors: 0, firstError: null, durationS: 0, samples };
  // Buffers arrive over IPC as plain Uint8Arrays: make them Buffers again, as a client would send.
  const requests = spec.requests.map((r) => ({
    ...r,
    raw_input_contents: r.raw_input_contents.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)),
  }));
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const caller = async (offset: number): Promise<void> => {
    for (let i = offset; performance.now() < deadline; i++) {
      const t0 = performance.now();
      try {
        await client.infer(requests[i % requests.length]!);
        samples.add(performance.now() - t0);
        run.ok++;
      } catch (err) {
        run.errors++;
        run.firstError ??= err instanceof Error ? err.message : String(err);
        // A server that refuses everything would otherwise spin this loop.
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, (_, k) => caller(k)));
  run.durationS = (performance.now() - started) / 1000;
  return run;
}

childMain<GrpcLoadSpec, LoadResult>(async (spec, window) => {
  const client = createInferClient(spec.address, spec.apiKey);
  try {
    if (spec.warmupS > 0) await load(client, spec, spec.warmupS);
    await window.start();
    const cpu0 = ownCpuSeconds();
    const run = await load(client, spec, spec.durationS);
    const cpu = ownCpuSeconds() - cpu0;
    await window.end();
    return {
      ok: run.ok,
      errors: run.errors,
      firstError: run.firstError,
      durationS: run.durationS,
      requestsPerS: run.ok / run.durationS,
      latency: run.samples.summary(),
      clientCores: cpu / run.durationS,
    };
  } finally {
    client.close();
  }
});
