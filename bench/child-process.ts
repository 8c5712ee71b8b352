/**
 * The benchmark's child processes and how they talk to the orchestrator. Load generators, echo
 * servers and the raw ONNX Runtime loop each run in their own Node process (so no one shares an
 * event loop with what it measures), receive one spec over IPC and answer with one result.
 * A load generator announces its measured window so the orchestrator can sample the server's CPU
 * and statistics exactly around it: it sends `measure-start` / `measure-end` and waits for `go`.
 * Both sides run code compiled from this folder, so the messages are trusted as typed.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

type ChildMessage =
  | { type: 'measure-start' }
  | { type: 'measure-end' }
  | { type: 'listening'; info: unknown }
  | { type: 'result'; result: unknown }
  | { type: 'error'; message: string };

/** What the orchestrator does around a child's measured window. */
export interface MeasureHooks {
  before?(): Promise<void> | void;
  after?(): Promise<void> | void;
}

/** The bench module `name` (e.g. `'load-http'`) as a path next to this file, for `fork`. */
function modulePath(name: string): string {
  return fileURLToPath(new URL(`./${name}.js`, import.meta.url));
}

function isChildMessage(value: unknown): value is ChildMessage {
  return (
    typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string'
  );
}

function forkChild(name: string): ChildProcess {
  // 'advanced' serialisation keeps Buffers and typed arrays intact across IPC.
  return fork(modulePath(name), [], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/**
 * Runs the bench module `name` with `spec` and resolves with its result; the child exits after.
 * `timeoutMs` bounds the whole run (the child is killed when it passes).
 */
export function runChild<Spec extends object, Result>(
  name: string,
  spec: Spec,
  hooks: MeasureHooks = {},
  timeoutMs = 600_000,
): Promise<Result> {
  const child = forkChild(name);
  return new Promise<Result>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | undefined, result?: Result): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (err) reject(err);
      else resolve(result as Result);
    };
    const timer = setTimeout(
      () => finish(new Error(`${name} did not finish in ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    const answer = (hook: (() => Promise<void> | void) | undefined): void => {
      Promise.resolve(hook?.())
        .then(() => child.send({ type: 'go' }))
        .catch((err: unknown) => finish(err instanceof Error ? err : new Error(String(err))));
    };
    child.on('message', (message: unknown) => {
      if (!isChildMessage(message)) return;
      switch (message.type) {
        case 'measure-start':
          return answer(hooks.before?.bind(hooks));
        case 'measure-end':
          return answer(hooks.after?.bind(hooks));
        case 'result':
          return finish(undefined, message.result as Result);
        case 'error':
          return finish(new Error(message.message));
        case 'listening':
          return;
      }
    });
    child.on('error', (err) => finish(err));
    // 'close' comes after every IPC message has been delivered, unlike 'exit'.
    child.on('close', (code, signal) =>
      finish(new Error(`${name} exited (${signal ?? code}) without a result`)),
    );
    child.send(spec);
  });
}

/** A long-lived child server (an echo server). */
export interface ChildServer<Info> {
  readonly pid: number;
  readonly info: Info;
  stop(): Promise<void>;
}

/** Starts the bench module `name` as a server with `config`; resolves once it says it listens. */
export function startChildServer<Config extends object, Info>(
  name: string,
  config: Config,
): Promise<ChildServer<Info>> {
  const child = forkChild(name);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start listening in 15 s`));
    }, 15_000);
    child.on('message', (message: unknown) => {
      if (!isChildMessage(message)) return;
      if (message.type === 'error') {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(message.message));
      }
      if (message.type !== 'listening') return;
      clearTimeout(timer);
      resolve({
        pid: child.pid!,
        info: message.info as Info,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${signal ?? code}) before listening`));
    });
    child.send(config);
  });
}

/** The child's view of its measured window. */
export interface MeasureWindow {
  /** Tells the orchestrator the measured part begins; resolves once it has taken its samples. */
  start(): Promise<void>;
  /** Tells the orchestrator the measured part ended; resolves once it has taken its samples. */
  end(): Promise<void>;
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

function waitForGo(): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown): void => {
      if (typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'go') {
        process.off('message', onMessage);
        resolve();
      }
    };
    process.on('message', onMessage);
  });
}

const window: MeasureWindow = {
  start: () => {
    const go = waitForGo();
    send({ type: 'measure-start' });
    return go;
  },
  end: () => {
    const go = waitForGo();
    send({ type: 'measure-end' });
    return go;
  },
};

const errorText = (err: unknown): string => (err instanceof Error ? (err.stack ?? err.message) : String(err));

/** Child side of {@link runChild}: waits for the spec, runs `work`, sends the result and exits. */
export function childMain<Spec, Result>(work: (spec: Spec, window: MeasureWindow) => Promise<Result>): void {
  process.once('message', (spec: unknown) => {
    work(spec as Spec, window)
      .then((result) => send({ type: 'result', result }))
      .catch((err: unknown) => send({ type: 'error', message: errorText(err) }))
      .finally(() => process.disconnect());
  });
}

/**
 * Child side of {@link startChildServer}: waits for the config, runs `start`, reports what it
 * returns, and calls the close function it returns on SIGTERM.
 */
export function childServerMain<Config, Info>(
  start: (config: Config) => Promise<{ info: Info; close(): Promise<void> }>,
): void {
  process.once('message', (config: unknown) => {
    start(config as Config)
      .then((server) => {
        process.once('SIGTERM', () => {
          void server.close().finally(() => process.exit(0));
        });
        send({ type: 'listening', info: server.info });
      })
      .catch((err: unknown) => {
        send({ type: 'error', message: errorText(err) });
        process.exit(1);
      });
  });
}
