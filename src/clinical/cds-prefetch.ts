/**
 * A CDS call's data: the prefetch the EHR sent, checked entry by entry, and what is missing
 * fetched from the EHR's FHIR server, only a server the calling client is configured for, through
 * the guarded outbound client, with `next` links followed on that server's origin only.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { GalenError, isJsonObject, jsonTypeOf } from '../core/index.js';
import { OutboundError } from '../outbound/index.js';
import type { OutboundClient } from '../outbound/index.js';

/**
 * The resources of a prefetch: resources as given, and the entries of Bundles (searchsets). A
 * value that is not a resource is refused with where it is and what belongs there (never what it
 * holds); `null` is what an EHR sends for data it could not fetch, and is skipped.
 */
export function prefetchBundle(prefetch: Record<string, unknown>): Bundle {
  const resources: Resource[] = [];
  for (const [key, value] of Object.entries(prefetch)) {
    if (value === null) continue;
    if (!isJsonObject(value)) {
      throw new GalenError(
        'invalid_input',
        `prefetch "${key}" is ${jsonTypeOf(value)}; it must be a FHIR resource or null`,
      );
    }
    if (value['resourceType'] !== 'Bundle') {
      resources.push(value as unknown as Resource);
      continue;
    }
    const entries = value['entry'] ?? [];
    if (!Array.isArray(entries)) {
      throw new GalenError(
        'invalid_input',
        `prefetch "${key}".entry is ${jsonTypeOf(entries)}; a Bundle's entry is a list of {"resource": …}`,
      );
    }
    // One push per entry: a spread of a large page would overflow the stack.
    for (let i = 0; i < entries.length; i++) {
      const entry: unknown = entries[i];
      if (!isJsonObject(entry)) {
        throw new GalenError(
          'invalid_input',
          `prefetch "${key}".entry[${i}] is ${jsonTypeOf(entry)}; each entry is an object {"resource": …}`,
        );
      }
      const resource = entry['resource'];
      if (resource === undefined) continue;
      if (!isJsonObject(resource)) {
        throw new GalenError(
          'invalid_input',
          `prefetch "${key}".entry[${i}].resource is ${jsonTypeOf(resource)}; it must be a FHIR resource`,
        );
      }
      resources.push(resource as unknown as Resource);
    }
  }
  return { resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) };
}

/** Limits on what a service fetches from an EHR's FHIR server when prefetch is missing (bytes for all pages). */
export const FHIR_FETCH = { maxBytes: 10 * 1024 * 1024, maxPages: 10 } as const;

/** Logs a failure's details for operators (origin and reason only: paths carry patient ids). */
export interface CdsLogger {
  warn(facts: Record<string, unknown>, message: string): void;
}

/** What fetching needs: the guarded outbound client, and a logger for the reasons. */
export interface FetchDeps {
  outbound: Pick<OutboundClient, 'request'>;
  logger?: CdsLogger | undefined;
}

/** The FHIR servers the calling CDS client may name, and its name for errors. */
export interface CdsCaller {
  client: string;
  fhirServers: readonly string[];
}

/** A FHIR base URL compared by origin and path, without a trailing slash. */
const baseOf = (url: URL): string => `${url.origin}${url.pathname.replace(/\/+$/, '')}`;

/** The request's `fhirServer`, if it is on the caller's list; refused before any request otherwise. */
export function allowedFhirServer(fhirServer: string, caller: CdsCaller): URL {
  let url: URL;
  try {
    url = new URL(fhirServer);
  } catch {
    throw new GalenError('invalid_input', "fhirServer must be the base URL of the EHR's FHIR server");
  }
  const allowed = caller.fhirServers.flatMap((s) => {
    try {
      return [baseOf(new URL(s))];
    } catch {
      return [];
    }
  });
  if (url.search !== '' || url.hash !== '' || !allowed.includes(baseOf(url))) {
    throw new GalenError(
      'forbidden',
      `fhirServer ${url.origin}/… is not a FHIR server CDS client ${JSON.stringify(caller.client)} may name; list it in that client's fhirServers (cds.clients), or send the data as prefetch`,
    );
  }
  return url;
}

/** Why a fetch failed, for the log only; the caller gets one message whatever it was. */
class FetchFailure extends Error {}

/** A searchset's `next` link, resolved against the server's base. */
function nextPage(link: string, base: URL): URL {
  try {
    return new URL(link, base);
  } catch {
    throw new FetchFailure('a next link is not a URL');
  }
}

/**
 * GETs `query` (relative to `server`) as FHIR JSON with the hook's bearer token, through the
 * guarded client, following a searchset's `next` links on the server's own origin only (so the
 * token goes nowhere else). Every failure answers the same 412, so the endpoint tells nothing
 * about what is listening where; the reason is logged.
 */
export async function fetchFhir(
  deps: FetchDeps,
  server: URL,
  key: string,
  query: string,
  token: string | undefined,
): Promise<unknown> {
  const base = new URL(server.href.endsWith('/') ? server.href : `${server.href}/`);
  const entries: unknown[] = [];
  let first: Record<string, unknown> | undefined;
  let remaining: number = FHIR_FETCH.maxBytes;
  try {
    let page: URL | undefined = new URL(query, base);
    for (let n = 0; page !== undefined; n++) {
      if (n === FHIR_FETCH.maxPages) throw new FetchFailure(`more than ${FHIR_FETCH.maxPages} pages`);
      if (page.origin !== server.origin)
        throw new FetchFailure("a next link leaves the FHIR server's origin");
      const answer = await deps.outbound.request(page, {
        purpose: 'CDS FHIR fetch',
        headers: {
          accept: 'application/fhir+json',
          ...(token !== undefined && { authorization: `Bearer ${token}` }),
        },
        maxBytes: remaining,
      });
      remaining -= answer.body.length;
      if (answer.status !== 200) throw new FetchFailure(`status ${answer.status}`);
      let body: unknown;
      try {
        body = JSON.parse(answer.body.toString('utf8'));
      } catch {
        throw new FetchFailure('the answer is not JSON');
      }
      if (!isJsonObject(body)) throw new FetchFailure('the answer is not a FHIR resource');
      if (body['resourceType'] !== 'Bundle') return body;
      first ??= body;
      const pageEntries = body['entry'] ?? [];
      if (!Array.isArray(pageEntries)) throw new FetchFailure('Bundle.entry is not an array');
      for (const entry of pageEntries) entries.push(entry);
      const links = Array.isArray(body['link']) ? (body['link'] as unknown[]) : [];
      const next = links.find((l) => isJsonObject(l) && l['relation'] === 'next') as
        { url?: unknown } | undefined;
      page = typeof next?.url === 'string' ? nextPage(next.url, base) : undefined;
    }
  } catch (err) {
    if (!(err instanceof FetchFailure) && !(err instanceof OutboundError)) throw err;
    deps.logger?.warn(
      { prefetch: key, fhirServer: server.origin, reason: err.message },
      "CDS Hooks: could not fetch prefetch data from the EHR's FHIR server",
    );
    throw new GalenError(
      'precondition_failed',
      `prefetch "${key}" is missing and could not be fetched from the EHR's FHIR server; send it as prefetch`,
    );
  }
  return { ...first, entry: entries };
}
