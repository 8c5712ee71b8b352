/**
 * Galen's real logger (pino, with its serializers and redaction) writing into memory, so a test
 * can read exactly what would reach the log: e.g. that an error logged with its cause holds no
 * patient data.
 */
import { Writable } from 'node:stream';
import { createLogger } from '../../src/observability/index.js';
import type { Logger } from '../../src/observability/index.js';

export function capturedLogger(level = 'trace'): { logger: Logger; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: createLogger(level, sink), text: () => chunks.join('') };
}

/** The error `run` throws (the test fails if it throws none). */
export function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error, and none was thrown');
}
