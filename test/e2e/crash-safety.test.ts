/**
 * Crash safety of model uploads, end to end: the real `galen serve` process is SIGKILLed while
 * an upload is streaming in, then restarted on the same data folder. Afterwards only complete
 * versions may be listed, each one's artifact must hash to its sha256, load and serve, version
 * numbers must carry on without a gap, and the audit chain must still verify.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CHILD_ADMIN_KEY,
  GalenProcesses,
  artifactPath,
  assertCliBuilt,
  matMulModel,
  runCli,
  sampleRow,
} from '../helpers/galen-process.js';
import type { GalenChild, MatMulModel } from '../helpers/galen-process.js';

const MiB = 1024 * 1024;
const UPLOAD_PATH = '/api/v1/models/m/versions';

const processes = new GalenProcesses();
const dataDirs: string[] = [];
/** ~48 MiB of FP32 weights: large enough that an upload is still streaming when the kill lands. */
let big: MatMulModel;

beforeAll(() => {
  assertCliBuilt();
  big = matMulModel(4096, 3072, 9);
  expect(big.bytes.byteLength).toBeGreaterThan(40 * MiB);
});

afterEach(async () => {
  await processes.killAll();
});

afterAll(async () => {
  await processes.killAll();
  await Promise.all(dataDirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function newDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'galen-crash-'));
  dataDirs.push(dir);
  return dir;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Staged (unfinished) upload files in the artifact store's scratch folder, by name. */
async function stagedFiles(dataDir: string): Promise<Map<string, number>> {
  const dir = join(dataDir, 'artifacts', 'tmp');
  const names = await readdir(dir).catch(() => [] as string[]);
  const sizes = new Map<string, number>();
  for (const name of names) {
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (info) sizes.set(name, info.size);
  }
  return sizes;
}

/** Every file in the artifact store proper, with the digest its name claims. */
async function storedArtifacts(dataDir: string): Promise<{ name: string; path: string }[]> {
  const root = join(dataDir, 'artifacts', 'sha256');
  const files: { name: string; path: string }[] = [];
  for (const prefix of await readdir(root).catch(() => [] as string[])) {
    for (const name of await readdir(join(root, prefix)))
      files.push({ name, path: join(root, prefix, name) });
  }
  return files;
}

type UploadOutcome = { status: number; body: string } | { error: Error };

interface StalledUpload {
  /** Settles when the server answers or the connection breaks. */
  readonly outcome: Promise<UploadOutcome>;
  readonly settled: () => boolean;
  /** Drops the connection from the client side. */
  abort(): void;
}

/**
 * Starts uploading `bytes` as a real client would (full Content-Length, streamed body) but sends
 * only the first `sendBytes`, then stalls with the request still open.
 */
async function startStalledUpload(url: string, bytes: Uint8Array, sendBytes: number): Promise<StalledUpload> {
  let settled = false;
  const req = request(new URL(UPLOAD_PATH, url), {
    method: 'POST',
    headers: {
      authorization: `Bearer ${CHILD_ADMIN_KEY}`,
      'content-type': 'application/octet-stream',
      'content-length': String(bytes.byteLength),
    },
  });
  const outcome = new Promise<UploadOutcome>((resolve) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (error) => resolve({ error }));
    });
    req.on('error', (error) => resolve({ error }));
  }).finally(() => {
    settled = true;
  });
  for (let at = 0; at < sendBytes && !settled; at += MiB) {
    if (!req.write(bytes.subarray(at, Math.min(at + MiB, sendBytes)))) {
      await Promise.race([new Promise((r) => req.once('drain', r)), outcome]);
    }
  }
  return { outcome, settled: () => settled, abort: () => req.destroy() };
}

async function register(server: GalenChild, model: MatMulModel): Promise<number> {
  const res = await server.call('POST', UPLOAD_PATH, { body: model.bytes });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.sha256).toBe(model.sha256);
  return res.body.version as number;
}

/**
 * The user-visible promise after a crash: the listed versions are exactly `expected`, each one's
 * file is in the store and hashes to its sha256, and each loads and answers correctly. No file
 * in the store is half-written (every one hashes to its name).
 */
async function expectOnlyCompleteVersions(
  server: GalenChild,
  expected: ReadonlyMap<number, MatMulModel>,
): Promise<void> {
  const detail = await server.call('GET', '/api/v1/models/m');
  expect(detail.status).toBe(200);
  const listed = detail.body.versions as { version: number; sha256: string; sizeBytes: number }[];
  expect(listed.map((v) => v.version)).toEqual([...expected.keys()]);
  expect(detail.body.latestVersion).toBe(Math.max(...expected.keys()));

  for (const v of listed) {
    const model = expected.get(v.version)!;
    expect(v.sha256).toBe(model.sha256);
    expect(v.sizeBytes).toBe(model.bytes.byteLength);
    expect(await sha256OfFile(artifactPath(server.dataDir, v.sha256))).toBe(v.sha256);

    const ready = await server.call('GET', `/v2/models/m/versions/${v.version}/ready`);
    expect(ready.status, JSON.stringify(ready.body)).toBe(200);
    const x = sampleRow(model.inputs, v.version);
    const infer = await server.call('POST', `/v2/models/m/versions/${v.version}/infer`, {
      body: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, model.inputs], data: x }] },
    });
    expect(infer.status, JSON.stringify(infer.body)).toBe(200);
    expect(infer.body.model_version).toBe(String(v.version));
    expect(infer.body.outputs[0].shape).toEqual([1, model.outputs]);
    expect(infer.body.outputs[0].data).toEqual(model.expected(x));
  }

  for (const file of await storedArtifacts(server.dataDir)) {
    expect(await sha256OfFile(file.path), `artifact file ${file.path}`).toBe(file.name);
  }
}

