/**
 * What a CDS service fetches from an EHR's FHIR server, as an attacker would probe it: only FHIR
 * servers the calling client is configured for are asked; `next` links are followed on that
 * server's origin only, so the EHR's token goes nowhere else; every way a fetch can fail answers
 * the same words (no port scanner); and large or malformed prefetch data is answered clearly.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEART_DEMO_MODEL } from '../../src/demo/index.js';
import { DEFAULT_OUTBOUND } from '../../src/outbound/index.js';
import { startCdsClient } from '../helpers/cds-client.js';
import type { TestCdsClient } from '../helpers/cds-client.js';
import { createTestServer, freePort } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { dataUrl } from '../helpers/data.js';

const HIPOLITO = dataUrl('fhir/Hipolito984_Schulist381_6b9c211c-2c38-3955-43a0-4d285c714fab.json');
const PATIENT_ID = '6b9c211c-2c38-3955-43a0-4d285c714fab';
const SERVICE = `/cds-services/${HEART_DEMO_MODEL}--production`;

type Mode = 'next-elsewhere' | '404' | 'not-json' | 'huge' | 'redirect' | 'many';

/** A peer on 127.0.0.1 that records what it was asked and with which headers. */
async function startPeer(
  port: number,
  answer: (res: ServerResponse, url: string) => void,
): Promise<{ server: Server; seen: { url: string; headers: IncomingHttpHeaders }[] }> {
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    answer(res, req.url ?? '');
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, seen };
}

/** The diagnostics of a CDS error, which is always a FHIR OperationOutcome. */
const errorText = (body: any): string => {
  expect(body?.resourceType, JSON.stringify(body)).toBe('OperationOutcome');
  return body.issue[0].diagnostics;
};

