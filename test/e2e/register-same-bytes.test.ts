/**
 * Registering the same ONNX bytes again is idempotent on every upload path: the native upload
 * answers 200 with the existing version and `alreadyRegistered: true` (201 only for a new
 * version), Triton's repository load with a file loads the existing version, and `galen models
 * register` says "already registered as version N". Other bytes, or bytes whose only version is
 * archived, make a new version. Real server, real SQLite and ONNX Runtime, the real CLI.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli } from '../helpers/galen-process.js';
import { createTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { identityModel } from '../helpers/tiny-models.js';

describe('registering the same bytes again', () => {
  let server: TestServer;
  const fp32 = identityModel('FP32');
  const fp64 = identityModel('FP64');
  const upload = (model: string, bytes: Uint8Array) =>
    server.call('POST', `/api/v1/models/${model}/versions`, { body: bytes });
  const versionsOf = async (model: string): Promise<number[]> =>
    (await server.call('GET', `/api/v1/models/${model}`)).body.versions.map(
      (v: { version: number }) => v.version,
    );

  beforeAll(async () => {
    server = await createTestServer();
  });
  afterAll(async () => server.close());

  it('native upload: 201 for new bytes, then 200 with the existing version for the same bytes', async () => {
    const first = await upload('retry', fp32);
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body.version).toBe(1);
    expect(first.body.alreadyRegistered).toBeUndefined();
    for (let i = 0; i < 2; i++) {
      const again = await upload('retry', fp32);
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      expect(again.body).toMatchObject({
        model: 'retry',
        version: 1,
        sha256: first.body.sha256,
        alreadyRegistered: true,
      });
    }
    expect(await versionsOf('retry')).toEqual([1]);

    const other = await upload('retry', fp64);
    expect(other.status).toBe(201);
    expect(other.body.version).toBe(2);
    // Bytes of an earlier version (not the latest) are that version.
    const back = await upload('retry', fp32);
    expect(back.status).toBe(200);
    expect(back.body.version).toBe(1);
    expect(await versionsOf('retry')).toEqual([1, 2]);

    // The same bytes under another model are that model's own first version.
    expect((await upload('retry-elsewhere', fp32)).status).toBe(201);
  });

  it('bytes whose only version is archived make a new version', async () => {
    expect((await upload('archived-bytes', fp32)).status).toBe(201);
    expect((await upload('archived-bytes', fp64)).status).toBe(201);
    const archived = await server.call('POST', '/api/v1/models/archived-bytes/versions/1/archive');
    expect(archived.status, JSON.stringify(archived.body)).toBe(200);
    const again = await upload('archived-bytes', fp32);
    expect(again.status).toBe(201);
    expect(again.body.version).toBe(3);
  });

  it("Triton's repository load with the same file loads the existing version", async () => {
    const load = () =>
      server.call('POST', '/v2/repository/models/triton-retry/load', {
        body: { parameters: { 'file:1/model.onnx': Buffer.from(fp32).toString('base64') } },
      });
    const first = await load();
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ registered_version: '1' });
    expect(first.body.already_registered).toBeUndefined();
    const second = await load();
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(second.body).toMatchObject({
      registered_version: '1',
      already_registered: true,
      loaded_versions: ['1'],
    });
    expect(await versionsOf('triton-retry')).toEqual([1]);
  });

  it('galen models register says the bytes are already registered', async () => {
    assertCliBuilt();
    const dir = await mkdtemp(join(tmpdir(), 'galen-register-'));
    try {
      const file = join(dir, 'model.onnx');
      await writeFile(file, fp32);
      const first = await runCli(['models', 'register', 'cli-retry', file], dir);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/^registered cli-retry version 1 \(sha256 [0-9a-f]{64}\)/);
      const second = await runCli(['models', 'register', 'cli-retry', file], dir);
      expect(second.code, second.stderr).toBe(0);
      expect(second.stdout).toMatch(
        /^cli-retry already registered as version 1 \(same sha256 [0-9a-f]{64}\)/,
      );
      const json = await runCli(['models', 'register', 'cli-retry', file, '--json'], dir);
      expect(JSON.parse(json.stdout)).toMatchObject({ version: 1, alreadyRegistered: true });
      const list = await runCli(['models', 'list', '--json'], dir);
      expect(JSON.parse(list.stdout)).toMatchObject([{ name: 'cli-retry', latestVersion: 1 }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
