/**
 * The SQLite store as a set of repositories on one connection: a transaction spans all of them
 * (a version, its card, an alias and the audit record written with them commit or roll back
 * together), and the registry change token moves on registry writes only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MetadataStore } from './metadata-store.js';
import type { ModelRecord, NewAuditRecord, VersionRecord } from './records.js';
import { openSqliteMetadataStore } from './sqlite-metadata-store.js';

const at = '2026-12-07T00:00:00.000Z';
const model: ModelRecord = {
  name: 'm',
  description: '',
  tags: {},
  serving: {},
  createdAt: at,
  updatedAt: at,
  archivedAt: null,
};
const version: VersionRecord = {
  model: 'm',
  version: 1,
  sha256: 'a'.repeat(64),
  sizeBytes: 1,
  description: '',
  signature: {},
  lineage: {},
  metrics: {},
  createdAt: at,
  createdBy: 'k',
  archivedAt: null,
};
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
const seal = (prevHash: string, seq: number): string => `${prevHash.slice(0, 8)}:${seq}`;

describe('SQLite metadata store', () => {
  let dir: string;
  let store: MetadataStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'galen-store-'));
    store = await openSqliteMetadataStore(join(dir, 'galen.db'));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

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
    // The chain goes on from the committed record, on the hot path outside a transaction.
    const [next] = await store.appendAudit([{ ...registered, action: 'infer', requestId: 'r2' }], seal);
    expect(next?.prevHash).toBe('00000000:1');
  });

  it('moves the registry change token on registry writes and on other connections’ commits only', async () => {
    const first = await store.registryChangeToken();
    await store.insertKey({
      id: 'k1',
      name: 'n',
      role: 'admin',
      secretHash: 'h',
      createdAt: at,
      createdBy: 'k',
      revokedAt: null,
    });
    expect(await store.registryChangeToken()).toBe(first);
    await store.insertModel(model);
    const second = await store.registryChangeToken();
    expect(second).not.toBe(first);

    const other = await openSqliteMetadataStore(join(dir, 'galen.db'));
    try {
      await other.insertVersion(version);
    } finally {
      await other.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 5)); // data_version is read at most once per ms
    expect(await store.registryChangeToken()).not.toBe(second);
  });
});
