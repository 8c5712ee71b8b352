import type { lookup } from 'node:dns';
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddressPolicy } from './address-policy.js';
import { OutboundClient, OutboundError } from './guarded-client.js';

/** A peer on 127.0.0.1 that counts connections and answers by path. */
async function startPeer(): Promise<{
  server: Server;
  port: number;
  connections: number;
  paths: string[];
  streamed: { bytes: number; finished: boolean };
}> {
  const peer = { connections: 0, paths: [] as string[], streamed: { bytes: 0, finished: false } } as Awaited<
    ReturnType<typeof startPeer>
  >;
  const endless = (res: ServerResponse): void => {
    // 64 KiB chunks without Content-Length, up to 64 MiB, for as long as the client reads.
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const push = (): void => {
      while (peer.streamed.bytes < 64 * 1024 * 1024) {
        peer.streamed.bytes += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', push);
      }
      peer.streamed.finished = true;
      res.end();
    };
    push();
  };
  peer.server = createServer((req, res) => {
    peer.paths.push(req.url ?? '');
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/target' });
      return res.end();
    }
    if (req.url === '/endless') return endless(res);
    if (req.url === '/declared-large') {
      res.writeHead(200, { 'content-length': String(20 * 1024 * 1024) });
      return res.write('{');
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, path: req.url }));
  });
  peer.server.on('connection', () => peer.connections++);
  await new Promise<void>((resolve) => peer.server.listen(0, '127.0.0.1', resolve));
  peer.port = (peer.server.address() as AddressInfo).port;
  return peer;
}

const failure = async (promise: Promise<unknown>): Promise<OutboundError> => {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OutboundError);
  return err as OutboundError;
};

