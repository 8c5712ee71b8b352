/**
 * The audit log when its database refuses writes: a real SQLite file whose audit inserts fail
 * (another connection adds a trigger that aborts them, as a full disk or a broken file would),
 * then recovers. Durable records are refused to their callers; buffered records are kept, retried
 * with back-off, and all written in order once the store takes writes again; the chain verifies.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../core/index.js';
import { openSqliteMetadataStore } from '../store/index.js';
import type { MetadataStore } from '../store/index.js';
import { AuditLog } from './audit-log.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('audit log write failures', () => {
  let dir: string;
  let store: MetadataStore;
  let operator: Database.Database;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'galen-audit-fail-'));
    store = await openSqliteMetadataStore(join(dir, 'galen.db'));
    operator = new Database(join(dir, 'galen.db'));
  });
  afterEach(async () => {
    operator.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const breakWrites = () =>
    operator.exec(
      "CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'the disk refused the write'); END;",
    );
  const repairWrites = () => operator.exec('DROP TRIGGER test_refuse_audit');
  const entry = (action: string, i: number) => ({
    keyId: 'k',
    role: 'service',
    action,
    model: 'm',
    version: 1,
    status: 200,
    requestId: `r${i}`,
    durationMs: 1,
  });

  it('keeps buffered records through failures, backs off, and writes them all once the store recovers', async () => {
    const failures: number[] = [];
    const audit = new AuditLog(store, systemClock, {
      bufferedActions: new Set(['infer']),
      onBufferedError: (_err, records) => failures.push(records),
    });
    await audit.record(entry('infer', 0));
    await audit.flush();
    expect((await store.listAudit({ limit: 10 })).length).toBe(1);

    breakWrites();
    for (let i = 1; i <= 5; i++) await audit.record(entry('infer', i));
    // A change's record is durable before its call answers: its caller is told it failed.
    await expect(audit.record(entry('model.register', 6))).rejects.toThrow(/the disk refused the write/);
    await audit.flush();
    expect(failures.length).toBeGreaterThanOrEqual(3);
    expect(failures.every((n) => n === 5)).toBe(true); // all five kept every time
    // Backed off: retried about once a second, not in a tight loop.
    const afterBackoff = failures.length;
    await sleep(1500);
    expect(failures.length - afterBackoff).toBeLessThanOrEqual(3);
    expect((await store.listAudit({ limit: 10 })).length).toBe(1);

    repairWrites();
    for (let i = 0; i < 100 && (await store.listAudit({ limit: 10 })).length < 6; i++) await sleep(50);
    const written = await store.listAudit({ limit: 10 });
    expect(written.map((r) => r.requestId)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5']);
    expect(written.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    const verified = await audit.verify();
    expect(verified).toMatchObject({ ok: true, records: 6 });
    // And it takes durable records again.
    await expect(audit.record(entry('model.register', 7))).resolves.toMatchObject({ seq: 7 });
  });
});
