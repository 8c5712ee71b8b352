/**
 * `galen audit verify` and `galen keys …` end to end: a real server child writes a real audit
 * log, then the built CLI checks it. The log must verify as written and fail, naming the record,
 * once any record is edited, removed or re-sealed behind the database's back.
 */
import type { Selectable } from 'kysely';
import type { AuditLogTable } from '../../src/store/schema.js';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auditHash } from '../../src/security/index.js';
import {
  CHILD_ADMIN_KEY,
  GalenProcesses,
  assertCliBuilt,
  matMulModel,
  runCli,
} from '../helpers/galen-process.js';

const processes = new GalenProcesses();
const dataDirs: string[] = [];

async function newDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'galen-audit-'));
  dataDirs.push(dir);
  return dir;
}

/** A raw audit_log row, as the tampering below sees it in SQLite. */
type AuditRow = Selectable<AuditLogTable>;

interface Verification {
  ok: boolean;
  records: number;
  head: { seq: number; hash: string } | null;
  brokenAt?: number;
  reason?: string;
}

/** `galen audit verify --json`; with `text`, also the plain run, which must agree on the exit code. */
async function verify(
  dataDir: string,
  options: { text?: boolean } = {},
): Promise<{ code: number | null; text: string; json: Verification }> {
  const [json, text] = await Promise.all([
    runCli(['audit', 'verify', '--json'], dataDir),
    options.text ? runCli(['audit', 'verify'], dataDir) : undefined,
  ]);
  if (text) expect(text.code, text.stderr).toBe(json.code);
  return { code: json.code, text: text?.stdout ?? '', json: JSON.parse(json.stdout) as Verification };
}

afterEach(async () => {
  await processes.killAll();
});

