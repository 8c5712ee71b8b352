/**
 * A CDS client (an EHR) for tests: ES384 keys, its JWKS served over HTTP at `/jwks.json` (key A)
 * and `/rotated.json` (key B, for `jku`), and tokens signed the way an EHR signs them.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateCdsClientKey, signCdsClientJwt } from '../../src/security/index.js';
import type { CdsClientKey } from '../../src/security/index.js';

export interface TestCdsClient {
  iss: string;
  key: CdsClientKey;
  rotatedKey: CdsClientKey;
  jwksUrl: string;
  rotatedUrl: string;
  /** JWKS fetches served. */
  fetches: number;
  /** A JWT for one call of `aud`. */
  token(aud: string, o?: { lifetimeS?: number; now?: number; key?: CdsClientKey }): Promise<string>;
  close(): Promise<void>;
}

export async function startCdsClient(iss = 'https://ehr.test.example'): Promise<TestCdsClient> {
  const key = await generateCdsClientKey();
  const rotatedKey = await generateCdsClientKey();
  const server = createServer((req, res) => {
    client.fetches++;
    const keys = req.url === '/jwks.json' ? [key] : req.url === '/rotated.json' ? [rotatedKey] : undefined;
    res.writeHead(keys ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(keys ? { keys: keys.map((k) => k.publicJwk) } : {}));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client: TestCdsClient = {
    iss,
    key,
    rotatedKey,
    jwksUrl: `${base}/jwks.json`,
    rotatedUrl: `${base}/rotated.json`,
    fetches: 0,
    token: (aud, o = {}) =>
      signCdsClientJwt(
        o.key ?? key,
        { iss, aud, ...(o.lifetimeS !== undefined && { lifetimeS: o.lifetimeS }) },
        o.now,
      ),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return client;
}
