/** API keys (their secrets' hashes only); every write moves the keys change token. */
import type { Selectable } from 'kysely';
import type { ApiKeyRecord } from '../records.js';
import type { ApiKeyRepository } from '../repositories.js';
import type { Database } from '../schema.js';
import type { StoreScope } from './scope.js';

function toKey(row: Selectable<Database['api_keys']>): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    secretHash: row.secret_hash,
    createdAt: row.created_at,
    createdBy: row.created_by,
    revokedAt: row.revoked_at,
  };
}

/** ApiKeyRepository (SQLite and Postgres). */
export function sqlApiKeyRepository(scope: StoreScope): ApiKeyRepository {
  const db = scope.db;
  return {
    keysChangeToken(): Promise<string> {
      return Promise.resolve(scope.changeToken('keys'));
    },

    async getKey(id: string): Promise<ApiKeyRecord | undefined> {
      const row = await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toKey(row);
    },

    async listKeys(): Promise<ApiKeyRecord[]> {
      return (await db.selectFrom('api_keys').selectAll().orderBy('created_at').execute()).map(toKey);
    },

    async insertKey(r: ApiKeyRecord): Promise<void> {
      await scope.write('keys', (db) =>
        db
          .insertInto('api_keys')
          .values({
            id: r.id,
            name: r.name,
            role: r.role,
            secret_hash: r.secretHash,
            created_at: r.createdAt,
            created_by: r.createdBy,
            revoked_at: r.revokedAt,
          })
          .execute(),
      );
    },

    async revokeKey(id: string, at: string): Promise<boolean> {
      const result = await scope.write('keys', (db) =>
        db
          .updateTable('api_keys')
          .set({ revoked_at: at })
          .where('id', '=', id)
          .where('revoked_at', 'is', null)
          .executeTakeFirst(),
      );
      return result.numUpdatedRows > 0n;
    },
  };
}
