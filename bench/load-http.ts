/**
 * Child process: HTTP load with autocannon's programmatic API, closed loop, N connections each
 * replaying the given requests in turn. A warm-up run comes first and is not counted. Latency is
 * taken from every response (autocannon's own histogram keeps whole milliseconds only).
 */
import autocannon from 'autocannon';
import { childMain } from './child-process.js';
import { ownCpuSeconds } from './cpu-usage.js';
import { Samples } from './latency.js';
import type { LoadResult, LoadRun as Run } from './load-result.js';
import type { HttpRequestSpec } from './payloads.js';

export interface HttpLoadSpec {
  /** `http://host:port` */
  origin: string;
  apiKey: string;
  requests: HttpRequestSpec[];
  connections: number;
  durationS: number;
  warmupS: number;
}

function load(spec: HttpLoadSpec, seconds: number): Promise<Run> {
  const samples = new Samples();
  const run: Run = { ok: 0, errors: 0, firstError: null, durationS: 0, samples };
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.origin,
        connections: spec.connections,
        duration: seconds,
        pipelining: 1,
        timeout: 30,
        headers: { authorization: `Bearer ${spec.apiKey}` },
        requests: spec.requests.map((r) => ({
          method: 'POST',
          path: r.path,
          headers: r.headers,
          // Buffers arrive over IPC as plain Uint8Arrays; autocannon wants Buffers.
          body: Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength),
        })),
      },
      (err) => {
        run.durationS = (performance.now() - started) / 1000;
        if (err) reject(err);
        else resolve(run);
      },
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) {
        run.ok++;
        samples.add(ms);
      } else {
        run.errors++;
        run.firstError ??= `HTTP ${status}`;
      }
    });
    instance.on('reqError', (error) => {
      run.errors++;
      run.firstError ??= error.message;
    });
  });
}

childMain<HttpLoadSpec, LoadResult>(async (spec, window) => {
  if (spec.warmupS > 0) await load(spec, spec.warmupS);
  await window.start();
  const cpu0 = ownCpuSeconds();
  const run = await load(spec, spec.durationS);
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
});
