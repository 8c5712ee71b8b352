/**
 * The CLI talking to a running Galen server (`--url`, key from `GALEN_KEY`): JSON calls and file
 * uploads over the native API. A refusal becomes a `GalenError` with the server's own message.
 */
import { Readable } from 'node:stream';
import { GalenError, errorCodeOfHttpStatus } from '../core/index.js';
import { openInput } from './cli-errors.js';

export class RemoteGalen {
  private constructor(
    readonly url: string,
    private readonly key: string | undefined,
  ) {}

  /** From `--url` and the `GALEN_KEY` environment variable. */
  static connect(url: string, env: NodeJS.ProcessEnv = process.env): RemoteGalen {
    const parsed = RemoteGalen.parseUrl(url);
    const key = env['GALEN_KEY'];
    if (!key) throw new GalenError('unauthorized', 'set GALEN_KEY to an API key of that server to use --url');
    return new RemoteGalen(parsed, key);
  }

  /** Without an API key: every call names its own bearer token (`callWithToken`). */
  static withoutKey(url: string): RemoteGalen {
    return new RemoteGalen(RemoteGalen.parseUrl(url), undefined);
  }

  private static parseUrl(url: string): string {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new GalenError('invalid_input', `--url "${url}" is not a URL; e.g. http://localhost:8080`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new GalenError('invalid_input', `--url must be http:// or https://, not ${parsed.protocol}`);
    }
    return parsed.origin + parsed.pathname.replace(/\/$/, '');
  }

  async call<T>(method: string, path: string, json?: unknown): Promise<T> {
    return this.callWithToken<T>(this.key, method, path, json);
  }

  /** A JSON call with `token` as the bearer (e.g. a CDS client's JWT for that very URL). */
  async callWithToken<T>(
    token: string | undefined,
    method: string,
    path: string,
    json?: unknown,
  ): Promise<T> {
    return this.send<T>(
      token,
      method,
      path,
      json === undefined ? undefined : JSON.stringify(json),
      'application/json',
    );
  }

  /** Streams a file as the body (CSV or JSON lines by its extension). */
  async upload<T>(path: string, file: string): Promise<T> {
    const type = /\.(jsonl|ndjson)$/i.test(file) ? 'application/x-ndjson' : 'text/csv';
    return this.send<T>(
      this.key,
      'POST',
      path,
      Readable.toWeb(await openInput(file)) as ReadableStream,
      type,
    );
  }

  private async send<T>(
    token: string | undefined,
    method: string,
    path: string,
    body: string | ReadableStream | undefined,
    contentType: string,
  ): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.url + path, {
        method,
        headers: {
          ...(token !== undefined && { authorization: `Bearer ${token}` }),
          ...(body !== undefined && { 'content-type': contentType }),
        },
        ...(body !== undefined && { body, duplex: 'half' }),
      });
    } catch (err) {
      const cause = (err as Error).cause;
      const reason = cause instanceof Error ? cause.message : (err as Error).message;
      throw new GalenError('unavailable', `cannot reach ${this.url}: ${reason}`);
    }
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    if (!response.ok) {
      const message = errorTextOf(parsed) ?? `${response.status} ${response.statusText}`;
      throw new GalenError(errorCodeOfHttpStatus(response.status), message);
    }
    return parsed as T;
  }
}

/** An error answer's text: `error` (native API, OIP), or an OperationOutcome's diagnostics (FHIR, CDS Hooks). */
function errorTextOf(parsed: unknown): string | undefined {
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  if ('error' in parsed) return String(parsed.error);
  const issue: unknown = 'issue' in parsed && Array.isArray(parsed.issue) ? parsed.issue[0] : undefined;
  return typeof issue === 'object' && issue !== null && 'diagnostics' in issue
    ? String(issue.diagnostics)
    : undefined;
}