describe('CDS Hooks fetches from the EHR', () => {
  let server: TestServer;
  let ehr: TestCdsClient;
  let patient: any;
  let mode: Mode = 'many';
  let ports: { galen: number; ehr: number; other: number; closed: number };
  let ehrFhir: Awaited<ReturnType<typeof startPeer>>;
  let other: Awaited<ReturnType<typeof startPeer>>;

  const call = async (body: Record<string, unknown>) =>
    server.call('POST', SERVICE, { body, key: await ehr.token(server.url + SERVICE) });
  const hook = (fhirServer: string, prefetch: Record<string, unknown> = { patient }) => ({
    hook: 'patient-view',
    hookInstance: crypto.randomUUID(),
    fhirServer,
    fhirAuthorization: { access_token: 'ehr-secret-token', token_type: 'Bearer' },
    context: { userId: 'Practitioner/1', patientId: PATIENT_ID },
    prefetch,
  });

  beforeAll(async () => {
    ehr = await startCdsClient();
    ports = {
      galen: await freePort(),
      ehr: await freePort(),
      other: await freePort(),
      closed: await freePort(),
    };
    patient = JSON.parse(await readFile(HIPOLITO, 'utf8')).entry.find(
      (e: any) => e.resource.resourceType === 'Patient',
    ).resource;
    const searchset = (entries: unknown[], next?: string) => ({
      resourceType: 'Bundle',
      type: 'searchset',
      ...(next !== undefined && { link: [{ relation: 'next', url: next }] }),
      entry: entries,
    });
    ehrFhir = await startPeer(ports.ehr, (res, url) => {
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/fhir+json' });
        res.end(JSON.stringify(body));
      };
      if (mode === 'next-elsewhere') {
        if (url.includes('page=2')) return json(200, searchset([]));
        return json(200, searchset([], `http://127.0.0.1:${ports.other}/fhir/Observation?page=2`));
      }
      if (mode === '404') return json(404, { resourceType: 'OperationOutcome' });
      if (mode === 'redirect') {
        res.writeHead(302, { location: `http://127.0.0.1:${ports.other}/fhir/Observation` });
        return res.end();
      }
      if (mode === 'not-json') {
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end('<html>a login page</html>');
      }
      if (mode === 'huge') {
        // 12 MiB streamed without Content-Length: above the 10 MiB cap.
        res.writeHead(200, { 'content-type': 'application/fhir+json' });
        const chunk = Buffer.alloc(1024 * 1024, 0x20);
        let sent = 0;
        const push = (): void => {
          while (sent < 12) {
            sent++;
            if (!res.write(chunk)) return void res.once('drain', push);
          }
          res.end();
        };
        res.on('close', () => (sent = 12));
        return push();
      }
      // 'many': one page of 180,000 entries (about 7 MB, under the cap).
      const entries = Array.from({ length: 180_000 }, () => ({ resource: { resourceType: 'Basic' } }));
      return json(200, searchset(entries));
    });
    other = await startPeer(ports.other, (res) => {
      res.writeHead(200, { 'content-type': 'application/fhir+json' });
      res.end(JSON.stringify({ resourceType: 'Bundle', type: 'searchset', entry: [] }));
    });
    server = await createTestServer({
      withDemo: true,
      config: {
        port: ports.galen,
        cds: {
          publicUrl: `http://127.0.0.1:${ports.galen}`,
          clients: [
            {
              iss: ehr.iss,
              jwksUrl: ehr.jwksUrl,
              jku: [],
              fhirServers: [`http://127.0.0.1:${ports.ehr}/fhir`, `http://127.0.0.1:${ports.closed}/fhir/`],
            },
          ],
        },
        outbound: { ...DEFAULT_OUTBOUND, allowPrivateNetworks: ['127.0.0.1'], allowHttpHosts: ['127.0.0.1'] },
      },
    });
  });
  afterAll(async () => {
    await server.close();
    await ehr.close();
    for (const peer of [ehrFhir, other]) await new Promise((r) => peer.server.close(r));
  });

  it('refuses a fhirServer the calling client is not configured for, before any request', async () => {
    for (const fhirServer of [
      `http://127.0.0.1:${ports.other}/fhir`,
      'http://169.254.169.254/latest/meta-data',
      `http://127.0.0.1:${ports.ehr}/fhir?x=1`,
    ]) {
      const res = await call(hook(fhirServer));
      expect(res.status, JSON.stringify(res.body)).toBe(403);
      expect(errorText(res.body)).toMatch(
        /is not a FHIR server CDS client .* may name; list it in that client's fhirServers/,
      );
    }
    expect(other.seen).toEqual([]);
  });

  it('follows next links on the FHIR server origin only, so the token goes nowhere else', async () => {
    mode = 'next-elsewhere';
    const before = ehrFhir.seen.length;
    const res = await call(hook(`http://127.0.0.1:${ports.ehr}/fhir`));
    expect(res.status, JSON.stringify(res.body)).toBe(412);
    expect(ehrFhir.seen.length).toBe(before + 1);
    expect(ehrFhir.seen.at(-1)!.headers.authorization).toBe('Bearer ehr-secret-token');
    expect(other.seen).toEqual([]);
  });

  it('answers the same words whether the server is down, says 404, redirects, is not JSON or too big', async () => {
    const texts = new Map<string, string>();
    for (const m of ['404', 'redirect', 'not-json', 'huge'] as const) {
      mode = m;
      const res = await call(hook(`http://127.0.0.1:${ports.ehr}/fhir`));
      expect(res.status, `${m}: ${JSON.stringify(res.body)}`).toBe(412);
      texts.set(m, errorText(res.body));
    }
    const closed = await call(hook(`http://127.0.0.1:${ports.closed}/fhir`));
    expect(closed.status).toBe(412);
    texts.set('closed port', errorText(closed.body));
    expect(new Set(texts.values()).size, JSON.stringify([...texts])).toBe(1);
    expect(texts.get('404')).toBe(
      `prefetch "observations" is missing and could not be fetched from the EHR's FHIR server; send it as prefetch`,
    );
    expect(other.seen).toEqual([]); // the redirect was not followed
  });

  it('takes a searchset page of 180,000 entries under the size cap', async () => {
    mode = 'many';
    const res = await call(hook(`http://127.0.0.1:${ports.ehr}/fhir`));
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200);
    expect(res.body.cards[0].summary).toMatch(/predicted probability of coronary artery disease/);
  });

  it('answers a prefetch Bundle with a null entry with a 400 OperationOutcome', async () => {
    const observations = { resourceType: 'Bundle', type: 'searchset', entry: [null] };
    const res = await call(hook(`http://127.0.0.1:${ports.ehr}/fhir`, { patient, observations }));
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(errorText(res.body)).toMatch(
      /prefetch "observations".entry\[0\] is null; each entry is an object/,
    );
    const notAList = await call(
      hook(`http://127.0.0.1:${ports.ehr}/fhir`, {
        patient,
        observations: { resourceType: 'Bundle', entry: {} },
      }),
    );
    expect(notAList.status).toBe(400);
    expect(errorText(notAList.body)).toMatch(
      /prefetch "observations".entry is an object; a Bundle's entry is a list/,
    );
  });
});
