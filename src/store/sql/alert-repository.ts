/**
 * Alert rules' state changes. A transition is checked and written under the rule's lock, so
 * processes judging the same rule record one change between them.
 */
import type { Selectable } from 'kysely';
import type { AlertEventRecord } from '../records.js';
import type { AlertRepository } from '../repositories.js';
import type { Database } from '../schema.js';
import { parseJson } from './scope.js';
import type { StoreScope } from './scope.js';

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

/** AlertRepository (SQLite and Postgres). */
export function sqlAlertRepository(scope: StoreScope): AlertRepository {
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
      return scope.writeTx(async (tx) => {
        await tx.serialise('alert', JSON.stringify([event.model, event.version, event.rule]));
        const last = await tx.db
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
        const { seq } = await tx.db
          .insertInto('alert_events')
          .values({ ...event, detail: JSON.stringify(event.detail) })
          .returning('seq')
          .executeTakeFirstOrThrow();
        return { ...event, seq };
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
