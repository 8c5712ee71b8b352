/**
 * The metadata store on every engine (SQLite, and PostgreSQL when GALEN_TEST_DATABASE_URL is set):
 * a transaction spans every repository (a version, its card, an alias and the audit record
 * written with them commit or roll back together), records read back exactly as written, the
 * audit log refuses edits, and the change tokens move on their own topic's writes, here and in
 * another store on the same database (another replica) within a second.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  RECORD_TIME,
  keyRecord,
  metadataStoreFactories,
  modelRecord,
  versionRecord,
  within,
} from '../../test/helpers/stores.js';
import type { TestDatabase } from '../../test/helpers/stores.js';
import type { MetadataStore } from './metadata-store.js';
import type { NewAuditRecord } from './records.js';

const at = RECORD_TIME;
const model = modelRecord();
const version = versionRecord();
const registered: NewAuditRecord = {
  time: at,
  keyId: 'k',
  role: 'admin',
  action: 'register',
  model: 'm',
  version: 1,
  status: 201,
  requestId: 'r1',
  durationMs: 1,
  detail: {},
};
const key = keyRecord();
const seal = (prevHash: string, seq: number): string => `${prevHash.slice(0, 8)}:${seq}`;

for (const factory of metadataStoreFactories()) {
  describe.skipIf(factory.skip !== undefined)(`${factory.name} metadata store`, () => {
    let database: TestDatabase;
    let store: MetadataStore;
    beforeEach(async () => {
      database = await factory.create();
      store = await database.open();
    });
    afterEach(() => database.drop());

    const register = async (tx: MetadataStore): Promise<void> => {
      await tx.insertModel(model);
      await tx.insertVersion(version);
      await tx.insertModelCard('m', 1, { title: 'card' });
      await tx.upsertAlias({ model: 'm', alias: 'production', version: 1, updatedAt: at, updatedBy: 'k' });
      await tx.appendAudit([registered], seal);
      // Inside, every repository reads the transaction's own writes.
      expect((await tx.getVersion('m', 1))?.sha256).toBe(version.sha256);
      expect(await tx.listAudit({ limit: 10 })).toHaveLength(1);
    };

    it('rolls back every repository’s writes when a transaction fails', async () => {
      await expect(
        store.transaction(async (tx) => {
          await register(tx);
          throw new Error('refused after writing');
        }),
      ).rejects.toThrow('refused after writing');
      expect(await store.getModel('m')).toBeUndefined();
      expect(await store.getVersion('m', 1)).toBeUndefined();
      expect(await store.getModelCard('m', 1)).toBeUndefined();
      expect(await store.listAliases('m')).toEqual([]);
      expect(await store.listAudit({ limit: 10 })).toEqual([]);
    });

    it('commits a version, its card, an alias and its audit record together', async () => {
      await store.transaction(register);
      expect((await store.getVersion('m', 1))?.sha256).toBe(version.sha256);
      expect(await store.getModelCard('m', 1)).toEqual({ title: 'card' });
      expect((await store.getAlias('m', 'production'))?.version).toBe(1);
      const audit = await store.listAudit({ limit: 10 });
      expect(audit.map((r) => [r.seq, r.action, r.hash])).toEqual([[1, 'register', '00000000:1']]);
      // The chain goes on from the committed record, outside a transaction.
      const [next] = await store.appendAudit([{ ...registered, action: 'infer', requestId: 'r2' }], seal);
      expect(next?.prevHash).toBe('00000000:1');
      expect((await store.listAudit({ limit: 1, newest: true })).map((r) => r.seq)).toEqual([2]);
    });

    it('reads every record back exactly as written (numbers as numbers, times as text, doubles whole)', async () => {
      const big = { ...version, sizeBytes: 5_000_000_000, metrics: { auroc: 0.1 + 0.2 } };
      await store.insertModel({ ...model, tags: { team: 'icu' }, serving: { maxBatchSize: 8 } });
      await store.insertVersion(big);
      await store.insertKey(key);
      await store.appendAudit([{ ...registered, durationMs: 1.234567891 }], seal);
      expect(await store.getModel('m')).toEqual({
        ...model,
        tags: { team: 'icu' },
        serving: { maxBatchSize: 8 },
      });
      expect(await store.getVersion('m', 1)).toEqual(big);
      expect(await store.listVersions('m')).toEqual([big]);
      expect(await store.maxVersion('m')).toBe(1);
      expect(await store.maxVersion('none')).toBe(0);
      expect(await store.getKey('k1')).toEqual(key);
      const [record] = await store.listAudit({ limit: 1 });
      expect(record).toEqual({
        ...registered,
        durationMs: 1.234567891,
        seq: 1,
        prevHash: '0'.repeat(64),
        hash: '00000000:1',
      });
      expect(await store.revokeKey('k1', at)).toBe(true);
      expect(await store.revokeKey('k1', at)).toBe(false);
      expect(await store.deleteAlias('m', 'production')).toBe(false);
    });

    it('orders text byte by byte on every engine', async () => {
      for (const name of ['b', 'B', 'a_1', 'a-1', 'Z']) await store.insertModel({ ...model, name });
      expect((await store.listModels()).map((m) => m.name)).toEqual(['B', 'Z', 'a-1', 'a_1', 'b']);
    });

    it('finds a version by its file digest, and every model’s latest version, each in one query', async () => {
      await store.insertModel(model);
      await store.insertModel({ ...model, name: 'n' });
      const other = 'b'.repeat(64);
      await store.insertVersion(version);
      await store.insertVersion({ ...version, version: 2, sha256: other });
      await store.insertVersion({ ...version, version: 3 });
      await store.insertVersion({ ...version, model: 'n', version: 1, sha256: other });
      expect(await store.findVersionByDigest('m', version.sha256)).toBe(3);
      expect(await store.findVersionByDigest('m', other)).toBe(2);
      expect(await store.findVersionByDigest('m', 'c'.repeat(64))).toBeUndefined();
      await store.updateVersion('m', 3, { archivedAt: at });
      expect(await store.findVersionByDigest('m', version.sha256)).toBe(1);
      expect(await store.findVersionByDigest('n', version.sha256)).toBeUndefined();
      expect(await store.maxVersions()).toEqual(
        new Map([
          ['m', 3],
          ['n', 1],
        ]),
      );
    });

    it('keeps the audit log append-only: the database refuses updates and deletes', async () => {
      await store.appendAudit([registered], seal);
      expect(await store.auditLogProtected()).toBe(true);
      await expect(database.query(`UPDATE audit_log SET action = 'forged'`)).rejects.toThrow(/append-only/);
      await expect(database.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
      expect((await store.listAudit({ limit: 10 })).map((r) => r.action)).toEqual(['register']);
      await database.query(
        'DROP TRIGGER audit_log_no_delete' + (factory.name === 'postgres' ? ' ON audit_log' : ''),
      );
      expect(await store.auditLogProtected()).toBe(false);
    });

    it('moves the registry change token on registry writes, and on another store’s within a second', async () => {
      const first = await store.registryChangeToken();
      await store.insertKey(key);
      expect(await store.registryChangeToken()).toBe(first);
      await store.insertModel(model);
      const second = await store.registryChangeToken();
      expect(second).not.toBe(first); // own writes: at once

      const other = await database.open();
      await other.insertVersion(version);
      await within(1_000, async () => (await store.registryChangeToken()) !== second);
    });

    it('moves the keys change token on key writes, and on another store’s revocation within a second', async () => {
      const first = await store.keysChangeToken();
      await store.insertModel(model);
      expect(await store.keysChangeToken()).toBe(first);
      await store.insertKey(key);
      const second = await store.keysChangeToken();
      expect(second).not.toBe(first);

      const other = await database.open();
      expect(await other.revokeKey('k1', at)).toBe(true);
      await within(1_000, async () => (await store.keysChangeToken()) !== second);
      expect((await store.getKey('k1'))?.revokedAt).toBe(at);
    });

    it('answers probe while the database is there', async () => {
      await expect(store.probe()).resolves.toBeUndefined();
    });
  });
}
