/**
 * The built `galen` CLI as a child process, for end-to-end tests that must kill, restart or
 * script the real program: `galen serve` on a random port (its address read from its JSON log),
 * `galen worker`, and one-shot commands such as `galen audit verify`. Also the tiny MatMul models they serve.
 * dist/ is rebuilt whenever src/ is newer (test/global-setup.ts), so these run the edited code.
 */
import { callJson } from './http-call.js';
import type { CallOptions, CallResult } from './http-call.js';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { OnnxGraphBuilder } from '../../src/onnx/index.js';

export const CLI_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/cli/main.js');

/** The admin key every child server is started with (GALEN_ADMIN_KEY). */
export const CHILD_ADMIN_KEY = 'e2e-child-admin-key-0123456789abcdef';

/**
 * Fails with a clear message when the CLI has not been built. Vitest's global setup
 * (test/global-setup.ts) rebuilds dist/ whenever src/ is newer, so this runs the edited code.
 */
export function assertCliBuilt(): void {
  if (!existsSync(CLI_PATH)) {
    throw new Error(`${CLI_PATH} is missing: run these tests through vitest (its global setup builds dist/)`);
  }
}

/** The environment of a child: the parent's, minus any GALEN_* settings, plus `settings`. */
function childEnv(dataDir: string, settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GALEN_')) env[k] = v;
  return { ...env, GALEN_DATA_DIR: dataDir, ...settings };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `galen <args>` against `dataDir` (with `env` settings too) and waits for it to exit. */
export function runCli(
  args: readonly string[],
  dataDir: string,
  timeoutMs = 20_000,
  env: Record<string, string> = {},
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      env: childEnv(dataDir, { GALEN_LOG_LEVEL: 'warn', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`galen ${args.join(' ')} did not finish in ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** A running `galen serve` child. */
export interface GalenChild {
  readonly url: string;
  readonly dataDir: string;
  readonly pid: number;
  /** Every stdout line so far (JSON log lines). */
  readonly logLines: readonly string[];
  /** fetch against the server, JSON in and out; `key` is the bearer (admin by default, null for none). */
  call(method: string, path: string, options?: CallOptions): Promise<CallResult>;
  /** SIGTERM, and waits for a clean exit; resolves to the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, and waits until the process is gone. */
  kill(): Promise<void>;
}

/** A running `galen worker` child. */
export interface GalenWorkerChild {
  readonly pid: number;
  /** `http://host:port/healthz` when started with `--health-port` (or GALEN_JOBS_HEALTH_PORT). */
  readonly healthUrl: string | undefined;
  /** Every stdout line so far (JSON log lines). */
  readonly logLines: readonly string[];
  /** SIGTERM, and waits for it to exit; resolves to the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, and waits until the process is gone. */
  kill(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolvePromise) => child.once('exit', () => resolvePromise()));
}

/** SIGTERM, and waits for a clean exit; resolves to the exit code. */
async function stopChild(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  await exited(child);
  return child.exitCode;
}

/**
 * Starts and tracks `galen serve` and `galen worker` children so a test file can kill whatever is
 * still running in `afterEach`, whether the test passed or not.
 */
export class GalenProcesses {
  private readonly children = new Set<ChildProcess>();

  /**
   * Starts `galen serve [flags]` on `dataDir` (HTTP and gRPC on free ports, so test files running
   * at once never collide on 8080/8081) and resolves once it logs its address.
   */
  async start(
    dataDir: string,
    settings: Record<string, string> = {},
    flags: readonly string[] = [],
  ): Promise<GalenChild> {
    const { child, logLines, started } = this.spawn(['serve', ...flags], dataDir, settings, (entry) =>
      typeof entry.msg === 'string' &&
      entry.msg.startsWith('Galen is serving on') &&
      typeof entry.address === 'string'
        ? entry.address
        : undefined,
    );
    const url = await started;
    return {
      url,
      dataDir,
      pid: child.pid!,
      logLines,
      call: (method, path, o) => callJson(url, CHILD_ADMIN_KEY, method, path, o),
      stop: () => stopChild(child),
      async kill() {
        child.kill('SIGKILL');
        await exited(child);
      },
    };
  }

  /** Starts `galen worker [flags]` on `dataDir` and resolves once it says it is running. */
  async startWorker(
    dataDir: string,
    settings: Record<string, string> = {},
    flags: readonly string[] = [],
  ): Promise<GalenWorkerChild> {
    const { child, logLines, started } = this.spawn(['worker', ...flags], dataDir, settings, (entry) =>
      typeof entry.msg === 'string' && entry.msg.startsWith('Galen worker is running')
        ? typeof entry.health === 'string'
          ? entry.health
          : ''
        : undefined,
    );
    const health = await started;
    return {
      pid: child.pid!,
      healthUrl: health === '' ? undefined : health,
      logLines,
      stop: () => stopChild(child),
      async kill() {
        child.kill('SIGKILL');
        await exited(child);
      },
    };
  }

  /**
   * Spawns `galen <args>` with the test settings; `started` resolves with what `ready` finds in
   * the first JSON log line it accepts (or rejects if the child exits or is silent for 15 s).
   */
  private spawn(
    args: readonly string[],
    dataDir: string,
    settings: Record<string, string>,
    ready: (entry: { msg?: unknown; address?: unknown; health?: unknown }) => string | undefined,
  ): { child: ChildProcess; logLines: string[]; started: Promise<string> } {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      env: childEnv(dataDir, {
        GALEN_HOST: '127.0.0.1',
        GALEN_PORT: '0',
        GALEN_GRPC_PORT: '0',
        GALEN_ADMIN_KEY: CHILD_ADMIN_KEY,
        GALEN_LOG_LEVEL: 'info',
        ...settings,
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    const logLines: string[] = [];
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    // Keep reading stdout for the child's whole life: a full pipe would stall its logger.
    const lines = createInterface({ input: child.stdout });
    const what = `galen ${args[0]}`;
    const started = new Promise<string>((resolvePromise, reject) => {
      let found: string | undefined;
      const timer = setTimeout(() => {
        reject(new Error(`${what} did not say it had started in 15 s; stderr:\n${stderr}`));
      }, 15_000);
      lines.on('line', (line) => {
        logLines.push(line);
        if (found !== undefined) return;
        let entry: { msg?: unknown; address?: unknown; health?: unknown };
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          return;
        }
        found = ready(entry);
        if (found !== undefined) {
          clearTimeout(timer);
          resolvePromise(found);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${what} exited (${signal ?? code}) before it had started; stderr:\n${stderr}`));
      });
    }).catch(async (err: unknown) => {
      child.kill('SIGKILL');
      await exited(child);
      throw err;
    });
    return { child, logLines, started };
  }

  /** SIGKILLs every child still running and waits for them to go. */
  async killAll(): Promise<void> {
    const running = [...this.children];
    for (const child of running) child.kill('SIGKILL');
    await Promise.all(running.map(exited));
  }
}

/** A model computing `y = x · W` (x: FP32 [batch, inputs], W: [inputs, outputs]), with its reference. */
export interface MatMulModel {
  readonly bytes: Uint8Array;
  readonly sha256: string;
  readonly inputs: number;
  readonly outputs: number;
  /** The exact `y` for one row `x`. */
  expected(x: readonly number[]): number[];
}

/**
 * Builds a MatMul model whose weights, (k mod 23 − 11)/128, and the sample inputs of
 * {@link sampleRow} are exact in FP32, so ONNX Runtime must reproduce {@link MatMulModel.expected}
 * exactly whatever its summation order. `seed` makes models of equal shape differ.
 */
export function matMulModel(inputs: number, outputs: number, seed = 0): MatMulModel {
  const weights = new Float32Array(inputs * outputs);
  for (let i = 0; i < inputs; i++) {
    for (let j = 0; j < outputs; j++)
      weights[i * outputs + j] = (((i * 31 + j * 17 + seed * 7) % 23) - 11) / 128;
  }
  const bytes = new OnnxGraphBuilder({ producerName: 'galen-e2e' })
    .addInput('x', 'FP32', ['batch', inputs])
    .addFloatInitializer('w', [inputs, outputs], weights)
    .addNode({ opType: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] })
    .addOutput('y', 'FP32', ['batch', outputs])
    .toBytes();
  return {
    bytes,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    inputs,
    outputs,
    expected(x) {
      const y = new Array<number>(outputs).fill(0);
      for (let i = 0; i < inputs; i++) {
        const xi = x[i]!;
        for (let j = 0; j < outputs; j++) y[j]! += xi * weights[i * outputs + j]!;
      }
      return y;
    },
  };
}

/** A row of quarter steps in [-0.75, 0.75], exact in FP32. */
export function sampleRow(length: number, offset = 0): number[] {
  return Array.from({ length }, (_, i) => (((i + offset) % 7) - 3) / 4);
}

/** Where the artifact store keeps the file with this digest. */
export function artifactPath(dataDir: string, sha256: string): string {
  return join(dataDir, 'artifacts', 'sha256', sha256.slice(0, 2), sha256);
}
