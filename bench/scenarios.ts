/**
 * The scenarios of the issue: the tabular MLP over OIP JSON, OIP binary and gRPC at concurrency 1
 * and 32, each next to its bare echo ceiling; the CNN over OIP binary at concurrency 1, 8 and 32
 * with batching off and on; and the server-side overhead from sequential requests. A scenario
 * whose protocol the server does not answer is kept in the results as `unavailable`, with why.
 */
import { runChild } from './child-process.js';
import type { ChildServer } from './child-process.js';
import type { EchoInfo, EchoReplies } from './echo-server.js';
import type { GalenServer } from './galen-server.js';
import { createInferClient } from './grpc-client.js';
import type { OverheadResult, SequentialSpec } from './load-sequential.js';
import { measureLoad } from './measure.js';
import type { LoadSpec, LoadTarget } from './measure.js';
import type { BenchOptions } from './options.js';
import { grpcInferRequest, oipBinaryRequest, oipJsonRequest, stackRows } from './payloads.js';
import type { GrpcInferRequest, HttpRequestSpec } from './payloads.js';
import { describeScenario } from './report.js';
import type { OverheadScenario, Protocol, ScenarioResult } from './results.js';

/** A model as served for the benchmark, with the rows its requests carry (one row per request). */
export interface ModelUnderTest {
  name: string;
  inputName: string;
  rowShape: number[];
  rows: (number[] | Float32Array)[];
}

export interface BenchContext {
  readonly options: BenchOptions;
  readonly galen: GalenServer;
  log(line: string): void;
}

export const TABULAR_PROTOCOLS: readonly Protocol[] = ['oip-json', 'oip-binary', 'grpc'];
export const TABULAR_CONCURRENCY: readonly number[] = [1, 32];
export const CNN_CONCURRENCY: readonly number[] = [1, 8, 32];
/** CNN images go as binary tensors: JSON would spend its time printing and parsing 16,384 floats. */
export const CNN_PROTOCOL: Protocol = 'oip-binary';

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function httpRequests(model: ModelUnderTest, protocol: 'oip-json' | 'oip-binary'): HttpRequestSpec[] {
  const encode = protocol === 'oip-json' ? oipJsonRequest : oipBinaryRequest;
  return model.rows.map((row) => encode(model.name, stackRows(model.inputName, model.rowShape, [row])));
}

function grpcRequests(model: ModelUnderTest): GrpcInferRequest[] {
  return model.rows.map((row) =>
    grpcInferRequest(model.name, stackRows(model.inputName, model.rowShape, [row])),
  );
}

/**
 * Sends one request of `protocol` to Galen and checks the answer. Resolves to Galen's reply (for
 * the echo server to give back) or throws saying why the protocol is not usable.
 */
