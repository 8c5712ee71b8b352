/**
 * Models, versions and aliases; every write moves the registry change token. Inside a transaction
 * the first read or write of a model takes its lock (`serialise('model', name)`), so two
 * processes registering versions of one model, or moving an alias while another archives its
 * target, run one after the other: version numbers stay consecutive.
 */
import type { Selectable } from 'kysely';
import type { AliasRecord, ModelRecord, VersionRecord } from '../records.js';
import type { ModelRepository } from '../repositories.js';
import type { Database, ModelVersionsTable, ModelsTable } from '../schema.js';
import { parseJson } from './scope.js';
import type { StoreScope } from './scope.js';

const toModel = (row: Selectable<ModelsTable>): ModelRecord => ({
  name: row.name,
  description: row.description,
  tags: parseJson(row.tags) as Record<string, string>,
  serving: parseJson(row.serving),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  archivedAt: row.archived_at,
});

const toVersion = (row: Selectable<ModelVersionsTable>): VersionRecord => ({
  model: row.model,
  version: row.version,
  sha256: row.sha256,
  sizeBytes: row.size_bytes,
  description: row.description,
  signature: parseJson(row.signature),
  lineage: parseJson(row.lineage),
  metrics: parseJson(row.metrics),
  createdAt: row.created_at,
  createdBy: row.created_by,
  archivedAt: row.archived_at,
});

const toAlias = (row: Selectable<Database['aliases']>): AliasRecord => ({
  model: row.model,
  alias: row.alias,
  version: row.version,
  updatedAt: row.updated_at,
  updatedBy: row.updated_by,
});

/** ModelRepository (SQLite and Postgres). */
export function sqlModelRepository(scope: StoreScope): ModelRepository {
  const db = scope.db;
  const lock = (model: string): Promise<void> => scope.serialise('model', model);
  return {
    registryChangeToken(): Promise<string> {
      return Promise.resolve(scope.changeToken('registry'));
    },

    async getModel(name: string): Promise<ModelRecord | undefined> {
      await lock(name);
      const row = await db.selectFrom('models').selectAll().where('name', '=', name).executeTakeFirst();
      return row && toModel(row);
    },

    async listModels(): Promise<ModelRecord[]> {
      return (await db.selectFrom('models').selectAll().orderBy('name').execute()).map(toModel);
    },

    async insertModel(r: ModelRecord): Promise<void> {
      await lock(r.name);
      await scope.write('registry', (db) =>
        db
          .insertInto('models')
          .values({
            name: r.name,
            description: r.description,
            tags: JSON.stringify(r.tags),
            serving: JSON.stringify(r.serving),
            created_at: r.createdAt,
            updated_at: r.updatedAt,
            archived_at: r.archivedAt,
          })
          .execute(),
      );
    },

    async updateModel(
      name: string,
      patch: Partial<Pick<ModelRecord, 'description' | 'tags' | 'serving' | 'archivedAt' | 'updatedAt'>>,
    ): Promise<void> {
      await lock(name);
      await scope.write('registry', (db) =>
        db
          .updateTable('models')
          .set({
            ...(patch.description !== undefined && { description: patch.description }),
            ...(patch.tags !== undefined && { tags: JSON.stringify(patch.tags) }),
            ...(patch.serving !== undefined && { serving: JSON.stringify(patch.serving) }),
            ...(patch.archivedAt !== undefined && { archived_at: patch.archivedAt }),
            ...(patch.updatedAt !== undefined && { updated_at: patch.updatedAt }),
          })
          .where('name', '=', name)
          .execute(),
      );
    },

    async getVersion(model: string, version: number): Promise<VersionRecord | undefined> {
      await lock(model);
      const row = await db
        .selectFrom('model_versions')
        .selectAll()
        .where('model', '=', model)
        .where('version', '=', version)
        .executeTakeFirst();
      return row && toVersion(row);
    },

    async listVersions(model: string): Promise<VersionRecord[]> {
      const rows = await db
        .selectFrom('model_versions')
        .selectAll()
        .where('model', '=', model)
        .orderBy('version')
        .execute();
      return rows.map(toVersion);
    },

    async maxVersion(model: string): Promise<number> {
      await lock(model);
      const row = await db
        .selectFrom('model_versions')
        .select((eb) => eb.fn.max('version').as('max'))
        .where('model', '=', model)
        .executeTakeFirst();
      return Number(row?.max ?? 0);
    },

    async maxVersions(): Promise<Map<string, number>> {
      const rows = await db
        .selectFrom('model_versions')
        .select((eb) => ['model', eb.fn.max('version').as('max')])
        .groupBy('model')
        .execute();
      return new Map(rows.map((r) => [r.model, Number(r.max)]));
    },

    async findVersionByDigest(model: string, sha256: string): Promise<number | undefined> {
      await lock(model);
      const row = await db
        .selectFrom('model_versions')
        .select('version')
        .where('model', '=', model)
        .where('sha256', '=', sha256)
        .where('archived_at', 'is', null)
        .orderBy('version', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row === undefined ? undefined : Number(row.version);
    },

    async insertVersion(r: VersionRecord): Promise<void> {
      await scope.write('registry', (db) =>
        db
          .insertInto('model_versions')
          .values({
            model: r.model,
            version: r.version,
            sha256: r.sha256,
            size_bytes: r.sizeBytes,
            description: r.description,
            signature: JSON.stringify(r.signature),
            lineage: JSON.stringify(r.lineage),
            metrics: JSON.stringify(r.metrics),
            created_at: r.createdAt,
            created_by: r.createdBy,
            archived_at: r.archivedAt,
          })
          .execute(),
      );
    },

    async updateVersion(
      model: string,
      version: number,
      patch: Partial<Pick<VersionRecord, 'description' | 'archivedAt' | 'metrics'>>,
    ): Promise<void> {
      await scope.write('registry', (db) =>
        db
          .updateTable('model_versions')
          .set({
            ...(patch.description !== undefined && { description: patch.description }),
            ...(patch.archivedAt !== undefined && { archived_at: patch.archivedAt }),
            ...(patch.metrics !== undefined && { metrics: JSON.stringify(patch.metrics) }),
          })
          .where('model', '=', model)
          .where('version', '=', version)
          .execute(),
      );
    },

    async getAlias(model: string, alias: string): Promise<AliasRecord | undefined> {
      const row = await db
        .selectFrom('aliases')
        .selectAll()
        .where('model', '=', model)
        .where('alias', '=', alias)
        .executeTakeFirst();
      return row && toAlias(row);
    },

    async listAliases(model?: string): Promise<AliasRecord[]> {
      let query = db.selectFrom('aliases').selectAll();
      if (model !== undefined) query = query.where('model', '=', model);
      const rows = await query.orderBy('model').orderBy('alias').execute();
      return rows.map(toAlias);
    },

    async upsertAlias(r: AliasRecord): Promise<void> {
      await scope.write('registry', (db) =>
        db
          .insertInto('aliases')
          .values({
            model: r.model,
            alias: r.alias,
            version: r.version,
            updated_at: r.updatedAt,
            updated_by: r.updatedBy,
          })
          .onConflict((oc) =>
            oc
              .columns(['model', 'alias'])
              .doUpdateSet({ version: r.version, updated_at: r.updatedAt, updated_by: r.updatedBy }),
          )
          .execute(),
      );
    },

    async deleteAlias(model: string, alias: string): Promise<boolean> {
      const result = await scope.write('registry', (db) =>
        db.deleteFrom('aliases').where('model', '=', model).where('alias', '=', alias).executeTakeFirst(),
      );
      return result.numDeletedRows > 0n;
    },
  };
}
