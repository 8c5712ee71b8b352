/**
 * The demo's CDS client: an ES384 key pair kept in `<dataDir>/demo-cds-client.json` (mode 0600)
 * and trusted, by `galen serve --demo` only, as the issuer `urn:galen:demo-ehr` with its public key
 * inline. `galen cds call` signs with it to play the EHR. A real deployment lists its EHRs in
 * `cds.clients` instead.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GalenError } from '../core/index.js';
import { generateCdsClientKey } from '../security/index.js';
import type { CdsClientAuth, CdsClientKey } from '../security/index.js';

export const DEMO_CDS_ISSUER = 'urn:galen:demo-ehr';

export const demoCdsClientPath = (dataDir: string): string => join(dataDir, 'demo-cds-client.json');

export interface DemoCdsClient {
  iss: string;
  key: CdsClientKey;
}

/** Reads the demo client's key from the data folder; with `create`, makes one when there is none. */
export async function loadDemoCdsClient(dataDir: string, create = false): Promise<DemoCdsClient> {
  const path = demoCdsClientPath(dataDir);
  if (existsSync(path)) return JSON.parse(await readFile(path, 'utf8')) as DemoCdsClient;
  if (!create) {
    throw new GalenError(
      'not_found',
      `there is no demo CDS client in ${dataDir}; "galen serve --demo" makes one at start`,
    );
  }
  const client: DemoCdsClient = { iss: DEMO_CDS_ISSUER, key: await generateCdsClientKey() };
  await writeFile(path, `${JSON.stringify(client, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return client;
}

/** Trusts the demo client (creating its key on first start). */
export async function trustDemoCdsClient(dataDir: string, clients: CdsClientAuth): Promise<DemoCdsClient> {
  const client = await loadDemoCdsClient(dataDir, true);
  clients.trust({ iss: client.iss, jwks: { keys: [client.key.publicJwk] } });
  return client;
}
