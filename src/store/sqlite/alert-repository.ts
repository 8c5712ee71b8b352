/** Alert rules' state changes in SQLite. */
import type { Selectable } from 'kysely';
import type { AlertEventRecord } from '../records.js';
import type { AlertRepository } from '../repositories.js';
import type { Database } from '../schema.js';
import { parseJson } from './scope.js';
import type { SqliteScope } from './scope.js';

const toAlertEvent = (row: Selectable<Database['alert_events']>): AlertEventRecord => ({
  seq: row.seq,
  model: row.model,
  version: row.version,
  rule: row.rule,
  state: row.state === 'firing' ? 'firing' : 'resolved',
  value: row.value,
  at: row.at,
  detail: parseJson(row.detail),
});

/** AlertRepository on SQLite. */
export function sqliteAlertRepository(scope: SqliteScope): AlertRepository {
  const db = scope.db;
  return {
    async latestAlertEvents(model: string, version: number): Promise<AlertEventRecord[]> {
      const rows = await db
        .selectFrom('alert_events as e')
        .selectAll()
        .where('e.model', '=', model)
        .where('e.version', '=', version)
        .where('e.seq', 'in', (eb) =>
          eb
            .selectFrom('alert_events')
            .select((e) => e.fn.max('seq').as('seq'))
            .where('model', '=', model)
            .where('version', '=', version)
            .groupBy('rule'),
        )
        .execute();
      return rows.map(toAlertEvent);
    },

    async recordAlertTransition(event: Omit<AlertEventRecord, 'seq'>): Promise<AlertEventRecord | undefined> {
      return scope.writeTx(async (db) => {
        const last = await db
          .selectFrom('alert_events')
          .select('state')
          .where('model', '=', event.model)
          .where('version', '=', event.version)
          .where('rule', '=', event.rule)
          .orderBy('seq', 'desc')
          .limit(1)
          .executeTakeFirst();
        const current = last?.state ?? 'resolved';
        if (current === event.state) return undefined;
        const result = await db
          .insertInto('alert_events')
          .values({ ...event, detail: JSON.stringify(event.detail) })
          .executeTakeFirstOrThrow();
        return { ...event, seq: Number(result.insertId) };
      });
    },

    async listAlertEvents(model: string, limit: number): Promise<AlertEventRecord[]> {
      const rows = await db
        .selectFrom('alert_events')
        .selectAll()
        .where('model', '=', model)
        .orderBy('seq', 'desc')
        .limit(limit)
        .execute();
      return rows.map(toAlertEvent);
    },
  };
}
