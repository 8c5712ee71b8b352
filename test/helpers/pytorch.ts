/**
 * For tests of deep models: whether the PyTorch backend is here (probed once per file), failing
 * instead of skipping when GALEN_REQUIRE_PYTORCH=1 (CI sets it, after installing the backend); a
 * test that needs it, skipped loudly without it; and waiting for a job to end.
 */
import { it } from 'vitest';
import { probePyTorch } from '../../src/deep/pytorch-backend.js';
import type { TestServer } from './test-server.js';

/** How the note of every test skipped for want of PyTorch starts (test/pytorch-skips-reporter.ts lists them). */
export const PYTORCH_SKIP_NOTE = 'needs PyTorch';

export interface PyTorchForTests {
  available: boolean;
  /** Why it is missing. */
  reason?: string;
}

/** Probes the backend; throws when GALEN_REQUIRE_PYTORCH=1 and it is missing. */
export async function pytorchForTests(): Promise<PyTorchForTests> {
  const backend = await probePyTorch(process.env['GALEN_PYTHON']);
  if (backend.available) return { available: true };
  if (process.env['GALEN_REQUIRE_PYTORCH'] === '1') {
    throw new Error(`GALEN_REQUIRE_PYTORCH=1 but the PyTorch backend is missing: ${backend.reason}`);
  }
  return { available: false, reason: backend.reason };
}

/** True when the backend is available; throws when it is required and missing. */
export async function pytorchAvailable(): Promise<boolean> {
  return (await pytorchForTests()).available;
}

/**
 * `it` for a test that needs PyTorch. Without the backend the test is skipped with a note saying
 * why, and the run ends with the list of such tests; the file's other tests still run.
 */
export function itWithPyTorch(
  pytorch: PyTorchForTests,
  name: string,
  fn: () => Promise<void>,
  timeout?: number,
): void {
  it(
    name,
    async (context) => {
      if (!pytorch.available) context.skip(`${PYTORCH_SKIP_NOTE} (${pytorch.reason})`);
      await fn();
    },
    timeout,
  );
}

/** Waits (the jobs API's long poll, `?wait=`) until a job succeeds, fails or is cancelled; returns it. */
export async function waitForJob(server: TestServer, id: string, timeoutMs = 600_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const wait = Math.max(0, Math.min(60, Math.ceil((deadline - Date.now()) / 1000)));
    const job = (await server.call('GET', `/api/v1/jobs/${id}?wait=${wait}`)).body;
    if (['succeeded', 'failed', 'cancelled'].includes(job.state)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} is still ${job.state}`);
  }
}
