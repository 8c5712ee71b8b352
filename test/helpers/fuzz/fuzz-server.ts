/**
 * The server the fuzz suite attacks: the real server with the demo models (and their CDS service
 * and client), a scratch model for routes that change state, and a tiny dataset.
 */
import { loadDemoCdsClient } from '../../../src/demo/index.js';
import { signCdsClientJwt } from '../../../src/security/index.js';
import { ADMIN_KEY, createTestServer } from '../test-server.js';
import type { TestServer } from '../test-server.js';
import { identityModel, uploadModel } from '../tiny-models.js';
import type { FuzzCase } from './fuzz-cases.js';
import { DATASET, REPO, SCRATCH } from './route-families.js';
import type { Authorize } from './send-and-judge.js';

/** The origin CDS JWTs name as their audience (cds.publicUrl), whatever port the server has. */
const PUBLIC_URL = 'http://galen.fuzz.test';

export interface FuzzServer {
  server: TestServer;
  authorize: Authorize;
}

export async function createFuzzServer(): Promise<FuzzServer> {
  const server = await createTestServer({
    withDemo: true,
    config: { cds: { publicUrl: PUBLIC_URL, clients: [] } },
  });
  await uploadModel(server, SCRATCH, identityModel('FP32'));
  await uploadModel(server, REPO, identityModel('FP32'));
  const upload = await server.call('POST', `/api/v1/datasets/${DATASET}`, {
    body: Buffer.from('a,b,y\n1,2,yes\n3,4,no\n'),
    contentType: 'text/csv',
  });
  if (upload.status !== 201) throw new Error(`dataset upload: ${JSON.stringify(upload.body)}`);
  const client = await loadDemoCdsClient(server.dataDir);
  const authorize = async (c: FuzzCase): Promise<string | undefined> => {
    if (c.auth === 'as-is') return c.headers['authorization'];
    if (c.auth === 'none') return undefined;
    if (c.auth === 'admin') return `Bearer ${ADMIN_KEY}`;
    const token = await signCdsClientJwt(client.key, {
      iss: client.iss,
      aud: `${PUBLIC_URL}${c.url.split('?')[0]!}`,
    });
    return `Bearer ${token}`;
  };
  return { server, authorize };
}
