/**
 * For tests of deep models: whether the PyTorch backend is here (probed once per file), failing
 * instead of skipping when GALEN_REQUIRE_PYTORCH=1 (CI sets it, after installing the backend); and
 * waiting for a job to end.
 */
import { probePyTorch } from '../../src/deep/pytorch-backend.js';
import type { TestServer } from './test-server.js';

/** True when the backend is available; throws when it is required and missing. */
export async function pytorchAvailable(): Promise<boolean> {
  const backend = await probePyTorch(process.env['GALEN_PYTHON']);
  if (!backend.available && process.env['GALEN_REQUIRE_PYTORCH'] === '1') {
    throw new Error(`GALEN_REQUIRE_PYTORCH=1 but the PyTorch backend is missing: ${backend.reason}`);
  }
  return backend.available;
}

/** Polls a job until it succeeds, fails or is cancelled; returns it. */
export async function waitForJob(server: TestServer, id: string, timeoutMs = 600_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await server.call('GET', `/api/v1/jobs/${id}`)).body;
    if (['succeeded', 'failed', 'cancelled'].includes(job.state)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} is still ${job.state}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