export async function probe(
  galen: GalenServer,
  model: ModelUnderTest,
  protocol: Protocol,
): Promise<EchoReplies> {
  if (protocol === 'grpc') {
    const client = createInferClient(galen.grpcAddress, galen.apiKey);
    try {
      const response = await client.infer(grpcRequests(model)[0]!);
      if (response.outputs.length === 0) throw new Error('ModelInfer answered without outputs');
      return { grpc: response };
    } finally {
      client.close();
    }
  }
  const request = httpRequests(model, protocol)[0]!;
  const response = await galen.call('POST', request.path, { bytes: request.body, headers: request.headers });
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${response.text.slice(0, 300)}`);
  if (protocol === 'oip-json') {
    const body = response.json() as { outputs?: unknown };
    if (!Array.isArray(body.outputs)) throw new Error(`no outputs in ${response.text.slice(0, 300)}`);
    return { json: response.text };
  }
  const headerLength = response.headers.get('inference-header-content-length');
  if (headerLength === null) {
    throw new Error('the response has no Inference-Header-Content-Length: binary outputs are not supported');
  }
  return {
    binary: {
      headers: {
        'content-type': response.headers.get('content-type') ?? 'application/octet-stream',
        'inference-header-content-length': headerLength,
      },
      body: response.bytes,
    },
  };
}

function loadSpec(
  ctx: BenchContext,
  protocol: Protocol,
  model: ModelUnderTest,
  concurrency: number,
  where: { origin: string; grpcAddress: string },
): LoadSpec {
  const timing = { durationS: ctx.options.durationS, warmupS: ctx.options.warmupS };
  const apiKey = ctx.galen.apiKey;
  return protocol === 'grpc'
    ? {
        kind: 'grpc',
        spec: { address: where.grpcAddress, apiKey, requests: grpcRequests(model), concurrency, ...timing },
      }
    : {
        kind: 'http',
        spec: {
          origin: where.origin,
          apiKey,
          requests: httpRequests(model, protocol),
          connections: concurrency,
          ...timing,
        },
      };
}

/** Runs one load scenario; failures become a result with `status: 'failed'`, never a throw. */
async function runScenario(
  ctx: BenchContext,
  base: Omit<ScenarioResult, 'status'>,
  load: LoadSpec,
  target: LoadTarget,
): Promise<ScenarioResult> {
  let result: ScenarioResult;
  try {
    const measured = await measureLoad(load, target);
    const failed = measured.load.ok === 0;
    result = {
      ...base,
      status: failed ? 'failed' : 'ok',
      ...(failed && { error: measured.load.firstError ?? 'no successful response' }),
      ...measured,
    };
  } catch (err) {
    result = { ...base, status: 'failed', error: errorText(err) };
  }
  ctx.log(describeScenario(result));
  return result;
}

function unavailable(ctx: BenchContext, base: Omit<ScenarioResult, 'status'>, why: string): ScenarioResult {
  const result: ScenarioResult = { ...base, status: 'unavailable', error: why };
  ctx.log(describeScenario(result));
  return result;
}

/**
 * The tabular MLP at each protocol and concurrency, each right after its echo ceiling (so both
 * see the same background load). `probes` says per protocol whether Galen answered it.
 */
export async function runTabular(
  ctx: BenchContext,
  model: ModelUnderTest,
  echo: ChildServer<EchoInfo>,
  probes: ReadonlyMap<Protocol, string | null>,
): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const protocol of TABULAR_PROTOCOLS) {
    for (const concurrency of TABULAR_CONCURRENCY) {
      for (const server of ['echo', 'galen'] as const) {
        const base = {
          id: `tabular/${protocol}/c${concurrency}/${server}`,
          group: 'tabular' as const,
          server,
          model: model.name,
          protocol,
          concurrency,
          rowsPerRequest: 1,
        };
        const why = probes.get(protocol);
        if (why) {
          results.push(unavailable(ctx, base, why));
          continue;
        }
        const where = server === 'echo' ? echo.info : ctx.galen;
        const target: LoadTarget =
          server === 'echo'
            ? { pid: echo.pid }
            : { pid: ctx.galen.pid, galen: { server: ctx.galen, model: model.name } };
        results.push(
          await runScenario(ctx, base, loadSpec(ctx, protocol, model, concurrency, where), target),
        );
      }
    }
  }
  return results;
}

/** The CNN at each concurrency, with batching off (`unbatched`) and on (`batched`). */
export async function runCnn(
  ctx: BenchContext,
  models: { unbatched: ModelUnderTest; batched: ModelUnderTest },
  probeError: string | null,
): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const batching of [false, true]) {
    const model = batching ? models.batched : models.unbatched;
    for (const concurrency of CNN_CONCURRENCY) {
      const base = {
        id: `cnn/batching-${batching ? 'on' : 'off'}/c${concurrency}/galen`,
        group: 'cnn' as const,
        server: 'galen' as const,
        model: model.name,
        protocol: CNN_PROTOCOL,
        concurrency,
        batching,
        rowsPerRequest: 1,
      };
      if (probeError) {
        results.push(unavailable(ctx, base, probeError));
        continue;
      }
      const target = { pid: ctx.galen.pid, galen: { server: ctx.galen, model: model.name } };
      results.push(
        await runScenario(ctx, base, loadSpec(ctx, CNN_PROTOCOL, model, concurrency, ctx.galen), target),
      );
    }
  }
  return results;
}

/** Sequential tabular requests over OIP JSON and binary, reading Galen's Server-Timing header. */
export async function runOverhead(
  ctx: BenchContext,
  model: ModelUnderTest,
  probes: ReadonlyMap<Protocol, string | null>,
): Promise<OverheadScenario[]> {
  const results: OverheadScenario[] = [];
  for (const protocol of ['oip-json', 'oip-binary'] as const) {
    const id = `overhead/${protocol}`;
    const why = probes.get(protocol);
    if (why) {
      results.push({ id, protocol, status: 'unavailable', error: why });
      ctx.log(`${id}: unavailable: ${why}`);
      continue;
    }
    const spec: SequentialSpec = {
      origin: ctx.galen.origin,
      apiKey: ctx.galen.apiKey,
      requests: httpRequests(model, protocol),
      count: ctx.options.overheadRequests,
      warmup: ctx.options.warmupRequests,
    };
    try {
      const result = await runChild<SequentialSpec, OverheadResult>('load-sequential', spec);
      const ok = result.errors < result.requests;
      results.push({
        id,
        protocol,
        status: ok ? 'ok' : 'failed',
        ...(!ok && { error: result.firstError ?? 'every request failed' }),
        result,
      });
      const o = result.overhead;
      ctx.log(
        `${id}: ${result.requests} sequential requests, client p50 ${result.client.p50Ms.toFixed(3)} ms; ` +
          (o
            ? `overhead p50 ${(o.p50Ms * 1000).toFixed(1)} µs, p99 ${(o.p99Ms * 1000).toFixed(1)} µs`
            : `no Server-Timing header (total, compute) in ${result.requests - result.errors} responses`),
      );
    } catch (err) {
      results.push({ id, protocol, status: 'failed', error: errorText(err) });
      ctx.log(`${id}: failed: ${errorText(err)}`);
    }
  }
  return results;
}
