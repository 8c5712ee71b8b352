/**
 * Galen under test: the built CLI (`node dist/cli/main.js serve`) as a child process on free
 * ports, with its own temporary data folder, and the few API calls the benchmark makes to it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { repoPath } from './paths.js';

export const CLI_PATH = repoPath('dist', 'cli', 'main.js');

/** A free TCP port on 127.0.0.1 (free when asked; the server binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  bytes: Uint8Array;
  json(): unknown;
}

export interface GalenServer {
  readonly pid: number;
  /** `http://127.0.0.1:port` */
  readonly origin: string;
  /** `127.0.0.1:port` */
  readonly grpcAddress: string;
  readonly apiKey: string;
  /** Settings the server was started with (GALEN_* variables). */
  readonly settings: Readonly<Record<string, string>>;
  call(
    method: string,
    path: string,
    body?: { bytes: Uint8Array; headers: Record<string, string> },
  ): Promise<ApiResponse>;
  stop(): Promise<void>;
}

async function request(
  origin: string,
  apiKey: string,
  method: string,
  path: string,
  body?: { bytes: Uint8Array; headers: Record<string, string> },
): Promise<ApiResponse> {
  const response = await fetch(origin + path, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, ...body?.headers },
    ...(body && { body: body.bytes }),
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  const text = Buffer.from(bytes).toString('utf8');
  return {
    status: response.status,
    headers: response.headers,
    text,
    bytes,
    json: () => JSON.parse(text) as unknown,
  };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts `galen serve` with `dataDir`, the admin key `apiKey` and `extra` GALEN_* settings, and
 * resolves once `/v2/health/ready` answers 200. Any GALEN_* variable of the caller is left out.
 */
export async function startGalen(
  dataDir: string,
  apiKey: string,
  extra: Record<string, string> = {},
): Promise<GalenServer> {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} is missing: run \`npm run build\` first`);
  const [port, grpcPort] = [await freePort(), await freePort()];
  const settings: Record<string, string> = {
    GALEN_DATA_DIR: dataDir,
    GALEN_HOST: '127.0.0.1',
    GALEN_PORT: String(port),
    GALEN_GRPC_PORT: String(grpcPort),
    GALEN_ADMIN_KEY: apiKey,
    GALEN_LOG_LEVEL: 'warn',
    ...extra,
  };
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GALEN_')) env[k] = v;
  const child = spawn(process.execPath, [CLI_PATH, 'serve'], {
    env: { ...env, ...settings },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Keep reading both pipes for the child's whole life (a full pipe would stall its logger);
  // the last lines explain a failed start.
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 40) tail.shift();
    });
  }
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`galen serve exited (${child.signalCode ?? child.exitCode}):\n${tail.join('\n')}`);
    }
    const ready = await fetch(`${origin}/v2/health/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`galen serve was not ready in 60 s:\n${tail.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    pid: child.pid!,
    origin,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    apiKey,
    settings,
    call: (method, path, body) => request(origin, apiKey, method, path, body),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited(child);
      clearTimeout(timer);
    },
  };
}

/** Throws with the server's answer unless `response` has status `expected`. */
export function expectStatus(response: ApiResponse, expected: number, what: string): ApiResponse {
  if (response.status !== expected) {
    throw new Error(
      `${what}: HTTP ${response.status} (expected ${expected}): ${response.text.slice(0, 500)}`,
    );
  }
  return response;
}