describe('AddressPolicy', () => {
  it('refuses every non-public address, in any IPv6 form, and allows only what is listed', () => {
    const policy = new AddressPolicy();
    for (const address of [
      '127.0.0.1',
      '127.1.2.3',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::',
      '::1',
      '::ffff:127.0.0.1',
      '::ffff:a9fe:a9fe',
      '64:ff9b::a00:1',
      '2002:7f00:1::',
      'fe80::1',
      'fe80::1%eth0',
      'fd00::1',
      'ff02::1',
    ]) {
      expect(policy.judge(address).allowed, address).toBe(false);
    }
    for (const address of ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888', '::ffff:8.8.8.8'])
      expect(policy.judge(address).allowed, address).toBe(true);
    expect(policy.judge('169.254.169.254')).toEqual({ allowed: false, kind: 'a link-local address' });

    const allowing = new AddressPolicy(['127.0.0.1', '10.1.0.0/16', '::1']);
    expect(allowing.judge('127.0.0.1').allowed).toBe(true);
    expect(allowing.judge('::ffff:127.0.0.1').allowed).toBe(true);
    expect(allowing.judge('10.1.200.3').allowed).toBe(true);
    expect(allowing.judge('::1').allowed).toBe(true);
    expect(allowing.judge('127.0.0.2').allowed).toBe(false);
    expect(allowing.judge('10.2.0.1').allowed).toBe(false);
    expect(() => new AddressPolicy(['localhost'])).toThrow(/not an IP address or CIDR network/);
  });
});

describe('OutboundClient', () => {
  let peer: Awaited<ReturnType<typeof startPeer>>;
  const guarded = new OutboundClient({ allowHttpHosts: ['127.0.0.1', 'localhost'] });
  const allowing = new OutboundClient({
    allowHttpHosts: ['127.0.0.1'],
    allowPrivateNetworks: ['127.0.0.1'],
    maxResponseBytes: 1024 * 1024,
  });
  beforeAll(async () => {
    peer = await startPeer();
  });
  afterAll(async () => {
    guarded.close();
    allowing.close();
    await new Promise((resolve) => peer.server.close(resolve));
  });

  it('refuses loopback, link-local and private targets before connecting, named or literal', async () => {
    const before = peer.connections;
    const literal = await failure(guarded.request(`http://127.0.0.1:${peer.port}/x`, { purpose: 'test' }));
    expect(literal.failure).toBe('address_refused');
    expect(literal.message).toMatch(
      /127\.0\.0\.1, a loopback address; list the network in outbound.allowPrivateNetworks/,
    );
    // A name that resolves to 127.0.0.1 is judged on the address DNS gives, at connect time.
    const named = await failure(guarded.request(`http://localhost:${peer.port}/x`, { purpose: 'test' }));
    expect(named.failure).toBe('address_refused');
    expect(named.message).toMatch(/a loopback address/);
    const mapped = await failure(
      guarded.request(`http://[::ffff:127.0.0.1]:${peer.port}/`, { purpose: 'test' }),
    );
    expect(mapped.failure).toBe('insecure'); // not an allowed http host, so not even judged further
    const metadata = await failure(
      new OutboundClient({ allowHttpHosts: ['169.254.169.254', '10.0.0.1'] }).request(
        'http://169.254.169.254/latest/meta-data/',
        { purpose: 'test' },
      ),
    );
    expect(metadata.message).toMatch(/a link-local address/);
    expect(
      (await failure(guarded.request('https://[::ffff:a9fe:a9fe]/', { purpose: 'test' }))).message,
    ).toMatch(/a link-local address/);
    expect((await failure(guarded.request('https://10.0.0.1/', { purpose: 'test' }))).message).toMatch(
      /a private address/,
    );
    expect(peer.connections).toBe(before);
    // Paths never appear in errors (they may carry patient ids).
    expect(literal.message).not.toContain('/x');
  });

  it('judges the address it connects to, so a name that rebinds to loopback after a first answer gains nothing', async () => {
    // The first answer is public (what a resolve-then-fetch check would see), every later one loopback.
    let answers = 0;
    const rebinding = ((_host: string, _options: unknown, callback: (...args: unknown[]) => void) => {
      const address = answers++ === 0 ? '93.184.216.34' : '127.0.0.1';
      callback(null, [{ address, family: 4 }]);
    }) as unknown as typeof lookup;
    const client = new OutboundClient({ allowHttpHosts: ['rebind.test'] }, rebinding);
    const before = peer.connections;
    answers = 1; // a checker already asked once and was told 93.184.216.34
    const err = await failure(client.request(`http://rebind.test:${peer.port}/`, { purpose: 'test' }));
    expect(err.failure).toBe('address_refused');
    expect(err.message).toMatch(/reached at 127\.0\.0\.1, a loopback address/);
    expect(peer.connections).toBe(before);
    client.close();
  });

  it('requires https except for listed hosts', async () => {
    const strict = new OutboundClient({ allowPrivateNetworks: ['127.0.0.1'] });
    const err = await failure(strict.request(`http://127.0.0.1:${peer.port}/`, { purpose: 'test' }));
    expect(err.failure).toBe('insecure');
    expect(err.message).toMatch(/plain http is allowed only to hosts in outbound.allowHttpHosts/);
    strict.close();
  });

  it('reaches an explicitly allowed private host', async () => {
    const answer = await allowing.request(`http://127.0.0.1:${peer.port}/ok`, { purpose: 'test' });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString())).toEqual({ ok: true, path: '/ok' });
  });

  it('says when to retry a remote end that could not be reached, and not a request its rules refuse', async () => {
    // A port nothing listens on: the connection is refused, a state of the network that can pass.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const down = await failure(allowing.request(`http://127.0.0.1:${port}/`, { purpose: 'test' }));
    expect(down.failure).toBe('network');
    expect(down.retryAfterSeconds).toBe(5);
    // The same request from a client whose rules refuse the address would be refused again.
    const refused = await failure(guarded.request(`http://127.0.0.1:${port}/`, { purpose: 'test' }));
    expect(refused.failure).toBe('address_refused');
    expect(refused.retryAfterSeconds).toBeUndefined();
  });

  it('does not follow a redirect', async () => {
    const before = peer.paths.length;
    const err = await failure(
      allowing.request(`http://127.0.0.1:${peer.port}/redirect`, { purpose: 'test' }),
    );
    expect(err.failure).toBe('redirect');
    expect(err.message).toMatch(/answered 302 \(a redirect\); redirects are not followed/);
    expect(peer.paths.slice(before)).toEqual(['/redirect']);
  });

  it('stops reading an answer without Content-Length once it passes the cap', async () => {
    const err = await failure(allowing.request(`http://127.0.0.1:${peer.port}/endless`, { purpose: 'test' }));
    expect(err.failure).toBe('too_large');
    expect(err.message).toMatch(/answered more than 1048576 bytes/);
    // The peer could not push its 64 MiB: the connection was cut soon after the cap.
    await new Promise((r) => setTimeout(r, 200));
    expect(peer.streamed.finished).toBe(false);
    expect(peer.streamed.bytes).toBeLessThan(32 * 1024 * 1024);
  });

  it('refuses a declared Content-Length above the cap, and a request cap below the setting', async () => {
    const declared = await failure(
      allowing.request(`http://127.0.0.1:${peer.port}/declared-large`, { purpose: 'test' }),
    );
    expect(declared.failure).toBe('too_large');
    const small = await failure(
      allowing.request(`http://127.0.0.1:${peer.port}/ok`, { purpose: 'test', maxBytes: 4 }),
    );
    expect(small.failure).toBe('too_large');
  });

  it('serves jose as a fetch, through the same guards', async () => {
    const fetchJwks = guarded.fetchFor('JWKS fetch');
    const err = await fetchJwks(`http://127.0.0.1:${peer.port}/jwks`, { headers: {} }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OutboundError);
    const ok = await allowing.fetchFor('JWKS fetch')(`http://127.0.0.1:${peer.port}/jwks`, {});
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true, path: '/jwks' });
  });
});