afterAll(async () => {
  await processes.killAll();
  await Promise.all(dataDirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('galen audit verify on a real log', () => {
  /** Feature values sent for inference; they must never reach the audit log. */
  const features = [13.371337, 42.424242, 7.777001, 99.123456];
  let logDir: string;
  let serviceKey: string;
  /** What the calls below should have recorded, in order. */
  const expected = [
    { action: 'model.register', status: 201, keyId: 'env-admin', version: 1 },
    { action: 'infer', status: 200, keyId: 'env-admin', version: 1 },
    { action: 'infer', status: 200, keyId: 'env-admin', version: 1 },
    { action: 'infer', status: 200, keyId: 'env-admin', version: 1 },
    { action: 'alias.set', status: 200, keyId: 'env-admin', version: 1 },
    { action: 'key.create', status: 201, keyId: 'env-admin', model: null },
    { action: 'infer', status: 200, role: 'service', version: 1 },
    { action: 'infer', status: 401, keyId: null, role: null },
    { action: 'model.register', status: 403, role: 'service' },
  ];

  beforeAll(async () => {
    assertCliBuilt();
    logDir = await newDataDir();
    const server = await processes.start(logDir);
    const model = matMulModel(4, 2, 1);
    const infer = (key?: string | null): Promise<{ status: number; body: any }> =>
      server.call('POST', '/v2/models/m/infer', {
        key,
        body: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: features }] },
      });

    expect((await server.call('POST', '/api/v1/models/m/versions', { body: model.bytes })).status).toBe(201);
    for (let i = 0; i < 3; i++) expect((await infer()).status).toBe(200);
    const alias = await server.call('PUT', '/api/v1/models/m/aliases/staging', { body: { version: 1 } });
    expect(alias.status, JSON.stringify(alias.body)).toBe(200);
    const created = await server.call('POST', '/api/v1/keys', { body: { name: 'svc', role: 'service' } });
    expect(created.status).toBe(201);
    serviceKey = created.body.key as string;
    expect((await infer(serviceKey)).status).toBe(200);
    expect((await infer(null)).status).toBe(401);
    const denied = await server.call('POST', '/api/v1/models/m/versions', {
      key: serviceKey,
      body: model.bytes,
    });
    expect(denied.status).toBe(403);

    expect(await server.stop()).toBe(0);
  });

  /** A private copy of the log's database, so each tampering case starts from the real log. */
  async function copyOfLog(): Promise<string> {
    const dir = await newDataDir();
    for (const suffix of ['', '-wal', '-shm']) {
      const from = join(logDir, `galen.db${suffix}`);
      if (existsSync(from)) await copyFile(from, join(dir, `galen.db${suffix}`));
    }
    return dir;
  }

  /** Opens the copy as an attacker with file access would; `unlock` drops the append-only triggers. */
  function tamper<T>(dir: string, fn: (db: Database.Database) => T, unlock = true): T {
    const db = new Database(join(dir, 'galen.db'));
    try {
      if (unlock) {
        db.exec('DROP TRIGGER IF EXISTS audit_log_no_update');
        db.exec('DROP TRIGGER IF EXISTS audit_log_no_delete');
      }
      const result = fn(db);
      // A careful attacker puts the guard back, so only the hash chain can give them away.
      if (unlock) restoreTriggers(db);
      return result;
    } finally {
      db.close();
    }
  }

  function restoreTriggers(db: Database.Database): void {
    db.exec(`CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`);
    db.exec(`CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`);
  }

  const row = (db: Database.Database, seq: number): AuditRow =>
    db.prepare('SELECT * FROM audit_log WHERE seq = ?').get(seq) as AuditRow;

  it('passes on the log as written, which holds every audited call and no payloads or secrets', async () => {
    const result = await verify(logDir, { text: true });
    expect(result.code).toBe(0);
    expect(result.text).toContain('intact');
    expect(result.json).toMatchObject({ ok: true, records: expected.length, head: { seq: expected.length } });

    const list = await runCli(['audit', 'list', '--json'], logDir);
    expect(list.code, list.stderr).toBe(0);
    const records = JSON.parse(list.stdout) as Record<string, unknown>[];
    expect(records).toMatchObject(expected.map((e) => ({ model: 'm', ...e })));
    expect(records.map((r) => r['seq'])).toEqual(expected.map((_, i) => i + 1));
    for (const value of features) expect(list.stdout).not.toContain(String(value));
    expect(list.stdout).not.toContain(serviceKey);
    expect(list.stdout).not.toContain(serviceKey.slice('galen_'.length + 17));
    expect(list.stdout).not.toContain(CHILD_ADMIN_KEY);
  });

  it('the database itself refuses to edit or delete audit records', async () => {
    const dir = await copyOfLog();
    tamper(
      dir,
      (db) => {
        expect(() => db.prepare('UPDATE audit_log SET status = 200 WHERE seq = 8').run()).toThrow(
          /append-only/,
        );
        expect(() => db.prepare('DELETE FROM audit_log WHERE seq = 8').run()).toThrow(/append-only/);
      },
      false,
    );
    expect((await verify(dir)).json).toMatchObject({ ok: true, records: expected.length });
  });

  it.each([
    ['status', 200],
    ['duration_ms', 0.5],
    ['detail', '{"note":"nothing to see"}'],
    ['key_id', 'env-admin'],
    ['time', '2020-01-01T00:00:00.000Z'],
  ] as const)('fails naming the record when its %s is edited', async (column, value) => {
    const dir = await copyOfLog();
    // Record 8 is the denied (401) call: the one an intruder would most like to hide.
    tamper(dir, (db) => db.prepare(`UPDATE audit_log SET ${column} = ? WHERE seq = 8`).run(value));
    const result = await verify(dir);
    expect(result.code).toBe(1);
    expect(result.json).toMatchObject({ ok: false, brokenAt: 8, records: 7 });
    expect(result.json.reason).toContain('record 8 was altered');
  });

  it('says which record broke, and passes again once the true value is restored', async () => {
    const dir = await copyOfLog();
    const original = tamper(dir, (db) => {
      const before = row(db, 8).status;
      db.prepare('UPDATE audit_log SET status = 200 WHERE seq = 8').run();
      return before;
    });
    expect(original).toBe(401);
    const broken = await verify(dir, { text: true });
    expect(broken.code).toBe(1);
    expect(broken.text).toContain('BROKEN at record 8');

    tamper(dir, (db) => db.prepare('UPDATE audit_log SET status = ? WHERE seq = 8').run(original));
    expect(await verify(dir)).toMatchObject({ code: 0, json: { ok: true, records: expected.length } });
  });

  it('fails naming a deleted record as missing', async () => {
    const dir = await copyOfLog();
    tamper(dir, (db) => db.prepare('DELETE FROM audit_log WHERE seq = 5').run());
    const result = await verify(dir, { text: true });
    expect(result.code).toBe(1);
    expect(result.text).toContain('BROKEN at record 5');
    expect(result.json).toMatchObject({ ok: false, brokenAt: 5, records: 4, reason: 'record 5 is missing' });
  });

  it("fails when the last record's hash is replaced by another well-formed digest", async () => {
    const dir = await copyOfLog();
    const last = expected.length;
    tamper(dir, (db) => {
      // A real sha256 of the record's chain position, just not the one its fields seal to.
      const fake = auditHash(row(db, last).prev_hash, last + 1, {
        time: '2020-01-01T00:00:00.000Z',
        keyId: null,
        role: null,
        action: 'infer',
        model: 'm',
        version: null,
        status: 200,
        requestId: null,
        durationMs: 1,
        detail: {},
      });
      expect(fake).toMatch(/^[0-9a-f]{64}$/);
      db.prepare('UPDATE audit_log SET hash = ? WHERE seq = ?').run(fake, last);
    });
    const result = await verify(dir);
    expect(result.code).toBe(1);
    expect(result.json).toMatchObject({ ok: false, brokenAt: last, records: last - 1 });
  });

  it('detects records cut off the end once given the head printed earlier, and dropped triggers', async () => {
    const dir = await copyOfLog();
    const before = await verify(dir, { text: true });
    expect(before.text).toMatch(/head: \d+:[0-9a-f]{64}/);
    const head = before.json.head!;
    tamper(dir, (db) => db.prepare('DELETE FROM audit_log WHERE seq = ?').run(head.seq));
    // The shortened chain is still internally consistent ...
    expect((await verify(dir)).code).toBe(0);
    // ... but not against the anchor kept from before.
    const anchored = await runCli(['audit', 'verify', '--json', '--anchor', `${head.seq}:${head.hash}`], dir);
    expect(anchored.code).toBe(1);
    expect(JSON.parse(anchored.stdout)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/removed from its end/),
    });

    const dropped = await copyOfLog();
    tamper(dropped, (db) => db.exec('DROP TRIGGER audit_log_no_update'), false);
    const unguarded = await verify(dropped);
    expect(unguarded.code).toBe(1);
    expect(unguarded.json.reason).toMatch(/append-only were removed/);
  });

  it('fails at the next record when an edited record is re-sealed with a correct hash of its own', async () => {
    const dir = await copyOfLog();
    tamper(dir, (db) => {
      const r = row(db, 8);
      const forged = { ...r, status: 200, key_id: 'env-admin', role: 'admin' };
      const hash = auditHash(r.prev_hash, 8, {
        time: forged.time,
        keyId: forged.key_id,
        role: forged.role,
        action: forged.action,
        model: forged.model,
        version: forged.version,
        status: forged.status,
        requestId: forged.request_id,
        durationMs: forged.duration_ms,
        detail: JSON.parse(forged.detail) as Record<string, unknown>,
      });
      db.prepare('UPDATE audit_log SET status = ?, key_id = ?, role = ?, hash = ? WHERE seq = 8').run(
        forged.status,
        forged.key_id,
        forged.role,
        hash,
      );
    });
    const result = await verify(dir);
    expect(result.code).toBe(1);
    expect(result.json).toMatchObject({ ok: false, brokenAt: 9, records: 8 });
    expect(result.json.reason).toContain('record 9 does not link to record 8');
  });
});

