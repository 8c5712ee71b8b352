/** A version's card, explainer, feature map and monitoring profile in SQLite. */
import type { FeatureMapRecord, JsonObject } from '../records.js';
import type { VersionDocumentRepository } from '../repositories.js';
import { parseJson } from './scope.js';
import type { StoreScope } from './scope.js';

/** VersionDocumentRepository (SQLite and Postgres). */
export function sqlVersionDocuments(scope: StoreScope): VersionDocumentRepository {
  const db = scope.db;
  return {
    async insertModelCard(model: string, version: number, card: JsonObject): Promise<void> {
      await db
        .insertInto('model_cards')
        .values({ model, version, card: JSON.stringify(card) })
        .execute();
    },

    async getModelCard(model: string, version: number): Promise<JsonObject | undefined> {
      const row = await db
        .selectFrom('model_cards')
        .select('card')
        .where('model', '=', model)
        .where('version', '=', version)
        .executeTakeFirst();
      return row && parseJson(row.card);
    },

    async putExplainer(
      model: string,
      version: number,
      explainer: JsonObject,
      updatedAt: string,
    ): Promise<void> {
      const row = { model, version, explainer: JSON.stringify(explainer), updated_at: updatedAt };
      await db
        .insertInto('explainers')
        .values(row)
        .onConflict((c) =>
          c.columns(['model', 'version']).doUpdateSet({ explainer: row.explainer, updated_at: updatedAt }),
        )
        .execute();
    },

    async getExplainer(model: string, version: number): Promise<JsonObject | undefined> {
      const row = await db
        .selectFrom('explainers')
        .select('explainer')
        .where('model', '=', model)
        .where('version', '=', version)
        .executeTakeFirst();
      return row && parseJson(row.explainer);
    },

    async putFeatureMap(record: FeatureMapRecord): Promise<void> {
      const row = {
        model: record.model,
        version: record.version,
        map: JSON.stringify(record.map),
        updated_at: record.updatedAt,
        updated_by: record.updatedBy,
      };
      await db
        .insertInto('feature_maps')
        .values(row)
        .onConflict((c) =>
          c
            .columns(['model', 'version'])
            .doUpdateSet({ map: row.map, updated_at: row.updated_at, updated_by: row.updated_by }),
        )
        .execute();
    },

    async getFeatureMap(model: string, version: number): Promise<FeatureMapRecord | undefined> {
      const row = await db
        .selectFrom('feature_maps')
        .selectAll()
        .where('model', '=', model)
        .where('version', '=', version)
        .executeTakeFirst();
      return (
        row && {
          model: row.model,
          version: row.version,
          map: parseJson(row.map),
          updatedAt: row.updated_at,
          updatedBy: row.updated_by,
        }
      );
    },

    async putMonitoringProfile(
      model: string,
      version: number,
      profile: JsonObject,
      updatedAt: string,
    ): Promise<void> {
      const row = { model, version, profile: JSON.stringify(profile), updated_at: updatedAt };
      await db
        .insertInto('monitoring_profiles')
        .values(row)
        .onConflict((c) =>
          c.columns(['model', 'version']).doUpdateSet({ profile: row.profile, updated_at: updatedAt }),
        )
        .execute();
    },

    async getMonitoringProfile(model: string, version: number): Promise<JsonObject | undefined> {
      const row = await db
        .selectFrom('monitoring_profiles')
        .select('profile')
        .where('model', '=', model)
        .where('version', '=', version)
        .executeTakeFirst();
      return row && parseJson(row.profile);
    },
  };
}
