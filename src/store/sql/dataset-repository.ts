/**
 * Dataset versions, and the artifacts model and dataset versions refer to. Inside a transaction
 * reading a dataset's versions takes its lock, so the next version number is given once.
 */
import type { Selectable } from 'kysely';
import type { DatasetVersionRecord } from '../records.js';
import type { ArtifactReferenceRepository, DatasetRepository } from '../repositories.js';
import type { DatasetVersionsTable } from '../schema.js';
import { parseJson } from './scope.js';
import type { StoreScope } from './scope.js';

const toDatasetVersion = (row: Selectable<DatasetVersionsTable>): DatasetVersionRecord => ({
  name: row.name,
  version: row.version,
  sha256: row.sha256,
  sizeBytes: row.size_bytes,
  format: (['jsonl', 'npz', 'images', 'sequences'] as const).find((f) => f === row.format) ?? 'csv',
  rows: row.rows,
  schema: parseJson(row.schema),
  description: row.description,
  createdAt: row.created_at,
  createdBy: row.created_by,
});

/** DatasetRepository (SQLite and Postgres). */
export function sqlDatasetRepository(scope: StoreScope): DatasetRepository {
  const db = scope.db;
  return {
    async listDatasetVersions(name?: string): Promise<DatasetVersionRecord[]> {
      if (name !== undefined) await scope.serialise('dataset', name);
      let query = db.selectFrom('dataset_versions').selectAll();
      if (name !== undefined) query = query.where('name', '=', name);
      return (await query.orderBy('name').orderBy('version').execute()).map(toDatasetVersion);
    },

    async getDatasetVersion(name: string, version: number): Promise<DatasetVersionRecord | undefined> {
      await scope.serialise('dataset', name);
      const row = await db
        .selectFrom('dataset_versions')
        .selectAll()
        .where('name', '=', name)
        .where('version', '=', version)
        .executeTakeFirst();
      return row && toDatasetVersion(row);
    },

    async insertDatasetVersion(r: DatasetVersionRecord): Promise<void> {
      await db
        .insertInto('dataset_versions')
        .values({
          name: r.name,
          version: r.version,
          sha256: r.sha256,
          size_bytes: r.sizeBytes,
          format: r.format,
          rows: r.rows,
          schema: JSON.stringify(r.schema),
          description: r.description,
          created_at: r.createdAt,
          created_by: r.createdBy,
        })
        .execute();
    },
  };
}

/** ArtifactReferenceRepository (SQLite and Postgres). */
export function sqlArtifactReferences(scope: StoreScope): ArtifactReferenceRepository {
  const db = scope.db;
  return {
    async referencedArtifacts(): Promise<Set<string>> {
      const models = await db.selectFrom('model_versions').select('sha256').distinct().execute();
      const datasets = await db.selectFrom('dataset_versions').select('sha256').distinct().execute();
      return new Set([...models, ...datasets].map((r) => r.sha256));
    },
  };
}
