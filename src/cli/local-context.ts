/**
 * Running a CLI command against the local data folder: opens Galen's services, acts as the
 * `local-cli` admin (whoever can write the data folder already holds everything in it), writes
 * an audit record for each change, and closes cleanly.
 */
import { createGalen } from '../app/index.js';
import type { Galen } from '../app/index.js';
import { loadConfig } from '../config/index.js';
import { GalenError, httpStatusOf } from '../core/index.js';
import type { Actor } from '../core/index.js';
import { createLogger, stderrDestination } from '../observability/index.js';

export const CLI_ACTOR: Actor = { keyId: 'local-cli', role: 'admin' };

export interface CliOptions {
  config?: string;
  json?: boolean;
}

export async function withGalen<T>(options: CliOptions, fn: (galen: Galen) => Promise<T>): Promise<T> {
  const config = loadConfig({ file: options.config });
  const galen = await createGalen(config, createLogger('warn', stderrDestination()));
  try {
    return await fn(galen);
  } finally {
    await galen.close();
  }
}

/** Runs a change and records it in the audit log, whether it succeeds or not. */
export async function audited<T>(
  galen: Galen,
  action: string,
  facts: { model?: string; version?: number; detail?: Record<string, unknown> },
  fn: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  let status = 200;
  try {
    return await fn();
  } catch (err) {
    status = err instanceof GalenError ? httpStatusOf(err.code) : 500;
    throw err;
  } finally {
    await galen.audit.record({
      keyId: CLI_ACTOR.keyId,
      role: CLI_ACTOR.role,
      action,
      model: facts.model,
      version: facts.version,
      status,
      durationMs: performance.now() - started,
      detail: { ...facts.detail, via: 'cli' },
    });
  }
}

/** Splits `name[:version]`. */
export function parseModelRef(ref: string): { model: string; version?: string } {
  const at = ref.lastIndexOf(':');
  return at < 0 ? { model: ref } : { model: ref.slice(0, at), version: ref.slice(at + 1) };
}

export function print(value: unknown, json: boolean | undefined, text: () => string): void {
  console.log(json ? JSON.stringify(value, null, 2) : text());
}

/** A plain aligned table for terminal output. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