async function expectAuditIntact(
  dataDir: string,
): Promise<{ action: string; status: number; version: number | null }[]> {
  const verify = await runCli(['audit', 'verify'], dataDir);
  expect(verify.code, verify.stderr).toBe(0);
  expect(verify.stdout).toContain('intact');
  const list = await runCli(['audit', 'list', '--json', '--limit', '1000'], dataDir);
  expect(list.code, list.stderr).toBe(0);
  return JSON.parse(list.stdout) as { action: string; status: number; version: number | null }[];
}

describe('crash safety of uploads (galen serve, SIGKILL)', () => {
  it('a SIGKILL mid-upload leaves only complete versions that load and match their sha256', async () => {
    const dataDir = await newDataDir();
    let server = await processes.start(dataDir);
    const v1 = matMulModel(4, 2, 1);
    expect(await register(server, v1)).toBe(1);

    const before = await stagedFiles(dataDir);
    const upload = await startStalledUpload(server.url, big.bytes, 8 * MiB);
    // The server has accepted and written part of the upload…
    await waitFor('the server to stage part of the upload', async () =>
      [...(await stagedFiles(dataDir))].some(([name, size]) => !before.has(name) && size >= MiB),
    );
    // …and has not finished it, when it dies.
    expect(upload.settled()).toBe(false);
    await server.kill();
    expect(await upload.outcome).toHaveProperty('error');

    server = await processes.start(dataDir);
    await expectOnlyCompleteVersions(server, new Map([[1, v1]]));
    expect(await stat(artifactPath(dataDir, big.sha256)).catch(() => undefined)).toBeUndefined();

    // The interrupted upload took no version number.
    const v2 = matMulModel(4, 2, 2);
    expect(await register(server, v2)).toBe(2);
    await expectOnlyCompleteVersions(
      server,
      new Map([
        [1, v1],
        [2, v2],
      ]),
    );

    expect(await server.stop()).toBe(0);
    const records = await expectAuditIntact(dataDir);
    // The interrupted upload never answered, so it left no record; both real uploads did.
    expect(records.filter((r) => r.action === 'model.register')).toMatchObject([
      { status: 201, version: 1 },
      { status: 201, version: 2 },
    ]);
  });

  it('a SIGKILL with several uploads in flight loses only the unfinished ones', async () => {
    const dataDir = await newDataDir();
    let server = await processes.start(dataDir);
    const v1 = matMulModel(4, 2, 1);
    expect(await register(server, v1)).toBe(1);

    const before = await stagedFiles(dataDir);
    const uploads = await Promise.all(
      [1, 2, 3].map(() => startStalledUpload(server.url, big.bytes, 4 * MiB)),
    );
    await waitFor('the server to stage part of all three uploads', async () => {
      const fresh = [...(await stagedFiles(dataDir))].filter(([name]) => !before.has(name));
      return fresh.length === 3 && fresh.every(([, size]) => size >= MiB);
    });
    // While the big uploads are stuck mid-body, a small one completes and is committed.
    const v2 = matMulModel(4, 2, 2);
    expect(await register(server, v2)).toBe(2);
    expect(uploads.map((u) => u.settled())).toEqual([false, false, false]);

    await server.kill();
    for (const upload of uploads) expect(await upload.outcome).toHaveProperty('error');

    server = await processes.start(dataDir);
    const survivors = new Map([
      [1, v1],
      [2, v2],
    ]);
    await expectOnlyCompleteVersions(server, survivors);

    // The same large file, sent whole after the restart, registers as the next version and serves.
    expect(await register(server, big)).toBe(3);
    await expectOnlyCompleteVersions(server, new Map([...survivors, [3, big]]));

    expect(await server.stop()).toBe(0);
    const records = await expectAuditIntact(dataDir);
    expect(records.filter((r) => r.action === 'model.register')).toMatchObject([
      { status: 201, version: 1 },
      { status: 201, version: 2 },
      { status: 201, version: 3 },
    ]);
  });

  it('an upload the client abandons is cleaned up at once and takes no version number', async () => {
    const dataDir = await newDataDir();
    const server = await processes.start(dataDir);
    const v1 = matMulModel(4, 2, 1);
    expect(await register(server, v1)).toBe(1);

    const upload = await startStalledUpload(server.url, big.bytes, 8 * MiB);
    await waitFor('the server to stage part of the upload', async () =>
      [...(await stagedFiles(dataDir)).values()].some((size) => size >= MiB),
    );
    upload.abort();
    expect(await upload.outcome).toHaveProperty('error');
    await waitFor(
      'the server to remove the abandoned upload',
      async () => (await stagedFiles(dataDir)).size === 0,
    );

    const v2 = matMulModel(4, 2, 2);
    expect(await register(server, v2)).toBe(2);
    await expectOnlyCompleteVersions(
      server,
      new Map([
        [1, v1],
        [2, v2],
      ]),
    );
  });
});
