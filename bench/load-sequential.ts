/**
 * Child process: sequential requests (one at a time, one keep-alive connection) that read the
 * server's `Server-Timing` header, for the server-side overhead: total − compute per request.
 * Requests without the header are counted, so a server that does not send it is visible.
 */
import { Agent, request as httpRequest } from 'node:http';
import { childMain } from './child-process.js';
import { Samples } from './latency.js';
import type { LatencySummary } from './latency.js';
import type { HttpRequestSpec } from './payloads.js';
import { parseServerTiming } from './server-timing.js';

export interface SequentialSpec {
  origin: string;
  apiKey: string;
  requests: HttpRequestSpec[];
  count: number;
  warmup: number;
}

export interface OverheadResult {
  requests: number;
  errors: number;
  firstError: string | null;
  /** Responses that carried `Server-Timing` with both `total` and `compute`. */
  withServerTiming: number;
  /** An example of the header as received, or null when none came. */
  exampleHeader: string | null;
  /** total − compute, in milliseconds (reported in µs by the report). */
  overhead: LatencySummary | null;
  total: LatencySummary | null;
  compute: LatencySummary | null;
  queue: LatencySummary | null;
  /** Round trip seen by the client. */
  client: LatencySummary;
}

interface Response {
  status: number;
  serverTiming: string | undefined;
}

function send(agent: Agent, origin: URL, apiKey: string, spec: HttpRequestSpec): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        agent,
        host: origin.hostname,
        port: origin.port,
        method: 'POST',
        path: spec.path,
        headers: {
          ...spec.headers,
          authorization: `Bearer ${apiKey}`,
          'content-length': String(spec.body.byteLength),
        },
      },
      (res) => {
        res.on('data', () => undefined);
        res.on('end', () => {
          const header = res.headers['server-timing'];
          resolve({
            status: res.statusCode ?? 0,
            serverTiming: Array.isArray(header) ? header.join(', ') : header,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(Buffer.from(spec.body.buffer, spec.body.byteOffset, spec.body.byteLength));
  });
}

childMain<SequentialSpec, OverheadResult>(async (spec, window) => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const origin = new URL(spec.origin);
  const pick = (i: number): HttpRequestSpec => spec.requests[i % spec.requests.length]!;
  for (let i = 0; i < spec.warmup; i++) await send(agent, origin, spec.apiKey, pick(i));

  const client = new Samples();
  const overhead = new Samples();
  const total = new Samples();
  const compute = new Samples();
  const queue = new Samples();
  let errors = 0;
  let firstError: string | null = null;
  let exampleHeader: string | null = null;
  await window.start();
  for (let i = 0; i < spec.count; i++) {
    const t0 = performance.now();
    let res: Response;
    try {
      res = await send(agent, origin, spec.apiKey, pick(i));
    } catch (err) {
      errors++;
      firstError ??= err instanceof Error ? err.message : String(err);
      continue;
    }
    client.add(performance.now() - t0);
    if (res.status < 200 || res.status >= 300) {
      errors++;
      firstError ??= `HTTP ${res.status}`;
      continue;
    }
    const timing = parseServerTiming(res.serverTiming);
    const t = timing.get('total');
    const c = timing.get('compute');
    if (t === undefined || c === undefined) continue;
    exampleHeader ??= res.serverTiming ?? null;
    total.add(t);
    compute.add(c);
    overhead.add(t - c);
    const q = timing.get('queue');
    if (q !== undefined) queue.add(q);
  }
  await window.end();
  agent.destroy();
  const summary = (s: Samples): LatencySummary | null => (s.count > 0 ? s.summary() : null);
  return {
    requests: spec.count,
    errors,
    firstError,
    withServerTiming: total.count,
    exampleHeader,
    overhead: summary(overhead),
    total: summary(total),
    compute: summary(compute),
    queue: summary(queue),
    client: client.summary(),
  };
});
