/**
 * A small FHIR server for tests, built from one Synthea Bundle: `GET /fhir/Patient/{id}` and
 * `GET /fhir/{Observation|Condition}?patient={id}&code=system|code,…` (a searchset, in pages of
 * `pageSize` with `next` links). It requires `Authorization: Bearer {token}` and counts requests.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestFhirServer {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

export async function startFhirServer(
  bundle: any,
  token: string,
  pageSize = 5,
  /** A port chosen beforehand (a CDS client's configured fhirServers name it); default any free one. */
  port = 0,
): Promise<TestFhirServer> {
  const resources: any[] = bundle.entry.map((e: any) => e.resource);
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.push(url.pathname + url.search);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/fhir+json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${token}`)
      return send(401, { resourceType: 'OperationOutcome' });
    const [, , type, id] = url.pathname.split('/');
    if (type === 'Patient' && id) {
      const patient = resources.find((r) => r.resourceType === 'Patient' && r.id === id);
      return patient ? send(200, patient) : send(404, { resourceType: 'OperationOutcome' });
    }
    const codes = (url.searchParams.get('code') ?? '').split(',').filter(Boolean);
    const matching = resources.filter(
      (r) =>
        r.resourceType === type &&
        (r.subject?.reference ?? '').endsWith(url.searchParams.get('patient') ?? '') &&
        (codes.length === 0 || r.code?.coding?.some((c: any) => codes.includes(`${c.system}|${c.code}`))),
    );
    const offset = Number(url.searchParams.get('_offset') ?? 0);
    const next = new URL(url);
    next.searchParams.set('_offset', String(offset + pageSize));
    return send(200, {
      resourceType: 'Bundle',
      type: 'searchset',
      total: matching.length,
      link:
        offset + pageSize < matching.length ? [{ relation: 'next', url: next.pathname + next.search }] : [],
      entry: matching.slice(offset, offset + pageSize).map((resource) => ({ resource })),
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}/fhir`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
