import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openSqliteMetadataStore } from '../store/index.js';
import type { AuditRecord, MetadataStore } from '../store/index.js';
import { ApiKeys } from './api-keys.js';
import { AuditLog, auditHash } from './audit-log.js';

let dbPath: string;
let store: MetadataStore;
let now = 1_700_000_000_000;
const clock = { now: () => now };

beforeEach(async () => {
  dbPath = join(mkdtempSync(join(tmpdir(), 'galen-sec-')), 'galen.db');
  store = await openSqliteMetadataStore(dbPath);
});
afterEach(async () => store.close());

describe('ApiKeys', () => {
  it('authenticates a created key, never stores its secret, and stops after revocation', async () => {
    const keys = new ApiKeys(store, clock);
    const { key, info } = await keys.create({ name: 'ward app', role: 'service', createdBy: 'test' });
    expect(key).toMatch(/^galen_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(await keys.authenticate(key)).toEqual({ keyId: info.id, role: 'service' });
    const stored = await store.getKey(info.id);
    expect(JSON.stringify(stored)).not.toContain(key.slice('galen_'.length + 17));
    await keys.revoke(info.id);
    await expect(keys.authenticate(key)).rejects.toMatchObject({ code: 'unauthorized' });
  });

  it('accepts the configured admin key without storing it', async () => {
    const keys = new ApiKeys(store, clock, 'configured-admin-key-123456');
    expect(await keys.authenticate('configured-admin-key-123456')).toEqual({
      keyId: 'env-admin',
      role: 'admin',
    });
    await expect(keys.authenticate('configured-admin-key-123457')).rejects.toMatchObject({
      code: 'unauthorized',
    });
    expect(await store.listKeys()).toEqual([]);
    expect(await keys.hasAdmin()).toBe(true);
  });
});

describe('AuditLog', () => {
  /** Five records, then `forge` run on the database file by a second connection, as someone with file access would. */
  async function forgedLog(
    forge: (db: Database.Database, records: AuditRecord[]) => void,
  ): Promise<AuditLog> {
    const audit = new AuditLog(store, clock);
    for (let i = 0; i < 5; i++) {
      now += 1000;
      await audit.record({
        keyId: 'k',
        role: 'service',
        action: 'infer',
        model: 'm',
        version: 1,
        status: 200,
        durationMs: i + 0.5,
      });
    }
    expect(await audit.verify()).toMatchObject({ ok: true, records: 5, head: { seq: 5 } });
    const records = await audit.list();
    expect(records[1]!.prevHash).toBe(records[0]!.hash);
    const db = new Database(dbPath);
    try {
      // The append-only triggers are dropped for the forgery and put back, so only the chain can tell.
      db.exec('DROP TRIGGER audit_log_no_update');
      forge(db, records);
      db.exec(`CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`);
    } finally {
      db.close();
    }
    return audit;
  }

  it('verify reports the first record altered in the database', async () => {
    const audit = await forgedLog((db) => db.exec('UPDATE audit_log SET status = 500 WHERE seq IN (3, 4)'));
    const result = await audit.verify();
    expect(result).toMatchObject({ ok: false, brokenAt: 3, records: 2, head: { seq: 2 } });
    expect(result.reason).toBe('record 3 was altered after it was written');
  });

  it('verify reports a record whose stored hash was replaced', async () => {
    const audit = await forgedLog((db) =>
      db.exec(`UPDATE audit_log SET hash = '${'0'.repeat(64)}' WHERE seq = 2`),
    );
    const result = await audit.verify();
    expect(result).toMatchObject({ ok: false, brokenAt: 2, records: 1 });
    expect(result.reason).toBe('record 2 was altered after it was written');
  });

  it("verify reports the next link when a forger also rewrites the altered record's hash", async () => {
    const audit = await forgedLog((db, records) => {
      const r = records[2]!;
      db.prepare('UPDATE audit_log SET status = 500, hash = ? WHERE seq = 3').run(
        auditHash(r.prevHash, r.seq, { ...r, status: 500 }),
      );
    });
    const result = await audit.verify();
    expect(result).toMatchObject({ ok: false, brokenAt: 4, records: 3, head: { seq: 3 } });
    expect(result.reason).toBe('record 4 does not link to record 3');
  });

  it('serialises concurrent appends into one unbroken chain', async () => {
    const audit = new AuditLog(store, clock);
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        audit.record({ keyId: 'k', role: 'admin', action: 'x', status: 200, durationMs: i }),
      ),
    );
    expect(await audit.verify()).toMatchObject({ ok: true, records: 50 });
  });

  it('writes buffered actions behind the caller, in order, and waits once the buffer is full', async () => {
    const audit = new AuditLog(store, clock, { bufferedActions: new Set(['infer']), maxBuffered: 3 });
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        audit.record({ keyId: 'k', role: 'service', action: 'infer', status: 200, durationMs: i }),
      ),
    );
    // The first three were accepted into the buffer; the rest waited for the disk.
    expect(results.slice(0, 3)).toEqual([undefined, undefined, undefined]);
    expect(results.slice(3).map((r) => r?.seq)).toEqual([4, 5, 6]);
    const durable = await audit.record({
      keyId: 'k',
      role: 'admin',
      action: 'key.create',
      status: 201,
      durationMs: 1,
    });
    expect(durable?.seq).toBe(7);
    await audit.flush();
    const all = await audit.list();
    expect(all.map((r) => r.durationMs)).toEqual([0, 1, 2, 3, 4, 5, 1]);
    expect(await audit.verify()).toMatchObject({ ok: true, records: 7 });
  });

  it('writes a burst of buffered records in one commit once the delay passes, without anyone flushing', async () => {
    // The delay is a timer: faked, it passes when the test says, whatever the machine's speed.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      // Every commit the audit log makes, by its size (the real store still writes each one).
      const commits: number[] = [];
      const counting = new Proxy(store, {
        get(target, property) {
          if (property === 'appendAudit') {
            return (...args: Parameters<MetadataStore['appendAudit']>) => {
              commits.push(args[0].length);
              return target.appendAudit(...args);
            };
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      const audit = new AuditLog(counting, clock, { bufferedActions: new Set(['infer']), bufferDelayMs: 5 });
      for (let i = 0; i < 20; i++) {
        await audit.record({ keyId: 'k', role: 'service', action: 'infer', status: 200, durationMs: i });
      }
      await vi.advanceTimersByTimeAsync(4);
      expect(commits).toEqual([]); // still waiting for company
      expect(await store.listAudit({ limit: 100 })).toHaveLength(0);
      await vi.advanceTimersByTimeAsync(1);
      await vi.waitFor(() => expect(commits).toEqual([20]));
      await vi.waitFor(async () => expect(await store.listAudit({ limit: 100 })).toHaveLength(20));
      expect(await audit.verify()).toMatchObject({ ok: true, records: 20 });
      expect(commits).toEqual([20]);
    } finally {
      vi.useRealTimers();
    }
  });
});
