/**
 * The one way Galen makes an HTTP request to somewhere else (an EHR's FHIR server, a JWKS, an
 * OIDC discovery document, an alert webhook). Every request:
 * - goes to an `https` URL, or `http` only for hosts listed in `outbound.allowHttpHosts`;
 * - connects only to addresses the `AddressPolicy` allows, judged **at connect time** on the
 *   address actually connected to (a `lookup` that filters what DNS answered, so a name that
 *   rebinds to 127.0.0.1 between two lookups gains nothing; an IP literal is judged as it is);
 * - follows no redirect (a 3xx is an error: a redirect would leave the checked origin);
 * - reads at most `maxBytes` of answer, counted while streaming whatever `Content-Length` says;
 * - is bounded in time to connect and in total.
 *
 * It is built on `node:http`/`node:https` with a `lookup` option and agents of its own (no pooled
 * socket of other code is reused), which gives the connect-time check without a dependency; the
 * global `fetch` (undici) has no connect hook without adding the `undici` package.
 * Errors name the origin only: paths and queries may carry patient identifiers.
 */
import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { IncomingMessage, RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { LookupFunction, Socket } from 'node:net';
import { GalenError } from '../core/index.js';
import { AddressPolicy } from './address-policy.js';

/** Limits and allowances of every outbound request (the `outbound` settings). */
export interface OutboundSettings {
  /** Non-public addresses and CIDR networks that may be reached (default: none). */
  allowPrivateNetworks: readonly string[];
  /** Host names (or IP literals) that may be reached over plain `http` (default: none). */
  allowHttpHosts: readonly string[];
  /** Longest wait for the TCP connection. */
  connectTimeoutMs: number;
  /** Longest whole request, answer read included. */
  timeoutMs: number;
  /** Largest answer read, in bytes (a request may ask for less). */
  maxResponseBytes: number;
}

export const DEFAULT_OUTBOUND: OutboundSettings = {
  allowPrivateNetworks: [],
  allowHttpHosts: [],
  connectTimeoutMs: 3000,
  timeoutMs: 10_000,
  maxResponseBytes: 10 * 1024 * 1024,
};

/** Why an outbound request failed. */
export type OutboundFailure =
  | 'bad_url'
  | 'insecure'
  | 'address_refused'
  | 'dns'
  | 'connect_timeout'
  | 'timeout'
  | 'redirect'
  | 'too_large'
  | 'network'
  | 'aborted';

/** Failures of the network or the remote end, which pass by themselves; the others are settings. */
const PASSING_FAILURES: ReadonlySet<OutboundFailure> = new Set([
  'dns',
  'connect_timeout',
  'timeout',
  'network',
]);

/** How long a caller refused because a remote end could not be reached is told to wait. */
const OUTBOUND_RETRY_AFTER_SECONDS = 5;

/**
 * An outbound request that failed or was refused; `failure` says why, the message names the origin
 * only. A failure of the network carries a retry delay; a refusal by the outbound rules (an address,
 * a scheme, a redirect, a size) does not, as the same request would be refused again.
 */
export class OutboundError extends GalenError {
  constructor(
    readonly failure: OutboundFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('unavailable', message, {
      ...options,
      ...(PASSING_FAILURES.has(failure) && { retryAfterSeconds: OUTBOUND_RETRY_AFTER_SECONDS }),
    });
  }
}

/** One request: what it is for (named in errors), and its method, headers, body and limits. */
export interface OutboundRequest {
  /** What the request is for, e.g. "CDS FHIR fetch", "alert webhook" (named in errors). */
  purpose: string;
  method?: 'GET' | 'POST';
  headers?: Readonly<Record<string, string>>;
  body?: string;
  /** Largest answer read (capped at the setting). */
  maxBytes?: number;
  signal?: AbortSignal | undefined;
  /**
   * Non-public addresses and plain http allowed for this request (only
   * `monitoring.allowPrivateWebhooks`, an explicit operator setting for internal alert receivers).
   */
  anyAddress?: boolean;
}

/** A complete answer (any status but 3xx). */
export interface OutboundResponse {
  status: number;
  headers: Readonly<Record<string, string>>;
  body: Buffer;
}

/** What `fetchFor` returns: the slice of `fetch` that jose's `customFetch` calls. */
export type OutboundFetch = (
  url: string,
  init: {
    method?: string;
    headers?: ConstructorParameters<typeof Headers>[0];
    signal?: AbortSignal | null;
    redirect?: string;
  },
) => Promise<Response>;

/**
 * The guarded client.
 *
 * @example
 * const outbound = new OutboundClient(config.outbound);
 * const answer = await outbound.request('https://ehr.example/fhir/metadata', { purpose: 'FHIR fetch' });
 */
export class OutboundClient {
  readonly settings: OutboundSettings;
  private readonly policy: AddressPolicy;
  private readonly allowHttp: Set<string>;
  private readonly agents = {
    guarded: { http: new HttpAgent(), https: new HttpsAgent() },
    any: { http: new HttpAgent(), https: new HttpsAgent() },
  };

  /**
   * `resolver` is the DNS lookup the connect-time check filters (default: the system's, as
   * `node:net` uses); tests give one that answers differently on each call, as a rebinding name does.
   */
  constructor(
    settings: Partial<OutboundSettings> = {},
    private readonly resolver: typeof dnsLookup = dnsLookup,
  ) {
    this.settings = { ...DEFAULT_OUTBOUND, ...settings };
    this.policy = new AddressPolicy(this.settings.allowPrivateNetworks);
    this.allowHttp = new Set(this.settings.allowHttpHosts.map((h) => bareHost(h.toLowerCase())));
  }

  /** Whether plain `http` is allowed to `host` (a URL's hostname). */
  allowsHttpTo(host: string): boolean {
    return this.allowHttp.has(bareHost(host.toLowerCase()));
  }

  /**
   * Why a request to `url` is refused before any DNS answer — plain http to a host not in
   * `outbound.allowHttpHosts`, or an address written in the URL that the policy refuses — or
   * undefined. Settings that name a URL (alert webhooks) are checked with it when saved, by the
   * same rules as when the request is made.
   */
  refusalOf(url: URL): { failure: OutboundFailure; why: string } | undefined {
    if (url.protocol === 'http:' && !this.allowsHttpTo(url.hostname)) {
      return {
        failure: 'insecure',
        why: 'refused: plain http is allowed only to hosts in outbound.allowHttpHosts; use https',
      };
    }
    const host = bareHost(url.hostname);
    if (isIP(host) === 0) return undefined;
    const verdict = this.policy.judge(host);
    return verdict.allowed
      ? undefined
      : { failure: 'address_refused', why: this.addressRefusal(host, verdict.kind) };
  }

  /** Sends one request; resolves with the whole answer, or rejects with an `OutboundError`. */
  async request(target: string | URL, init: OutboundRequest): Promise<OutboundResponse> {
    const url = parseTarget(target, init.purpose);
    const origin = url.origin;
    const refuse = (failure: OutboundFailure, why: string, cause?: unknown): OutboundError =>
      new OutboundError(
        failure,
        `${init.purpose} to ${origin} ${why}`,
        cause === undefined ? undefined : { cause },
      );
    const refusal = init.anyAddress ? undefined : this.refusalOf(url);
    if (refusal) throw refuse(refusal.failure, refusal.why);
    const maxBytes = Math.min(
      init.maxBytes ?? this.settings.maxResponseBytes,
      this.settings.maxResponseBytes,
    );
    const secure = url.protocol === 'https:';
    const agents = init.anyAddress ? this.agents.any : this.agents.guarded;
    const options: RequestOptions = {
      method: init.method ?? 'GET',
      headers: {
        ...init.headers,
        ...(init.body !== undefined && { 'content-length': String(Buffer.byteLength(init.body)) }),
      },
      agent: secure ? agents.https : agents.http,
      ...(!init.anyAddress && { lookup: this.lookup(origin, init.purpose) }),
    };

    return new Promise<OutboundResponse>((resolve, reject) => {
      let settled = false;
      const timers: NodeJS.Timeout[] = [];
      const finish = (error: Error | undefined, answer?: OutboundResponse): void => {
        if (settled) return;
        settled = true;
        for (const t of timers) clearTimeout(t);
        init.signal?.removeEventListener('abort', onAbort);
        if (error) {
          req.destroy();
          reject(
            error instanceof OutboundError
              ? error
              : refuse(failureOf(error), `failed (${describe(error)})`, error),
          );
        } else resolve(answer!);
      };
      const onAbort = (): void => finish(refuse('aborted', 'was cancelled'));
      const req = (secure ? httpsRequest : httpRequest)(url, options);
      timers.push(
        setTimeout(
          () => finish(refuse('timeout', `did not finish within ${this.settings.timeoutMs} ms`)),
          this.settings.timeoutMs,
        ),
      );
      if (init.signal?.aborted) return onAbort();
      init.signal?.addEventListener('abort', onAbort, { once: true });
      req.on('socket', (socket: Socket) => {
        if (!socket.connecting) return;
        const connectTimer = setTimeout(
          () =>
            finish(
              refuse(
                'connect_timeout',
                `did not accept a connection within ${this.settings.connectTimeoutMs} ms`,
              ),
            ),
          this.settings.connectTimeoutMs,
        );
        timers.push(connectTimer);
        socket.once('connect', () => {
          clearTimeout(connectTimer);
          // The lookup already chose only allowed addresses; this is a second look at the socket itself.
          const remote = socket.remoteAddress;
          if (!init.anyAddress && remote !== undefined) {
            const verdict = this.policy.judge(remote);
            if (!verdict.allowed)
              finish(refuse('address_refused', this.addressRefusal(remote, verdict.kind)));
          }
        });
      });
      req.on('error', (err) => finish(err));
      req.on('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400) {
          res.destroy();
          return finish(refuse('redirect', `answered ${status} (a redirect); redirects are not followed`));
        }
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBytes) {
          res.destroy();
          return finish(refuse('too_large', `answered more than ${maxBytes} bytes`));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            res.destroy();
            return finish(refuse('too_large', `answered more than ${maxBytes} bytes`));
          }
          chunks.push(chunk);
        });
        res.on('error', (err) => finish(err));
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers))
            if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
          finish(undefined, { status, headers, body: Buffer.concat(chunks, size) });
        });
      });
      req.end(init.body);
    });
  }

  /**
   * A `fetch` for jose's `customFetch` (JWKS): GET only, through `request`, answers at most
   * `maxBytes`. jose asks for `redirect: "manual"` and refuses anything but 200 itself.
   */
  fetchFor(purpose: string, maxBytes = 1024 * 1024): OutboundFetch {
    return async (url, init) => {
      const answer = await this.request(url, {
        purpose,
        headers: Object.fromEntries(new Headers(init.headers ?? {})),
        maxBytes,
        signal: init.signal ?? undefined,
      });
      const empty = answer.status === 204 || answer.status === 205;
      return new Response(empty ? null : answer.body, { status: answer.status, headers: answer.headers });
    };
  }

  /** Closes idle sockets (at shutdown). */
  close(): void {
    for (const set of Object.values(this.agents)) {
      set.http.destroy();
      set.https.destroy();
    }
  }

  private addressRefusal(address: string, kind: string): string {
    return `refused: it is reached at ${address}, ${kind}; list the network in outbound.allowPrivateNetworks to allow it`;
  }

  /** A `lookup` that passes on only the allowed addresses of what DNS answered. */
  private lookup(origin: string, purpose: string): LookupFunction {
    return (hostname, options, callback) => {
      this.resolver(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
        if (err) {
          (callback as (e: Error) => void)(
            new OutboundError(
              'dns',
              `${purpose} to ${origin} failed: the name does not resolve (${err.code ?? err.message})`,
              { cause: err },
            ),
          );
          return;
        }
        const allowed = addresses.filter((a) => this.policy.judge(a.address).allowed);
        if (allowed.length === 0) {
          const first = addresses[0];
          const kind = first ? (this.policy.judge(first.address) as { kind: string }).kind : 'no address';
          (callback as (e: Error) => void)(
            new OutboundError(
              'address_refused',
              `${purpose} to ${origin} ${this.addressRefusal(first?.address ?? '?', kind)}`,
            ),
          );
          return;
        }
        if ((options as { all?: boolean }).all)
          (callback as (e: null, a: LookupAddress[]) => void)(null, allowed);
        else callback(null, allowed[0]!.address, allowed[0]!.family);
      });
    };
  }
}

/** A host name without IPv6 brackets. */
const bareHost = (host: string): string => host.replace(/^\[|\]$/g, '');

function parseTarget(target: string | URL, purpose: string): URL {
  let url: URL;
  try {
    url = typeof target === 'string' ? new URL(target) : target;
  } catch {
    throw new OutboundError('bad_url', `${purpose}: the target is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new OutboundError(
      'bad_url',
      `${purpose}: only https (and allowed http) URLs are fetched, not ${url.protocol}`,
    );
  if (url.username !== '' || url.password !== '')
    throw new OutboundError('bad_url', `${purpose} to ${url.origin}: credentials in the URL are not sent`);
  return url;
}

function failureOf(err: Error): OutboundFailure {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'dns' : 'network';
}

/** A network error in words without the URL (Node's messages name host and port only). */
const describe = (err: Error): string => (err as NodeJS.ErrnoException).code ?? err.message;