describe('galen keys on the command line', () => {
  beforeAll(() => {
    assertCliBuilt();
  });

  it('creates a key a running server accepts, and revoking it locks the key out', async () => {
    const dataDir = await newDataDir();
    const created = await runCli(['keys', 'create', '--role', 'service', '--name', 'x', '--json'], dataDir);
    expect(created.code, created.stderr).toBe(0);
    const { key, info } = JSON.parse(created.stdout) as { key: string; info: { id: string; role: string } };
    expect(key).toMatch(/^galen_[0-9a-f]{16}_/);
    expect(info).toMatchObject({ role: 'service', name: 'x' });

    const server = await processes.start(dataDir);
    expect((await server.call('GET', '/api/v1/models', { key })).status).toBe(200);
    // A service key reads and infers; it does not manage keys.
    expect(
      (await server.call('POST', '/api/v1/keys', { key, body: { name: 'y', role: 'admin' } })).status,
    ).toBe(403);

    const revoked = await runCli(['keys', 'revoke', info.id], dataDir);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain(`revoked key ${info.id}`);
    // The server caches a verified key for at most 5 s, so the revocation lands within that.
    const revokedAt = Date.now();
    let status = 0;
    while (Date.now() - revokedAt < 8_000) {
      status = (await server.call('GET', '/api/v1/models', { key })).status;
      if (status === 401) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(401);
    expect(await server.stop()).toBe(0);

    // The CLI's changes are on the same hash chain as the server's calls.
    const result = await verify(dataDir);
    expect(result.code).toBe(0);
    const list = await runCli(['audit', 'list', '--json'], dataDir);
    const records = JSON.parse(list.stdout) as Record<string, unknown>[];
    expect(records.filter((r) => r['keyId'] === 'local-cli')).toMatchObject([
      { action: 'key.create', status: 200, detail: { role: 'service', via: 'cli' } },
      { action: 'key.revoke', status: 200, detail: { keyId: info.id, via: 'cli' } },
    ]);
    expect(list.stdout).not.toContain(key.slice('galen_'.length + 17));
  });

  it('audit list --limit shows the newest records, oldest first; --after pages forward', async () => {
    const dataDir = await newDataDir();
    for (const name of ['k1', 'k2', 'k3', 'k4']) {
      const created = await runCli(['keys', 'create', '--role', 'service', '--name', name], dataDir);
      expect(created.code, created.stderr).toBe(0);
    }
    const list = async (args: string[]): Promise<{ seq: number; detail: { name?: string } }[]> => {
      const run = await runCli(['audit', 'list', '--json', ...args], dataDir);
      expect(run.code, run.stderr).toBe(0);
      return JSON.parse(run.stdout) as { seq: number; detail: { name?: string } }[];
    };
    const all = await list([]);
    expect(all.length).toBeGreaterThanOrEqual(4);
    const last = all.slice(-2).map((r) => r.seq);
    expect((await list(['--limit', '2'])).map((r) => r.seq)).toEqual(last);
    expect((await list(['--after', String(all[0]!.seq), '--limit', '1'])).map((r) => r.seq)).toEqual([
      all[1]!.seq,
    ]);
  });
});
