/**
 * Sending fuzz cases exactly as generated (node:http: the path is not normalised, bodies are raw
 * bytes) with a bounded number in flight, and judging each answer: no 5xx, and every 4xx a clear
 * error in the protocol's own format.
 */
import { Agent, request } from 'node:http';
import type { FuzzCase } from './fuzz-cases.js';
import type { ErrorFormat } from './route-families.js';

export interface FuzzAnswer {
  status: number;
  contentType: string;
  /** Seconds the client is asked to wait (`Retry-After`), when given. */
  retryAfter: string | undefined;
  /** The body, cut at 1 MiB. */
  text: string;
}

/** The caller's Authorization header for a case (`cds`: a fresh JWT for the exact URL). */
export type Authorize = (c: FuzzCase) => Promise<string | undefined>;

function send(
  base: URL,
  agent: Agent | false,
  c: FuzzCase,
  authorization: string | undefined,
): Promise<FuzzAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...c.headers };
    if (authorization !== undefined) headers['authorization'] = authorization;
    if (c.body !== undefined) headers['content-length'] = String(c.body.length);
    const req = request(
      { host: base.hostname, port: base.port, method: c.method, path: c.url, headers, agent },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < 1 << 20) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            retryAfter: res.headers['retry-after'],
            text: Buffer.concat(chunks)
              .subarray(0, 1 << 20)
              .toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error('no answer in 30 s')));
    req.end(c.body);
  });
}

/** Sends every case with at most `parallel` in flight; answers (and milliseconds taken) in case order. */
export async function sendAll(
  baseUrl: string,
  cases: readonly FuzzCase[],
  authorize: Authorize,
  parallel = 8,
): Promise<{ answers: (FuzzAnswer | Error)[]; elapsed: number[] }> {
  const base = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: parallel });
  const answers: (FuzzAnswer | Error)[] = new Array(cases.length);
  const elapsed: number[] = new Array(cases.length).fill(0);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const i = next++;
      const c = cases[i]!;
      const started = performance.now();
      try {
        answers[i] = await send(base, agent, c, await authorize(c));
      } catch {
        // A kept-alive socket the server closed (after a 431 or a body it did not read) fails
        // the next request on it: ask once more on a fresh connection, which must be answered.
        try {
          answers[i] = await send(base, false, c, await authorize(c));
        } catch (err) {
          answers[i] = err instanceof Error ? err : new Error(String(err));
        }
      }
      elapsed[i] = performance.now() - started;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  agent.destroy();
  return { answers, elapsed };
}

/**
 * What is wrong with an answer in `format`, or undefined when it is acceptable. A 503 with
 * `Retry-After` is backpressure (a full queue, a busy solver), and a 501 a feature this server does
 * not run (no PyTorch backend): both documented answers, judged like a 4xx; any other 5xx is a
 * finding. (A per-key job quota is a 429.)
 */
export function judge(format: ErrorFormat, answer: FuzzAnswer | Error, method: string): string | undefined {
  if (answer instanceof Error) return `no answer: ${answer.message}`;
  const backpressure = answer.status === 503 && answer.retryAfter !== undefined;
  if (answer.status >= 500 && !backpressure && answer.status !== 501)
    return `status ${answer.status}: ${answer.text.slice(0, 200)}`;
  if (answer.status < 400 || method === 'HEAD') return undefined;
  let body: any;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return `status ${answer.status} with a body that is not JSON: ${JSON.stringify(answer.text.slice(0, 80))}`;
  }
  if (format === 'fhir') {
    const diagnostics = body?.resourceType === 'OperationOutcome' ? body.issue?.[0]?.diagnostics : undefined;
    return typeof diagnostics === 'string' && diagnostics.length > 0
      ? undefined
      : `status ${answer.status} without an OperationOutcome issue with diagnostics: ${answer.text.slice(0, 120)}`;
  }
  const shown = answer.text.slice(0, 120);
  if (typeof body?.error !== 'string' || body.error.length === 0)
    return `status ${answer.status} without "error": ${shown}`;
  if (format === 'native' && typeof body.code !== 'string')
    return `status ${answer.status} without "code": ${shown}`;
  return undefined;
}
