/**
 * The PyTorch backend: the one owner of the Python process that trains deep models
 * (`python/galen_trainer.py`). Finds a Python with torch and onnx, starts the trainer on a JSON
 * spec, turns its JSON-line events into calls, and stops it on request. Galen never needs Python
 * otherwise: without it, only deep training is unavailable, and says how to install it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { GalenError, childEnvironment } from '../core/index.js';

/** Where the trainer script is: `python/` at the package root, the first found above this module (src/, dist/, dist-bench/src/). */
function findTrainer(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = dirname(dir)) {
    const script = join(dir, 'python', 'galen_trainer.py');
    if (existsSync(script)) return script;
    if (dirname(dir) === dir) return join(here, '..', '..', 'python', 'galen_trainer.py');
  }
}

export const TRAINER_SCRIPT = findTrainer();

export const PYTORCH_INSTALL_HINT =
  'install the PyTorch backend: on Debian or Ubuntu `apt-get install -y python3-torch python3-onnx`, elsewhere `pip install torch onnx numpy`; if that Python is not the first python3 on the PATH, set GALEN_PYTHON to it';

/** What the probe found. */
export type PyTorchBackend =
  | {
      available: true;
      python: string;
      versions: { python: string; torch: string; onnx: string; numpy: string };
    }
  | { available: false; reason: string };

/** Pythons tried in order when none is configured: the PATH's, then Debian's (where apt installs torch). */
export const DEFAULT_PYTHONS = ['python3', '/usr/bin/python3'];

function probeOne(python: string, timeoutMs: number): Promise<PyTorchBackend> {
  return new Promise((resolve) => {
    let out = '';
    let err = '';
    const child = spawn(python, ['-u', TRAINER_SCRIPT, '--probe'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      env: childEnvironment(),
    });
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => resolve({ available: false, reason: `${python}: ${e.message}` }));
    child.on('close', (code, signal) => {
      if (code === 0) {
        try {
          const versions = JSON.parse(out.trim().split('\n').at(-1) ?? '') as {
            python: string;
            torch: string;
            onnx: string;
            numpy: string;
          };
          return resolve({ available: true, python, versions });
        } catch {
          return resolve({ available: false, reason: `${python}: the probe printed no versions` });
        }
      }
      const why = signal
        ? `timed out after ${timeoutMs} ms`
        : err.trim().split('\n').at(-1) || `exit ${code}`;
      resolve({ available: false, reason: `${python}: ${why}` });
    });
  });
}

/**
 * Finds the backend: `configured` alone when given, else the first of {@link DEFAULT_PYTHONS}
 * with torch and onnx. Importing torch takes a second or two; callers probe once, at start.
 */
export async function probePyTorch(configured?: string, timeoutMs = 60_000): Promise<PyTorchBackend> {
  const reasons: string[] = [];
  for (const python of configured ? [configured] : DEFAULT_PYTHONS) {
    const found = await probeOne(python, timeoutMs);
    if (found.available) return found;
    reasons.push(found.reason);
  }
  return { available: false, reason: reasons.join('; ') };
}

/** The error a deep job gets when there is no backend. */
export function backendMissing(backend: PyTorchBackend & { available: false }): GalenError {
  // Lasts until an operator installs it: 501 (gRPC UNIMPLEMENTED), no retry delay.
  return new GalenError(
    'not_implemented',
    `deep models train on PyTorch, which this server cannot find (${backend.reason}); ${PYTORCH_INSTALL_HINT}`,
  );
}

/** The trainer's events (see python/README.md). */
export type TrainerEvent =
  | {
      event: 'started';
      python: string;
      torch: string;
      threads: number;
      parameters: number;
      trainSamples: number;
      validationSamples: number;
    }
  | { event: 'progress'; fraction: number; stage: string }
  | {
      event: 'epoch';
      epoch: number;
      epochs: number;
      trainLoss: number;
      validationLoss: number;
      validationAuroc: number | null;
      validationAccuracy: number;
      learningRate: number;
      seconds: number;
    }
  | { event: 'log'; level: 'info' | 'warn'; message: string }
  | {
      event: 'done';
      onnx: string;
      reference: string;
      referenceCount: number;
      bestEpoch: number;
      epochsRun: number;
      parameters: number;
      seconds: number;
      opset: number;
    }
  | { event: 'error'; message: string };

export type TrainerDone = Extract<TrainerEvent, { event: 'done' }>;
export type TrainerEpoch = Extract<TrainerEvent, { event: 'epoch' }>;

export interface TrainerRun {
  /** Settles with the `done` event; rejects with the trainer's `error` message, or how it died. */
  readonly done: Promise<TrainerDone>;
  /** Stops the trainer (SIGTERM, then SIGKILL after 5 s). */
  kill(): void;
}

/**
 * Starts the trainer on `specPath`. Its stdin stays open: when this process dies, the trainer
 * sees end-of-file and stops, so training never outlives the job that owns it. `fds` become the
 * trainer's descriptors 3, 4, … (the spec names them `/dev/fd/N`); the caller may close its own
 * copies once this returns. The trainer gets the environment without Galen's secrets.
 */
export function runTrainer(
  python: string,
  specPath: string,
  onEvent: (event: TrainerEvent) => void,
  fds: readonly number[] = [],
): TrainerRun {
  const child = spawn(python, ['-u', TRAINER_SCRIPT, specPath], {
    stdio: ['pipe', 'pipe', 'pipe', ...fds],
    env: childEnvironment(),
  }) as ChildProcessWithoutNullStreams;
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let finished: TrainerDone | undefined;
  let failure: string | undefined;
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    if (!line.startsWith('{')) return;
    let event: TrainerEvent;
    try {
      event = JSON.parse(line) as TrainerEvent;
    } catch {
      return;
    }
    if (event.event === 'done') finished = event;
    else if (event.event === 'error') failure = event.message;
    onEvent(event);
  });
  const done = new Promise<TrainerDone>((resolve, reject) => {
    child.on('error', (e) =>
      // The backend probe found this Python: failing to start it now is a fault of the host.
      reject(new GalenError('internal', `the trainer could not start (${python}): ${e.message}`)),
    );
    child.on('close', (code, signal) => {
      if (code === 0 && finished) return resolve(finished);
      const cause =
        failure ??
        (signal
          ? `it was stopped by ${signal}`
          : `it exited with code ${code}${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`);
      reject(new GalenError(code === 2 ? 'invalid_input' : 'internal', `deep training failed: ${cause}`));
    });
  });
  let killTimer: NodeJS.Timeout | undefined;
  child.on('close', () => clearTimeout(killTimer));
  return {
    done,
    kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
      killTimer.unref();
    },
  };
}
