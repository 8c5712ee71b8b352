/**
 * Child process of the soak: finds the server's maximum throughput with a short closed-loop run,
 * then holds a share of it (autocannon's `overallRate`) through a warm-up and the measured soak.
 * Every request carries a new id, as clients that later give labels do, so monitoring keeps a
 * request-id row per sampled prediction as it would in production.
 */
import autocannon from 'autocannon';
import { childMain } from '../child-process.js';
import { ownCpuSeconds } from '../cpu-usage.js';

/** What the soak adds to the options `bench/autocannon.d.ts` types: a fixed rate and a body per request. */
interface SoakOptions {
  overallRate?: number;
  requests: {
    method: string;
    path: string;
    /** Called before each request is sent; returns the request to send. */
    setupRequest: (request: { body?: string }) => { body?: string };
  }[];
}

export interface SoakLoadSpec {
  origin: string;
  apiKey: string;
  /** `/v2/models/<model>/infer` */
  path: string;
  /** JSON of the request's `inputs` for each row the requests cycle through. */
  inputs: string[];
  connections: number;
  calibrateS: number;
  warmupS: number;
  durationS: number;
  /** Share of the calibrated maximum the soak holds (0.5 = half). */
  share: number;
}

export interface SoakLoadResult {
  maxPerS: number;
  targetPerS: number;
  ok: number;
  errors: number;
  firstError: string | null;
  durationS: number;
  clientCores: number;
}

interface Run {
  ok: number;
  errors: number;
  firstError: string | null;
  durationS: number;
}

let sent = 0;

function load(spec: SoakLoadSpec, seconds: number, rate: number | undefined): Promise<Run> {
  const run: Run = { ok: 0, errors: 0, firstError: null, durationS: 0 };
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const options: Parameters<typeof autocannon>[0] & SoakOptions = {
      url: spec.origin,
      connections: spec.connections,
      duration: seconds,
      pipelining: 1,
      timeout: 30,
      ...(rate !== undefined && { overallRate: rate }),
      headers: { authorization: `Bearer ${spec.apiKey}`, 'content-type': 'application/json' },
      requests: [
        {
          method: 'POST',
          path: spec.path,
          setupRequest: (request) => {
            const n = sent++;
            return {
              ...request,
              body: `{"id":"soak-${n}","inputs":${spec.inputs[n % spec.inputs.length]}}`,
            };
          },
        },
      ],
    };
    const instance = autocannon(options, (err) => {
      run.durationS = (performance.now() - started) / 1000;
      if (err) reject(err);
      else resolve(run);
    });
    instance.on('response', (_client, status) => {
      if (status >= 200 && status < 300) run.ok++;
      else {
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

childMain<SoakLoadSpec, SoakLoadResult>(async (spec, window) => {
  const calibration = await load(spec, spec.calibrateS, undefined);
  const maxPerS = calibration.ok / calibration.durationS;
  const targetPerS = Math.max(1, Math.round(maxPerS * spec.share));
  if (spec.warmupS > 0) await load(spec, spec.warmupS, targetPerS);
  await window.start();
  const cpu0 = ownCpuSeconds();
  const run = await load(spec, spec.durationS, targetPerS);
  const cpu = ownCpuSeconds() - cpu0;
  await window.end();
  return {
    maxPerS,
    targetPerS,
    ok: run.ok,
    errors: run.errors,
    firstError: run.firstError,
    durationS: run.durationS,
    clientCores: cpu / run.durationS,
  };
});
