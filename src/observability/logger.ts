/**
 * The JSON logger (pino). Headers are never logged whole; authorization and cookies are
 * redacted wherever they appear, and request bodies are never logged at all.
 */
import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'galen' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'headers.authorization',
          '*.adminKey',
          'key',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/** Logs to standard error, for commands whose standard output is their result. */
export function stderrDestination(): pino.DestinationStream {
  return pino.destination(2);
}
