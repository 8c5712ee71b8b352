/** One JSON-in, JSON-out HTTP call against a Galen server, for the test helpers. */

export interface CallOptions {
  /** Bearer key; null sends no Authorization header; undefined uses the helper's default. */
  key?: string | null | undefined;
  /** JSON value, raw bytes (sent as application/octet-stream) or a pre-encoded string. */
  body?: unknown;
  headers?: Record<string, string>;
  contentType?: string;
}

export interface CallResult {
  status: number;
  body: any;
  headers: Headers;
}

export async function callJson(
  baseUrl: string,
  defaultKey: string,
  method: string,
  path: string,
  o: CallOptions = {},
): Promise<CallResult> {
  const headers: Record<string, string> = { ...o.headers };
  const key = o.key === undefined ? defaultKey : o.key;
  if (key !== null) headers['authorization'] = `Bearer ${key}`;
  let body: string | Uint8Array | undefined;
  if (o.body instanceof Uint8Array) {
    body = o.body;
    headers['content-type'] ??= o.contentType ?? 'application/octet-stream';
  } else if (o.body !== undefined) {
    body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
    headers['content-type'] ??= o.contentType ?? 'application/json';
  }
  const response = await fetch(baseUrl + path, { method, headers, ...(body !== undefined && { body }) });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (e.g. /metrics): keep the text
  }
  return { status: response.status, body: parsed, headers: response.headers };
}
