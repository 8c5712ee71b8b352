/**
 * Fuzz cases from the route families: for each endpoint, its well-formed request and seeded
 * variants with hostile path segments, query strings, headers, content types and bodies (JSON
 * mutations and byte damage). The same seed gives the same cases, so any failure is reproducible
 * from its `id` and `what`.
 */
import { damageText, hostileJson, mutateJson } from './hostile-values.js';
import { Rng } from './prng.js';
import type { Endpoint, ErrorFormat, Family } from './route-families.js';

export interface FuzzCase {
  /** `<family>#<n>`: stable for a seed. */
  id: string;
  family: string;
  format: ErrorFormat;
  /** What was done to the well-formed request. */
  what: string;
  method: string;
  /** Path and query exactly as sent (not normalised). */
  url: string;
  headers: Record<string, string>;
  body?: Buffer;
  auth: 'admin' | 'cds' | 'none' | 'as-is';
}

/** Path segments no route should take, sent raw. */
const SEGMENTS: readonly string[] = [
  '%',
  '%zz',
  '%00',
  '%2F',
  '%2e%2e',
  '..',
  '%C0%AF',
  '%ED%A0%80',
  '%F0%9F%98%80',
  '%E2%80%AE',
  '%FF%FE',
  'a'.repeat(101),
  'a'.repeat(129),
  'a'.repeat(4000),
  '%20',
  '-1',
  '0',
  '1e3',
  '99999999999999999999',
  'NaN',
  'null',
  ';',
  '%3Bx',
  '~',
  '@',
];

const QUERIES: readonly string[] = [
  'version=%zz',
  'version=',
  'version=-1',
  'version=9999999999999999',
  'model=&model=x',
  'a[b][c]=1',
  'mode=unknown',
  '%=%',
  `x=${'q'.repeat(8000)}`,
  'timeout=NaN',
  'format=npz&target=',
  '__proto__[x]=1',
];

const CONTENT_TYPES: readonly string[] = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  'application/octet-stream',
  'application/fhir+json',
  'application/x-ndjson',
  'text/csv',
  '*/*',
  'application/json, text/plain',
  'application',
];

const AUTHS: readonly (string | undefined)[] = [
  undefined,
  'Bearer',
  'Bearer ',
  'Basic YTpi',
  `Bearer ${'k'.repeat(5000)}`,
  'Bearer galen_0000000000000000_00000000000000000000000000000000',
  'bearer\ttoken',
];

function fill(endpoint: Endpoint, replace?: { name: string; value: string }): string {
  let path = endpoint.path;
  for (const [name, value] of Object.entries(endpoint.params ?? {})) {
    path = path.replace(`:${name}`, name === replace?.name ? replace.value : encodeURIComponent(value));
  }
  return endpoint.query ? `${path}?${endpoint.query}` : path;
}

function seedBody(
  endpoint: Endpoint,
): { bytes: Buffer; contentType: string; headers: Record<string, string> } | undefined {
  if (endpoint.raw)
    return {
      bytes: endpoint.raw.bytes,
      contentType: endpoint.raw.contentType,
      headers: endpoint.raw.headers ?? {},
    };
  if (endpoint.body === undefined) return undefined;
  return {
    bytes: Buffer.from(JSON.stringify(endpoint.body)),
    contentType: endpoint.contentType ?? 'application/json',
    headers: {},
  };
}

/** `perEndpoint` cases for each endpoint with a body, a third of that for the others. */
export function generateCases(families: readonly Family[], seed: number, perEndpoint: number): FuzzCase[] {
  const rng = new Rng(seed);
  const cases: FuzzCase[] = [];
  for (const family of families) {
    let n = 0;
    for (const endpoint of family.endpoints) {
      const body = seedBody(endpoint);
      const total = body ? perEndpoint : Math.ceil(perEndpoint / 3);
      const auth = endpoint.auth ?? 'admin';
      const base = (what: string): FuzzCase => ({
        id: `${family.name}#${n++}`,
        family: family.name,
        format: endpoint.format ?? family.format,
        what: `${endpoint.method} ${endpoint.path}: ${what}`,
        method: endpoint.method,
        url: fill(endpoint),
        headers: body ? { 'content-type': body.contentType, ...body.headers } : {},
        ...(body && { body: body.bytes }),
        auth,
      });
      cases.push(base('well-formed'));
      for (let i = 1; i < total; i++) {
        const roll = rng.int(body ? 20 : 8);
        const c = base('');
        const params = Object.keys(endpoint.params ?? {});
        if (roll === 0 && params.length > 0) {
          const value = rng.pick(SEGMENTS);
          c.url = fill(endpoint, { name: rng.pick(params), value });
          c.what += `path segment ${value.slice(0, 30)}`;
        } else if (roll === 1) {
          const query = rng.pick(QUERIES);
          c.url += `${c.url.includes('?') ? '&' : '?'}${query}`;
          c.what += `query ${query.slice(0, 40)}`;
        } else if (roll === 2 && auth !== 'none') {
          const header = rng.pick(AUTHS);
          c.auth = 'as-is';
          if (header !== undefined) c.headers['authorization'] = header;
          c.what += `authorization ${header === undefined ? 'missing' : header.slice(0, 30)}`;
        } else if (roll === 3) {
          c.headers['x-fuzz'] = 'h'.repeat(rng.pick([1000, 20_000]));
          c.headers['x-request-id'] = rng.pick(
            ['', 'a'.repeat(500), '../x', '\u00e9'.normalize('NFD')].map(encodeURI),
          );
          c.what += 'large headers';
        } else if (roll === 4) {
          c.method = rng.pick(
            ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'].filter((m) => m !== endpoint.method),
          );
          c.what += `method ${c.method}`;
          if (c.method === 'GET' || c.method === 'HEAD') delete c.body;
        } else if (!body) {
          const value = rng.pick(SEGMENTS);
          if (params.length > 0) c.url = fill(endpoint, { name: rng.pick(params), value });
          else c.url += `/${value}`;
          c.what += `path ${value.slice(0, 30)}`;
        } else if (roll === 5) {
          const type = rng.pick(CONTENT_TYPES);
          c.headers['content-type'] = type;
          c.what += `content-type ${type}`;
        } else if (roll === 6) {
          c.body = Buffer.alloc(0);
          c.what += 'empty body';
        } else if (roll === 7) {
          c.body = Buffer.from(hostileJson(rng));
          c.what += `body ${c.body.subarray(0, 40).toString()}`;
        } else if (endpoint.raw && endpoint.body === undefined) {
          // Not JSON: damage the bytes and headers themselves.
          const damaged = damageText(rng, endpoint.raw.bytes.toString('latin1'));
          c.body = damaged.bytes;
          c.what += damaged.what;
          for (const h of Object.keys(endpoint.raw.headers ?? {})) {
            if (rng.chance(0.5)) {
              c.headers[h] = rng.pick(['-1', '0', '999999999', 'abc', '1e3', '', String(c.body.length + 1)]);
              c.what += `; ${h}=${c.headers[h]}`;
            }
          }
        } else if (roll < 11) {
          const damaged = damageText(rng, JSON.stringify(endpoint.body));
          c.body = damaged.bytes;
          c.what += damaged.what;
        } else {
          const mutated = mutateJson(rng, endpoint.body);
          c.body = Buffer.from(mutated.text);
          c.what += mutated.what;
        }
        cases.push(c);
      }
    }
  }
  return cases;
}
