/**
 * The JSON logger (pino). Headers are never logged whole; authorization and cookies are
 * redacted wherever they appear, and request bodies are never logged at all. A line has one
 * `msg`: a call that passes both a `msg` field and a message keeps the field as `reason`.
 */
import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/**
 * pino writes a `msg` field of the merged object and the message each as a `"msg"` key, so the
 * line holds the key twice and JSON readers keep only one of them. Moves the field to `reason`.
 */
function oneMessageKey(this: Logger, args: Parameters<pino.LogFn>, method: pino.LogFn): void {
  const [fields, message] = args as unknown[];
  if (
    typeof message === 'string' &&
    typeof fields === 'object' &&
    fields !== null &&
    !(fields instanceof Error) &&
    'msg' in fields
  ) {
    const { msg, ...rest } = fields as Record<string, unknown>;
    method.apply(this, [{ ...rest, reason: msg }, ...args.slice(1)] as Parameters<pino.LogFn>);
    return;
  }
  method.apply(this, args);
}

/** The parts of an HTTP request a log line may hold (Fastify's request, read without importing it). */
interface LoggedRequest {
  method?: unknown;
  url?: unknown;
  routeOptions?: { url?: unknown };
}

/**
 * A request as logged: its method and the route it matched (`/fhir/Patient/:id/$everything`), never
 * the URL itself, whose path and query can name a patient (`/fhir/Patient/12345`, `?patient=…`). A
 * request that matched no route is logged by its first path segment only.
 */
export function loggedRequest(req: LoggedRequest): { method: unknown; route: string } {
  const route = req.routeOptions?.url;
  if (typeof route === 'string' && route !== '') return { method: req.method, route };
  const path = typeof req.url === 'string' ? (req.url.split('?')[0] ?? '') : '';
  const first = path.split('/')[1];
  return {
    method: req.method,
    route: first === undefined ? 'unmatched' : `unmatched /${first.slice(0, 32)}/…`,
  };
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'galen' },
      hooks: { logMethod: oneMessageKey },
      serializers: { req: loggedRequest },
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
